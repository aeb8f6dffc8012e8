export { renderRedisConf } from './redis-conf.js';
export { renderAcl, aclRules, passwordHash, usersNeedingPasswords, type Secrets } from './acl.js';
export {
  renderKubernetes,
  kubernetesObjects,
  checkManifests,
  refusals,
  assertRenderable,
  budgets,
  type RenderedFile,
  type RenderedObject,
  type Manifest,
  type Refusal,
  type RenderTarget,
  type SemanticProblem,
} from './kubernetes/index.js';
export { renderCompose, COMPOSE_FILE } from './compose.js';
export { withTopologyUsers } from './kubernetes/ha-model.js';
export { toYaml, toYamlStream } from './yaml.js';
export { renderMonitoring, alertRules, prometheusRuleGroups, prometheusScrapeConfig, metricsToken, type AlertRule } from './monitoring.js';
export { grafanaDashboard } from './grafana.js';
export { renderNodeConf, type TopologyNodeConf } from './redis-conf.js';
export { renderSentinelConf, type SentinelConfInput } from './sentinel-conf.js';
