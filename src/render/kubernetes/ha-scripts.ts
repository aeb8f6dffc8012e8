/**
 * The start scripts of the Sentinel and Cluster renders (POSIX sh; busybox in the alpine images, dash
 * in the Debian ones). Each is a function of the model and an `HaNet`, so Kubernetes, Compose and the
 * loopback tests run the same text. Passwords are read from mounted files into the shell (printf is a
 * builtin: they never reach a process's argv) or reach the CLI through REDISCLI_AUTH; every network
 * wait is bounded by `timeout` and a deadline.
 */
import { cliProgram } from '../../config/engines.js';
import type { Deployment } from '../../config/schema.js';
import { POD_CONF, SENTINEL_CONF_KEY, SENTINEL_PLACEHOLDERS, SENTINEL_USERS_KEY } from './ha-conf.js';
import { HA_USERS, sentinelMyid, type HaNet } from './ha-model.js';
import { ROLE_USERS, secretKey } from './names.js';

/** Seconds one CLI call may take before the script moves on. */
const CALL_SECONDS = 3;

/** `host:port` words for a `for` loop; the body splits them with `${n%:*}` and `${n##*:}` */
const words = (list: { host: string; port: string }[]) => list.map((n) => `${n.host}:${n.port}`).join(' ');
const split = 'set -- "${n%:*}" "${n##*:}"';

/**
 * Asks the Sentinels where the master is now (after a failover it is not pod 0); sets `master` and
 * `mport`, empty when no Sentinel answers (all of them starting: a first start, or a full restart).
 */
function askSentinels(d: Deployment, net: HaNet): string[] {
  const cli = cliProgram(d.engine);
  return [
    `export REDISCLI_AUTH="$(cat ${net.secretDir}/${secretKey(HA_USERS.sentinel)})"`,
    'master=""; mport=""',
    `for n in ${words(net.sentinels)}; do`,
    `  ${split}`,
    `  reply="$(timeout ${CALL_SECONDS} ${cli} --user ${HA_USERS.sentinel} -h "$1" -p "$2" SENTINEL get-master-addr-by-name ${d.topology.sentinel.masterName} 2>/dev/null)" || reply=""`,
    `  h="$(printf '%s\\n' "$reply" | sed -n 1p)"; p="$(printf '%s\\n' "$reply" | sed -n 2p)"`,
    '  case "$p" in ""|*[!0-9]*) continue ;; esac',
    '  if [ -n "$h" ]; then master="$h"; mport="$p"; echo "Sentinel $1:$2 says the master is $h:$p"; break; fi',
    'done',
    'unset REDISCLI_AUTH',
  ];
}

function prelude(net: HaNet): string[] {
  return ['set -eu', 'umask 077', `self=${net.self}`, `port=${net.selfPort}`, `ordinal=${net.ordinal}`];
}

/**
 * When no Sentinel answers (they restart too): the data node that says it is a master (ROLE), else
 * node 0. A node that was master before a failover and restarts meanwhile thus follows the new one.
 */
function fallbackMaster(d: Deployment, net: HaNet): string[] {
  const first = net.nodes[0]!;
  return [
    'if [ -z "$master" ]; then',
    `  export REDISCLI_AUTH="$(cat ${net.secretDir}/${secretKey(HA_USERS.sentinel)})"`,
    `  for n in ${words(net.nodes)}; do`,
    `    ${split}`,
    '    if [ "$1:$2" = "$self:$port" ]; then continue; fi',
    `    role="$(timeout ${CALL_SECONDS} ${cliProgram(d.engine)} --user ${HA_USERS.sentinel} -h "$1" -p "$2" ROLE 2>/dev/null | sed -n 1p)" || role=""`,
    '    if [ "$role" = master ]; then master="$1"; mport="$2"; echo "no Sentinel answered; $1:$2 says it is the master"; break; fi',
    '  done',
    '  unset REDISCLI_AUTH',
    'fi',
    'if [ -z "$master" ]; then',
    `  if [ "$ordinal" = 0 ]; then master="$self"; mport="$port"; else master=${first.host}; mport=${first.port}; fi`,
    '  echo "no Sentinel or data node answered: node 0 is the master"',
    'fi',
  ];
}

