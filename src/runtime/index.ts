export {
  upDeployment,
  downDeployment,
  deploymentStatus,
  runningPid,
  ownServer,
  requireDirArgument,
  resolveModel,
  ADMIN_USER,
  type UpOptions,
  type UpResult,
  type DownResult,
  type StatusResult,
  upTopology,
  requestedTopology,
  type TopologyUpOptions,
  type TopologyUpResult,
} from './deployment.js';
export type { TopologyStatus, NodeStatus, SentinelStatus, TopologyDownResult } from './topology-status.js';
export { readTopology, topologyPath, nodePaths, SENTINEL_SECRET, type TopologyRecord, type TopologyNode, type TopologyProcess } from './topology-layout.js';
export { rotatePassword, type RotateResult, type RotateOptions } from './credentials.js';
export { startRedisServer, stopRedisServer, waitUntilServing, tailLog, type StartedServer, type StartOptions } from './redis-server.js';
export { freePort, freePortRange, portInUse } from './ports.js';
export { isAlive, isRedisServer, commandLine, waitFor, sleep } from '../host/index.js';
export { findOnPath, requireExecutable } from '../host/index.js';
export { judgePid, findOwnServer, processCwd, type PidVerdict } from '../host/index.js';
export { lockDeployment, waitForDeploymentLock, deploymentLockPath, DeploymentBusyError } from './deployment-lock.js';
export { loadingProgress, describeLoading, type LoadingProgress } from './loading.js';
export { adminLogin, type AdminLogin } from './admin-access.js';
export {
  startMonitorProcess,
  stopMonitorProcess,
  runningMonitor,
  DEFAULT_MONITOR_LISTEN,
  type MonitorProcess,
  type StartedMonitor,
} from './monitor-process.js';
