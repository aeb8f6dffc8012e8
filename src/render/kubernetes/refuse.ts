/**
 * What `render kubernetes` and `render compose` refuse to render: models that would lose data or let
 * anyone in once deployed. Each refusal names the model field to change. The memory, persistence and
 * authentication judgements are `config lint`'s rules (one place decides them); the rest are about
 * running in a container: a Kubernetes pod is always reachable from the pod network.
 */
import { defaultImage, imageEngine } from '../../config/engines.js';
import { lintDeployment, remoteBinds } from '../../config/lint.js';
import type { Deployment } from '../../config/schema.js';
import { ConfigError } from '../../errors.js';
import { lintModelFor, topologyRefusals, type Refusal } from './ha-refuse.js';
import { ROLE_USERS } from './names.js';

export type RenderTarget = 'kubernetes' | 'compose';

export type { Refusal } from './ha-refuse.js';

/** lint rules whose findings, at any severity, stop a container deployment (unknown-directive: the pod would crash-loop) */
const REFUSING_RULES = new Set([
  'maxmemory-without-headroom',
  'maxmemory-unlimited',
  'persistence-off',
  'no-authentication',
  'protected-mode-refuses-remote',
  'daemonize-yes',
  'unknown-directive',
]);

function lintRefusals(d: Deployment): Refusal[] {
  const findings = lintDeployment({ deployment: d, kind: 'yaml', file: 'model', secrets: {}, findings: [], directives: [] });
  return findings.filter((f) => REFUSING_RULES.has(f.rule)).map((f) => ({ path: f.place?.path ?? f.rule, message: f.message, fix: f.fix }));
}

function userRefusals(d: Deployment, target: RenderTarget): Refusal[] {
  const needed: [string, string][] = [
    [ROLE_USERS.probe, target === 'kubernetes' ? 'the probes log in as it (+ping)' : 'the healthcheck logs in as it (+ping)'],
    [ROLE_USERS.shutdown, 'the preStop hook runs SHUTDOWN SAVE as it'],
    [ROLE_USERS.backup, 'the backup job pulls over replication as it (+sync +psync +replconf +ping +info)'],
  ];
  if (target === 'compose') needed.splice(1, 1);
  const out: Refusal[] = [];
  for (const [name, why] of needed) {
    const user = d.security.users.find((u) => u.name === name);
    if (!user || !user.enabled || user.nopass) {
      out.push({
        path: 'security.users',
        message: `security.users has no enabled user "${name}" with a password; ${why}`,
        fix: `Add the "${name}" user of the neurallog profile (\`neurallog-redis render acl\` shows it), enabled and without nopass.`,
      });
    }
  }
  return out;
}

export function refusals(d: Deployment, target: RenderTarget): Refusal[] {
  const out = lintRefusals(lintModelFor(d));
  if (remoteBinds(d).length === 0) {
    out.push({
      path: 'server.bind',
      message: `server.bind is ${d.server.bind.join(' ')}: only loopback, so no other ${target === 'kubernetes' ? 'pod' : 'container'} can connect`,
      fix: "Set `server.bind: [0.0.0.0]` (the neurallog profile's value; authentication keeps strangers out).",
    });
  }
  if (d.logging.logfile !== '') {
    out.push({
      path: 'logging.logfile',
      message: `logging.logfile is "${d.logging.logfile}": Redis would write its log to a file in a read-only container instead of standard output`,
      fix: 'Set `logging.logfile: ""` so the log reaches `kubectl logs` / `docker-compose logs`.',
    });
  }
  out.push(...userRefusals(d, target));
  out.push(...topologyRefusals(d));
  const c = d.container;
  const runs = imageEngine(c.image);
  if (runs && runs !== d.engine) {
    out.push({
      path: 'container.image',
      message: `container.image ${c.image} runs ${runs === 'valkey' ? 'Valkey' : 'Redis'}, but the model is for ${d.engine === 'valkey' ? 'Valkey' : 'Redis'} ${d.version}: the server command and the probes' CLI (${d.engine}-server, ${d.engine}-cli) are not in that image`,
      fix: `Set \`engine: ${runs}\` (and its \`version\`), or leave container.image out to get ${defaultImage(d.engine, d.version)}.`,
    });
  }
  if (c.memoryRequest > c.memoryLimit)
    out.push({
      path: 'container.memoryRequest',
      message: 'container.memoryRequest is above container.memoryLimit',
      fix: 'Lower container.memoryRequest to at most the limit.',
    });
  if (c.cpuRequest > c.cpuLimit)
    out.push({
      path: 'container.cpuRequest',
      message: 'container.cpuRequest is above container.cpuLimit',
      fix: 'Lower container.cpuRequest to at most the limit.',
    });
  if (c.storage === 0)
    out.push({
      path: 'container.storage',
      message: 'container.storage is 0: the data volume cannot hold the data',
      fix: 'Set container.storage to at least 3 x maxmemory (AOF, its rewrite and an RDB), e.g. `1Gi`.',
    });
  if (target === 'kubernetes') {
    if (d.deploy.podDisruptionBudget.maxUnavailable === 0) {
      out.push({
        path: 'deploy.podDisruptionBudget.maxUnavailable',
        message:
          'deploy.podDisruptionBudget.maxUnavailable is 0: the PodDisruptionBudget blocks every eviction, so `kubectl drain` and node upgrades hang on the Redis pod forever',
        fix: 'Set deploy.podDisruptionBudget.maxUnavailable to 1; the preStop hook saves the data before the pod stops.',
      });
    }
    if (d.deploy.networkPolicy.clientPodLabels.length === 0) {
      out.push({
        path: 'deploy.networkPolicy.clientPodLabels',
        message: 'deploy.networkPolicy.clientPodLabels is empty: the NetworkPolicy would let every pod of the namespace reach Redis',
        fix: "List the labels of NeuralLog's server pods, e.g. `[app.kubernetes.io/name=neurallog-server]`.",
      });
    }
  }
  return out;
}

/** Throws one ConfigError listing every refusal, each with the field to change. */
export function assertRenderable(d: Deployment, target: RenderTarget): void {
  const found = refusals(d, target);
  if (found.length === 0) return;
  const lines = found.map((r) => `- ${r.path}: ${r.message}. ${r.fix}`);
  throw new ConfigError(
    `render ${target} refused: the model would not work safely (${found.length} problem${found.length > 1 ? 's' : ''}):\n${lines.join('\n')}`,
    {},
    'E_RENDER_REFUSED',
  );
}