/** A data node of a Sentinel set: its announced name, masterauth, and `replicaof` unless it is the master. */
export function sentinelNodeScript(d: Deployment, net: HaNet): string {
  return [
    ...prelude(net),
    ...askSentinels(d, net),
    ...fallbackMaster(d, net),
    '{',
    '  printf \'replica-announce-ip %s\\n\' "$self"',
    `  printf 'masterauth %s\\n' "$(cat ${net.secretDir}/${secretKey(HA_USERS.replica)})"`,
    '  if [ "$master:$mport" != "$self:$port" ]; then printf \'replicaof %s %s\\n\' "$master" "$mport"; fi',
    `} > ${net.runDir}/${POD_CONF}`,
    'if [ "$master:$mport" = "$self:$port" ]; then echo "starting as the master"; else echo "starting as a replica of $master:$mport"; fi',
    '',
  ].join('\n');
}

/** A Sentinel: the template with its name, fixed ID and the current master, then its users and passwords. */
export function sentinelScript(d: Deployment, net: HaNet): string {
  const p = SENTINEL_PLACEHOLDERS;
  const name = d.topology.sentinel.masterName;
  const ids = net.sentinels.map((_, i) => `${i}) myid=${sentinelMyid(d, i)} ;;`).join(' ');
  const out = `${net.runDir}/${SENTINEL_CONF_KEY}`;
  return [
    ...prelude(net),
    `case "$ordinal" in ${ids} *) echo "no Sentinel ID for ordinal $ordinal: render again with more topology.sentinel.sentinels" >&2; exit 1 ;; esac`,
    ...askSentinels(d, net),
    ...fallbackMaster(d, net),
    `sed -e "s|${p.self}|$self|" -e "s|${p.myid}|$myid|" -e "s|${p.master}|$master|" -e "s|${p.masterPort}|$mport|" ${net.configDir}/${SENTINEL_CONF_KEY} > ${out}`,
    `cat ${net.secretDir}/${SENTINEL_USERS_KEY} >> ${out}`,
    `pw="$(cat ${net.secretDir}/${secretKey(HA_USERS.sentinel)})"`,
    `printf 'sentinel auth-pass %s %s\\nsentinel sentinel-pass %s\\n' ${name} "$pw" "$pw" >> ${out}`,
    `echo "Sentinel $ordinal watches $master:$mport"`,
    '',
  ].join('\n');
}

/**
 * A cluster node: its announced name and masterauth; and, when nodes.conf exists, each peer's
 * address refreshed from its DNS name (a restarted pod has a new IP; a node table full of old IPs
 * is how clusters fail to re-form after a full restart).
 */
export function clusterNodeScript(d: Deployment, net: HaNet): string {
  const nodes = `${net.dataDir}/${d.topology.cluster.configFile}`;
  return [
    ...prelude(net),
    '{',
    '  printf \'cluster-announce-hostname %s\\n\' "$self"',
    `  printf 'masterauth %s\\n' "$(cat ${net.secretDir}/${secretKey(HA_USERS.replica)})"`,
    `} > ${net.runDir}/${POD_CONF}`,
    `if [ -s ${nodes} ]; then`,
    `  : > ${nodes}.new`,
    '  while read -r id addr rest; do',
    '    case "$addr" in',
    '      *,*) host="${addr#*,}"; host="${host%%,*}"',
    '        ip="$(timeout 5 getent hosts "$host" | awk \'NR == 1 { print $1 }\')" || ip=""',
    '        if [ -n "$ip" ]; then addr="$ip:${addr#*:}"; fi ;;',
    '    esac',
    `    if [ -n "$rest" ]; then printf '%s %s %s\\n' "$id" "$addr" "$rest"; else printf '%s %s\\n' "$id" "$addr"; fi >> ${nodes}.new`,
    `  done < ${nodes}`,
    `  mv ${nodes}.new ${nodes}`,
    '  echo "refreshed the peers\' addresses in nodes.conf from their names"',
    'fi',
    '',
  ].join('\n');
}

/**
 * The bootstrap: waits for every node, does nothing when any node already knows another (the
 * cluster exists), else `--cluster create` over the nodes' current IPs (CLUSTER MEET takes IPs),
 * then waits until every node says cluster_state:ok. The admin password comes in REDISCLI_AUTH.
 */
