export { Random, hashSeed, weightedTable, type WeightedTable } from './prng.js';
export { LEVELS, SOURCES, TAGS, EPOCH_MS, IsoClock, type Level, type LogEntry, type Rule, type Pattern } from './entities.js';
export {
  commands,
  workloadSteps,
  logCommands,
  describeWorkload,
  emptyTally,
  ruleCount,
  patternCount,
  KEYS,
  type WorkloadOptions,
  type WorkloadTally,
  type WorkloadStep,
} from './commands.js';
export { respText, respStep, stepCommandCount } from './step-text.js';
/** one command as RESP text (resp/'s encoder, under the name the workload has always exported) */
export { encodeCommandText as respCommand } from '../resp/index.js';
export { loadgen, DEFAULT_BATCH_SIZE, type CommandSender, type LoadgenOptions, type LoadgenProgress, type LoadgenResult } from './loadgen.js';
export { ReplyCounter, type ReplyError } from '../resp/index.js';
export { loadgenCluster, type ClusterLoadgenOptions, type ClusterLoadgenResult } from './cluster-loadgen.js';
