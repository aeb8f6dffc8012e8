/**
 * What redis-server 7.0 uses for a directive a redis.conf does not set: the starting point when a
 * redis.conf is read into the model. Parts of the model that redis.conf cannot express (container
 * sizes, retention, the deployment's name) come from the guide profile.
 */
import { profile } from './profiles.js';
import type { Deployment } from './schema.js';

const MB = 1024 * 1024;

export function redisBuiltinDefaults(): Deployment {
  const guide = profile('guide');
  return {
    ...guide,
    server: { port: 6379, bind: ['*', '-::*'], protectedMode: true, daemonize: false, databases: 16 },
    memory: { maxmemory: 0, maxmemoryPolicy: 'noeviction' },
    persistence: {
      appendonly: false,
      appendfsync: 'everysec',
      save: [
        { seconds: 3600, changes: 1 },
        { seconds: 300, changes: 100 },
        { seconds: 60, changes: 10000 },
      ],
      aofRewriteIncrementalFsync: true,
      aofUseRdbPreamble: true,
      dbfilename: 'dump.rdb',
      appendfilename: 'appendonly.aof',
      appenddirname: 'appendonlydir',
    },
    logging: { loglevel: 'notice', logfile: '' },
    security: { users: [{ name: 'default', enabled: true, nopass: true, keys: ['~*'], channels: ['&*'], commands: ['+@all'] }] },
    performance: { tcpKeepalive: 300, timeout: 0, tcpBacklog: 511, activerehashing: true, hz: 10 },
    advanced: {
      hashMaxListpackEntries: 128,
      hashMaxListpackValue: 64,
      listMaxListpackSize: -2,
      setMaxIntsetEntries: 512,
      zsetMaxListpackEntries: 128,
      zsetMaxListpackValue: 64,
      hllSparseMaxBytes: 3000,
      clientOutputBufferLimit: {
        normal: { hardLimit: 0, softLimit: 0, softSeconds: 0 },
        replica: { hardLimit: 256 * MB, softLimit: 64 * MB, softSeconds: 60 },
        pubsub: { hardLimit: 32 * MB, softLimit: 8 * MB, softSeconds: 60 },
      },
    },
    extraDirectives: [],
  };
}
