export { isAlive, isRedisServer, commandLine, waitFor, sleep } from './processes.js';
export { judgePid, findOwnServer, processCwd, type PidVerdict, type ServerPaths } from './ownership.js';
export { findOnPath, requireExecutable } from './executables.js';
