export { upDeployment, downDeployment, deploymentStatus, runningPid, resolveModel, ADMIN_USER, type UpOptions, type UpResult, type DownResult, type StatusResult } from './deployment.js';
export { rotatePassword, type RotateResult } from './credentials.js';
export { startRedisServer, stopRedisServer, waitUntilServing, tailLog, type StartedServer, type StartOptions } from './redis-server.js';
export { freePort, portInUse } from './ports.js';
export { isAlive, isRedisServer, commandLine, waitFor, sleep } from './processes.js';
export { findOnPath, requireExecutable } from './executables.js';
