/**
 * A replace restore's listener: the backup served as a replication master, parsed and checksummed
 * as it streams (its final bytes held back until parse and CRC pass), with a sample of its records
 * kept for the verification and the keys that expired since the backup counted.
 */
import { rdbVerifier, type RdbRecord, type RdbSummary } from '../rdb/index.js';
import { serveRdbAsMaster, type FakeMaster } from '../replication/index.js';
import type { RestoreSource } from './source.js';

/** Reservoir sample of records seen while streaming (bounded memory). */
export class Sampler {
  readonly picked: RdbRecord[] = [];
  private seen = 0;
  constructor(private readonly size: number) {}
  offer(record: RdbRecord): void {
    this.seen++;
    if (record.kind === 'module') return;
    if (this.picked.length < this.size) this.picked.push(copyRecord(record));
    else {
      const j = Math.floor(Math.random() * this.seen);
      if (j < this.size) this.picked[j] = copyRecord(record);
    }
  }
}

function copyRecord(r: RdbRecord): RdbRecord {
  return { ...r, key: Buffer.from(r.key), value: Buffer.from(r.value) };
}

/** The backup being served, and what its stream has shown so far (filled in as it flows). */
export interface ServedBackup {
  master: FakeMaster;
  /** the address the listener took, which the target is told to replicate from */
  host: string;
  rdbBytes: number;
  sampler: Sampler;
  /** per database, the backup's keys whose TTL had passed when the stream read them */
  expiredByDb: Map<number, number>;
  /** set once the verifier has read the backup to its end, parse and CRC passed */
  summary?: RdbSummary;
  /** when the transfer last moved (0: not yet) */
  lastBytesAt: number;
}

export interface ServeBackupOptions {
  source: RestoreSource;
  host: string;
  rdbBytes: number;
  sampleSize: number;
  onTransferProgress?: (bytes: number, total: number) => void;
}

/** Starts the listener; the stream is opened when the target asks for it (PSYNC/SYNC). */
export async function serveBackup(options: ServeBackupOptions): Promise<ServedBackup> {
  const { source, rdbBytes } = options;
  const sampler = new Sampler(options.sampleSize);
  const expiredByDb = new Map<number, number>();
  // filled in below: serveRdbAsMaster calls `rdb` only once the target has connected
  const served: Omit<ServedBackup, 'master'> = { host: options.host, rdbBytes, sampler, expiredByDb, lastBytesAt: 0 };
  const master = await serveRdbAsMaster({
    host: options.host,
    rdbBytes,
    rdb: () => {
      const now = Date.now();
      const verifier = rdbVerifier({
        source: source.file,
        holdBack: true,
        // values over 1 MiB are checked element by element and not kept, so they are not sampled
        rawValues: { maxBytes: 1 << 20 },
        onRecord: (r) => {
          if (r.value) sampler.offer(r as RdbRecord);
          if (r.expireAtMs !== undefined && r.expireAtMs <= now) expiredByDb.set(r.db, (expiredByDb.get(r.db) ?? 0) + 1);
        },
      });
      verifier.on('finish', () => {
        try {
          served.summary = verifier.summary();
        } catch {
          // the error reaches the transfer
        }
      });
      // the plain bytes may come from a decompressing program: when the transfer ends early (the
      // verifier is destroyed), the source goes too, or the program would wait on a full pipe
      // forever and keep this process alive; a failing source fails the transfer
      const plain = source.open();
      verifier.once('close', () => plain.destroy());
      plain.once('error', (error) => verifier.destroy(error));
      return plain.pipe(verifier);
    },
    onTransferProgress: (bytes) => {
      served.lastBytesAt = Date.now();
      options.onTransferProgress?.(bytes, rdbBytes);
    },
  });
  return Object.assign(served, { master });
}
