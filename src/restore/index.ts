export { openRestoreSource, measureRdbBytes, BackupIntegrityError, type RestoreSource } from './source.js';
export { replaceRestore, abortRestore, chooseLoad, RestoreFailedError, type ReplaceOptions, type ReplaceResult, type ReplacePhase } from './replace.js';
export { planRestore, type RestorePlan, type PlanCheck } from './plan.js';
export { globMatch, globMatcher } from './glob.js';
export { readTargetFacts, replaceRefusals, RestoreRefusedError, type TargetFacts } from './target.js';
export { compareDecoded, dumpToDecoded } from './compare.js';
export {
  mergeRestore,
  MergeConflictError,
  MergeInterruptedError,
  type MergeOptions,
  type MergeResult,
  type MergeProgress,
  type MergeStop,
  type ConflictPolicy,
  type ValueEncoding,
} from './merge.js';
export { offlineRestore, ServerRunningError, type OfflineOptions, type OfflineResult } from './offline.js';
export {
  rdbLoadVerdict,
  chooseMergePath,
  commandsFallbackProblems,
  describeTarget,
  targetEngineFromInfo,
  type TargetEngine,
  type LoadVerdict,
  type MergePath,
} from './compatibility.js';
export { offlineEvidence, offlineVerdict, type OfflineEvidence } from './offline-target.js';
