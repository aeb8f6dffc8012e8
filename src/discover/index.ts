export { askNode, isRefusal } from './ask.js';
export { askSentinels, type SentinelReplica, type SentinelView } from './sentinels.js';
export { askCluster, type ClusterShard } from './cluster.js';
export { resolveTarget } from './target.js';