export function clusterCreateScript(d: Deployment, net: HaNet, deadlineSeconds = 600): string {
  const cli = cliProgram(d.engine);
  return [
    'set -eu',
    `nodes="${words(net.nodes)}"`,
    `cli() { h="$1"; p="$2"; shift 2; timeout 10 ${cli} --user ${ROLE_USERS.shutdown} -h "$h" -p "$p" "$@"; }`,
    `deadline=$(( $(date +%s) + ${deadlineSeconds} ))`,
    `late() { if [ "$(date +%s)" -ge "$deadline" ]; then echo "cluster-create: $1 (after ${deadlineSeconds} s)" >&2; exit 1; fi; sleep 1; }`,
    'for n in $nodes; do',
    `  ${split}`,
    '  until [ "$(cli "$1" "$2" PING 2>/dev/null)" = PONG ]; do late "$1:$2 does not answer PING as admin: is it running, is the Secret\'s admin-password its password?"; done',
    'done',
    'for n in $nodes; do',
    `  ${split}`,
    '  known="$(cli "$1" "$2" CLUSTER INFO | tr -d \'\\r\' | sed -n \'s/^cluster_known_nodes://p\')"',
    '  if [ "${known:-1}" -gt 1 ]; then echo "cluster-create: $1:$2 already knows $known nodes: the cluster exists, nothing to create"; exit 0; fi',
    'done',
    'addrs=""',
    'for n in $nodes; do',
    `  ${split}`,
    '  ip="$(timeout 5 getent hosts "$1" | awk \'NR == 1 { print $1 }\')" || ip=""',
    '  if [ -z "$ip" ]; then echo "cluster-create: $1 does not resolve" >&2; exit 1; fi',
    '  addrs="$addrs $ip:$2"',
    'done',
    `timeout 300 ${cli} --user ${ROLE_USERS.shutdown} --cluster create $addrs --cluster-replicas ${d.topology.cluster.replicasPerMaster} --cluster-yes`,
    // every node, not only the first: the others learn the slot map by gossip a moment later, and
    // until then a client redirected to one of them gets -CLUSTERDOWN
    'for n in $nodes; do',
    `  ${split}`,
    `  until cli "$1" "$2" CLUSTER INFO | tr -d '\\r' | grep -qx 'cluster_state:ok'; do late "$1:$2 did not reach cluster_state:ok"; done`,
    'done',
    'echo "cluster-create: cluster_state:ok on every node"',
    '',
  ].join('\n');
}

/** Seconds the preStop hook of a Sentinel set's master waits for the Sentinels to hand its role over. */
export const HANDOVER_SECONDS = 20;

/**
 * preStop of a Sentinel set's data node: a master with replicas pauses writes, asks a Sentinel for a
 * failover and waits (at most HANDOVER_SECONDS) until that Sentinel names another master, so a planned
 * restart loses no acknowledged write and costs no down-after wait; then, whatever the role, SHUTDOWN
 * SAVE as admin (SHUTDOWN is not paused by CLIENT PAUSE WRITE; the old master is demoted by the
 * Sentinels when it comes back, or by its own start script).
 */
export function sentinelPreStopScript(d: Deployment, net: HaNet, adminPasswordFile: string): string {
  const cli = cliProgram(d.engine);
  const self = `${cli} --user ${ROLE_USERS.shutdown} -p ${net.selfPort}`;
  const name = d.topology.sentinel.masterName;
  const ask = (command: string) =>
    `REDISCLI_AUTH="$spw" timeout ${CALL_SECONDS} ${cli} --user ${HA_USERS.sentinel} -h "$1" -p "$2" SENTINEL ${command} ${name} 2>/dev/null`;
  return [
    `self=${net.self}`,
    `port=${net.selfPort}`,
    `export REDISCLI_AUTH="$(cat ${adminPasswordFile})"`,
    `replicas="$(${self} INFO replication 2>/dev/null | tr -d '\\r' | sed -n 's/^connected_slaves://p')"`,
    `if [ "$(${self} ROLE 2>/dev/null | sed -n 1p)" = master ] && [ "\${replicas:-0}" -gt 0 ]; then`,
    `  ${self} CLIENT PAUSE ${HANDOVER_SECONDS * 1000} WRITE >/dev/null`,
    `  spw="$(cat ${net.secretDir}/${secretKey(HA_USERS.sentinel)})"`,
    `  for n in ${words(net.sentinels)}; do`,
    `    ${split}`,
    `    if [ "$(${ask('FAILOVER')})" = OK ]; then`,
    `      end=$(( $(date +%s) + ${HANDOVER_SECONDS} ))`,
    `      while [ "$(${ask('GET-MASTER-ADDR-BY-NAME')} | tr '\\n' ' ')" = "$self $port " ] && [ "$(date +%s)" -lt "$end" ]; do sleep 1; done`,
    '      echo "Sentinel $1:$2 handed the master role over"; break',
    '    fi',
    '  done',
    'fi',
    `exec ${self} SHUTDOWN SAVE`,
    '',
  ].join('\n');
}
