/**
 * What redis-server 7.0 uses for a directive a redis.conf does not set: the starting point when a
 * redis.conf is read into the model. It is the guide profile where the guide keeps Redis's own
 * default, with the values the guide changes set back to Redis's. Parts of the model that redis.conf
 * cannot express (container sizes, retention, the deployment's name) stay the guide profile's.
 */
import { profile } from './profiles.js';
import type { Deployment } from './schema.js';

export function redisBuiltinDefaults(): Deployment {
  const d = profile('guide');
  d.server.bind = ['*', '-::*'];
  d.memory = { maxmemory: 0, maxmemoryPolicy: 'noeviction' };
  d.persistence.appendonly = false;
  d.persistence.save = [
    { seconds: 3600, changes: 1 },
    { seconds: 300, changes: 100 },
    { seconds: 60, changes: 10000 },
  ];
  d.advanced.hashMaxListpackEntries = 128;
  // the guide's security is already Redis's: the default user, on, without a password
  d.extraDirectives = [];
  return d;
}
