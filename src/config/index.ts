export * from './schema.js';
export { profile, DEFAULT_PROFILE, requiredMemoryLimit, NEURALLOG_KEY_PATTERNS } from './profiles.js';
export { readConfig, loadConfig, parseYamlModel, deepMerge, isYamlPath, type LoadedConfig } from './load.js';
export { parseRedisConfText, readRedisConfFile, type ParsedRedisConf } from './redis-conf.js';
export { parseAclRules } from './acl-rules.js';
export * from './units.js';
export * from './findings.js';
export { deploymentJsonSchema } from './json-schema.js';
export { lintDeployment, LINT_RULES } from './lint.js';
export { DEFAULT_RELEASE, ENGINES, defaultImage, serverProgram, cliProgram, imageEngine, imageVersion, versionProblem } from './engines.js';
export {
  judgeDirective,
  refusedDirectives,
  tableFor,
  describeTarget,
  allDirectiveTables,
  type EngineTarget,
  type DirectiveVerdict,
  type DirectiveTable,
} from './engine-directives.js';
export { resolveTarget, profileTarget, type TargetChoice } from './load.js';
export * from './topology.js';
export { withTopologyUsers, CLUSTER_BACKUP_RULES } from './topology-users.js';
