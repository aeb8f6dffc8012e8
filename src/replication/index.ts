export { pullRdb, PULL_ACL_RULES, type PullOptions, type PulledRdb, type PulledServer } from './pull.js';
export { serveRdbAsMaster, type ServeOptions, type FakeMaster, type ReplicaInfo } from './serve.js';
