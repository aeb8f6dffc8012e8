export { renderRedisConf } from './redis-conf.js';
export { renderAcl, aclRules, passwordHash, usersNeedingPasswords, type Secrets } from './acl.js';
