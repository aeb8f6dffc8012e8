export { parseRedisUrl, formatRedisUrl, redactUrl, type Endpoint } from './url.js';
export { openConnection, closeConnection, describeConnectError, parseInfo, parseKeyspace, type RedisConnection } from './client.js';
export { endpointForDeployment, PASSWORD_ENV, type Role, type TargetOptions } from './target.js';
export * from './deployment-dir.js';
export { readSecrets, writeSecrets, ensureSecrets, generatePassword, writePrivateFile, type SecretsFile } from './secrets.js';
export { openRawSocket } from './raw-socket.js';
