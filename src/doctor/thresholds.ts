/**
 * The numbers doctor judges by, and what differs between engines and releases. The numbers are the
 * ones Redis's own MEMORY DOCTOR and LATENCY DOCTOR use, and the alert packs' (docs/doctor.md); what
 * the engine decides is which fields and settings exist and what the fix is called there.
 */
import { engineHas, type EngineIdentity } from '../engine/identity.js';
import { MB } from './finding.js';

export const THRESHOLDS = {
  /** used memory / maxmemory: the alert packs' 90 % (critical), 80 % (warning) */
  headroomCritical: 0.9,
  headroomWarning: 0.8,
  /** MEMORY DOCTOR: judge fragmentation only above 5 MB used, and only when the waste passes 10 MB */
  smallDataset: 5 * MB,
  fragRatio: 1.4,
  allocatorFragRatio: 1.1,
  fragBytes: 10 * MB,
  /** MEMORY DOCTOR: peak over 150 % of what is used now */
  peakRatio: 1.5,
  /** MEMORY DOCTOR: normal clients average over 200 KB; replica buffers over 10 MB */
  clientAverageBytes: 200 * 1024,
  replicaBuffersBytes: 10 * MB,
  /** connected / maxclients */
  connectionsCritical: 0.9,
  connectionsWarning: 0.8,
  /** awesome-alerts: no save for 48 h */
  saveAgeSeconds: 48 * 3600,
  /** LATENCY DOCTOR: fork rate below 10 GB/s is "terrible", below 25 "poor"; judged above 64 MB (smaller forks are fixed cost) */
  forkRateTerrible: 10,
  forkRatePoor: 25,
  forkJudgedAbove: 64 * MB,
  /** a fork that stops the server this long is felt by every client */
  forkStallUsec: 500_000,
  /** error replies: at least this many and this share of commands */
  errorCount: 100,
  errorShare: 0.01,
  /** latency events worth a warning (ms) */
  latencySpikeMs: 100,
  /** slow log entries within this window count as recent (s) */
  recentSeconds: 3600,
  /** data directory free space against used memory: a save writes a full copy beside the old one */
  freeSpaceCriticalFactor: 1,
  freeSpaceWarningFactor: 2,
} as const;

/** What the engine and release change in the checks. */
export interface EngineTraits {
  /** Valkey 8.1 has COMMANDLOG: the slow log's threshold is commandlog-execution-slower-than (slowlog-* remain aliases) */
  commandlog: boolean;
  /** maxmemory-clients (client eviction): Redis 7.0+, Valkey 7.2+ */
  clientEviction: boolean;
  /** aof_rewrites_consecutive_failures in INFO: Redis 7.0+, Valkey 7.2+ */
  aofRewriteFailures: boolean;
  /** disable-thp: Redis 6.2+, every Valkey */
  disableThp: boolean;
}

export function traitsOf(identity: EngineIdentity): EngineTraits {
  return {
    commandlog: engineHas(identity, { valkey: '8.1.0' }),
    clientEviction: engineHas(identity, { redis: '7.0.0', valkey: '7.2.0' }),
    aofRewriteFailures: engineHas(identity, { redis: '7.0.0', valkey: '7.2.0' }),
    disableThp: engineHas(identity, { redis: '6.2.0', valkey: '7.2.0' }),
  };
}

/** The slow log's threshold setting as this engine names it. */
export function slowlogSetting(traits: EngineTraits): string {
  return traits.commandlog ? 'commandlog-execution-slower-than (slowlog-log-slower-than)' : 'slowlog-log-slower-than';
}
