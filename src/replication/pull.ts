/**
 * Pulling an RDB from a live server over the replication protocol, the way `redis-cli --rdb` does,
 * without any access to the server's filesystem and without SAVE:
 *
 *   AUTH, INFO server / replication / persistence, REPLCONF capa eof, REPLCONF rdb-only 1 (one write) -> SYNC
 *
 * After SYNC the server sends bare `\n` keepalives while it prepares, then one of two payload headers:
 *   `$EOF:<40-byte mark>\r\n` + RDB + the same mark   (diskless: the RDB never touches the server's disk)
 *   `$<len>\r\n` + exactly len bytes                  (disk-based: the server wrote dump.rdb, as BGSAVE)
 * `pullRdb` resolves once that header has arrived; the RDB bytes then flow through `stream`, with
 * backpressure (the socket is paused while the consumer is behind). The stream ends only when the
 * whole payload arrived; a connection that closes early makes it fail with E_PULL_TRUNCATED.
 */
import type { Readable } from 'node:stream';
import { notRedisServer, parseInfo } from '../connect/client.js';
import { identifyFromInfo } from '../engine/identity.js';
import { RespError } from '../resp/index.js';
import { RespProtocolError } from '../resp/decode.js';
import { openRawSocket } from '../connect/raw-socket.js';
import { PULL_ACL_RULES } from './refusals.js';
import { SyncLink } from './sync-link.js';
import type { PullOptions } from './pull-options.js';

/** the socket reads into one buffer of this size (Node's own reads allocate 64 KiB per read) */
const READ_BUFFER_BYTES = 1 << 20;

export { PULL_ACL_RULES };
export type { PullOptions };

export interface PulledServer {
  /** `redis` or `valkey` (INFO server: valkey_version / server_name) */
  engine: 'redis' | 'valkey';
  /** the engine's own release: redis_version for Redis, valkey_version for Valkey */
  version: string;
  /** INFO server's redis_version as given (Valkey answers 7.2.4 there, whatever its release) */
  redisVersion: string;
  runId: string;
  /** `master` or `slave`, as INFO says */
  role: string;
  replId: string;
  replOffset: number;
}

export interface PulledRdb {
  /** diskless: the server streamed the RDB from a fork without writing it; disk: it wrote dump.rdb first */
  mode: 'diskless' | 'disk';
  /** the length announced by `$<len>` (disk mode only) */
  declaredBytes?: number;
  server: PulledServer;
  /** the server accepted `REPLCONF rdb-only 1` (7.0+): it buffers no replication stream for us */
  rdbOnly: boolean;
  /** INFO server, replication and persistence as they were before SYNC */
  info: Record<string, string>;
  /** things worth telling the user (e.g. a step the server refused that we could do without) */
  notes: string[];
  /** keepalive newlines seen before the payload header */
  keepalives: number;
  /** milliseconds from sending SYNC to the payload header */
  waitedMs: number;
  /** the RDB bytes only (no header, no EOF mark) */
  stream: Readable;
  /**
   * Tells the pull that the consumer has parsed a complete RDB of `rdbBytes` bytes (EOF opcode and
   * checksum verified). A diskless payload whose EOF mark follows exactly there ends at once, instead
   * of when an rdb-only server closes the link after reaping its fork (50-100 ms later).
   */
  rdbComplete(rdbBytes: number): void;
}
export async function pullRdb(options: PullOptions): Promise<PulledRdb> {
  const { endpoint } = options;
  // the socket's bytes reach the link once it exists: nothing arrives before the first command
  let link: SyncLink | undefined;
  const socket = await openRawSocket(endpoint, options.connectTimeoutMs ?? 5000, options.signal, {
    bufferBytes: READ_BUFFER_BYTES,
    receive: (chunk, transient) => link!.receive(chunk, transient),
  });
  link = new SyncLink(socket, endpoint, options);
  try {
    // the handshake in one round trip: its replies are checked in order, so a refused AUTH is
    // reported as such (the commands after it are refused too, for want of it)
    const auth = endpoint.password === undefined ? [] : [endpoint.username ? ['AUTH', endpoint.username, endpoint.password] : ['AUTH', endpoint.password]];
    const sections = ['server', 'replication', 'persistence'];
    const replies = await link.commands([
      ...auth.map((args) => ({ args, step: 'AUTH' })),
      ...sections.map((section) => ({ args: ['INFO', section], step: `INFO ${section}` })),
      { args: ['REPLCONF', 'capa', 'eof'], step: 'REPLCONF capa eof' },
      { args: ['REPLCONF', 'rdb-only', '1'], step: 'REPLCONF rdb-only' },
    ]);
    if (auth.length > 0) link.expectOk(replies.shift()!, 'AUTH');
    const info: Record<string, string> = {};
    for (const section of sections) {
      const reply = link.check(replies.shift()!, `INFO ${section}`);
      if (!Buffer.isBuffer(reply)) throw link.protocol(`INFO ${section} did not answer with a bulk string`);
      Object.assign(info, parseInfo(reply.toString('utf8')));
    }
    const notes: string[] = [];
    link.expectOk(replies.shift()!, 'REPLCONF capa eof');
    let rdbOnly = true;
    const rdbOnlyReply = replies.shift()!;
    if (rdbOnlyReply instanceof RespError) {
      if (/^(NOPERM|NOAUTH|WRONGPASS)$/.test(rdbOnlyReply.kind)) link.check(rdbOnlyReply, 'REPLCONF rdb-only');
      rdbOnly = false;
      notes.push(
        `the server refused REPLCONF rdb-only (${rdbOnlyReply.message}; it needs Redis 7.0 or later), so it buffers its replication stream for this connection during the pull`,
      );
    } else link.expectOk(rdbOnlyReply, 'REPLCONF rdb-only');
    const identity = identifyFromInfo(info);
    const server: PulledServer = {
      engine: identity.engine,
      version: info.redis_version === undefined && info.valkey_version === undefined ? '' : identity.version,
      redisVersion: info.redis_version ?? '',
      runId: info.run_id ?? '',
      role: info.role ?? '',
      replId: info.master_replid ?? '',
      replOffset: Number(info.master_repl_offset ?? 0),
    };
    const header = await link.sync(rdbOnly);
    const synced = link;
    return { ...header, server, rdbOnly, info, notes, rdbComplete: (rdbBytes) => synced.rdbComplete(rdbBytes) };
  } catch (error) {
    link.destroy();
    // a first reply that is not RESP at all (an HTTP or SSH server at that port): say what answered
    if (error instanceof RespProtocolError && error.place.offset === 0) throw (await notRedisServer(endpoint, error)) ?? error;
    throw error;
  }
}
