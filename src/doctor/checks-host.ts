/** The machine under the server (kernel settings Redis warns about) and what its log says. */
import type { ServerFacts } from './collect.js';
import { finding, type Finding } from './finding.js';
import type { KernelFacts, LogFacts } from './host-facts.js';

const sysctl = (setting: string) => `sysctl -w ${setting} and persist it in /etc/sysctl.d/ (on Kubernetes: the node, or an init container with privileges)`;

export function kernelChecks(k: KernelFacts, facts: ServerFacts | undefined): Finding[] {
  const out: Finding[] = [];
  if (k.overcommit !== undefined)
    out.push(
      k.overcommit === '1'
        ? finding('host.overcommit', 'ok', 'overcommit_memory is 1', 'vm.overcommit_memory 1', 'vm.overcommit_memory 1')
        : finding(
            'host.overcommit',
            'warning',
            'a background save or AOF rewrite may fail to fork under memory pressure',
            `vm.overcommit_memory ${k.overcommit}`,
            'vm.overcommit_memory 1 (Redis warns at start otherwise)',
            sysctl('vm.overcommit_memory=1'),
          ),
    );
  if (k.thp !== undefined) out.push(thpCheck(k.thp, facts?.config?.['disable-thp']));
  const backlog = Number(facts?.config?.['tcp-backlog'] ?? 511);
  if (k.somaxconn !== undefined)
    out.push(
      k.somaxconn < backlog
        ? finding(
            'host.somaxconn',
            'warning',
            `the kernel caps the listen backlog at ${k.somaxconn}, below tcp-backlog ${backlog}`,
            `net.core.somaxconn ${k.somaxconn}, tcp-backlog ${backlog}`,
            'somaxconn >= tcp-backlog',
            sysctl(`net.core.somaxconn=${Math.max(backlog, 1024)}`),
          )
        : finding(
            'host.somaxconn',
            'ok',
            'somaxconn covers tcp-backlog',
            `net.core.somaxconn ${k.somaxconn}, tcp-backlog ${backlog}`,
            'somaxconn >= tcp-backlog',
          ),
    );
  if (k.clocksource !== undefined)
    out.push(
      k.clocksource === 'xen'
        ? finding(
            'host.clocksource',
            'warning',
            'the xen clocksource makes every time call slow (a system call)',
            `clocksource ${k.clocksource}`,
            'not xen (tsc or kvm-clock)',
            'switch the clocksource to tsc (clocksource=tsc on the kernel command line) where the hypervisor allows',
          )
        : finding('host.clocksource', 'ok', `clocksource ${k.clocksource}`, `clocksource ${k.clocksource}`, 'not xen'),
    );
  if (k.serverSwapKb !== undefined)
    out.push(
      k.serverSwapKb > 0
        ? finding(
            'host.swap',
            'warning',
            `${k.serverSwapKb} kB of the server is swapped out`,
            `VmSwap ${k.serverSwapKb} kB`,
            'VmSwap 0',
            'give the machine memory or lower maxmemory; turn swap off on Redis hosts (swapoff -a)',
          )
        : finding('host.swap', 'ok', 'nothing swapped out', 'VmSwap 0 kB', 'VmSwap 0'),
    );
  return out;
}

function thpCheck(thp: string, disableThp: string | undefined): Finding {
  const always = /\[always\]/.test(thp);
  const evidence = `transparent_hugepage: ${thp}; disable-thp ${disableThp ?? '?'}`;
  const threshold = 'THP not [always], or disable-thp yes (the server turns it off for itself)';
  return always && disableThp !== 'yes'
    ? finding(
        'host.thp',
        disableThp === undefined ? 'info' : 'warning',
        'transparent huge pages are always on: forks copy 2 MB pages, latency and memory jump',
        evidence,
        threshold,
        `keep disable-thp yes (the default), or ${sysctl('kernel.mm.transparent_hugepage.enabled=madvise')} (echo madvise > /sys/kernel/mm/transparent_hugepage/enabled)`,
      )
    : finding('host.thp', 'ok', 'transparent huge pages do not affect the server', evidence, threshold);
}

const HTTP_PROBE = /Possible SECURITY ATTACK detected/;
const FD_LIMIT = /maxclients has been reduced|Server can't set maximum open files/;

export function logChecks(log: LogFacts): Finding[] {
  const out: Finding[] = [];
  const probes = log.lines.filter((l) => HTTP_PROBE.test(l));
  out.push(
    probes.length > 0
      ? finding(
          'log.http-probe',
          'warning',
          `${probes.length} HTTP request(s) reached the Redis port (the server closed them)`,
          probes.at(-1)!.trim(),
          'no "Possible SECURITY ATTACK detected" line',
          'something speaks HTTP to Redis: a misconfigured health check, a proxy, or a scan from outside; keep the port off the internet (bind, firewall, NetworkPolicy)',
        )
      : finding('log.http-probe', 'ok', 'no HTTP requests at the Redis port', `${log.path}: no "Possible SECURITY ATTACK detected"`, 'no such line'),
  );
  const fd = log.lines.filter((l) => FD_LIMIT.test(l));
  out.push(
    fd.length > 0
      ? finding(
          'log.fd-limit',
          'warning',
          'the file-descriptor limit lowered maxclients',
          fd.at(-1)!.trim(),
          'no "maxclients has been reduced" line',
          'raise the open-files limit of the server (LimitNOFILE in systemd, ulimit -n) to maxclients + 32, or lower maxclients',
        )
      : finding('log.fd-limit', 'ok', 'maxclients as configured', `${log.path}: no "maxclients has been reduced"`, 'no such line'),
  );
  return out;
}

/** Lines that end a server's start, most specific first. */
const FATAL = [
  /FATAL CONFIG FILE ERROR/,
  /Bad directive|wrong number of arguments|Invalid argument|argument must be|must be one of/i,
  /Unrecoverable|aborting now|Fatal error|Short read|Bad file format|Wrong signature|Can't handle RDB format/i,
  /Could not create server TCP listening socket|Address already in use|Failed listening/i,
  /Can't open|Can't chdir|Permission denied|Failed opening|Failed to open|No such file/i,
  /out of memory|Out Of Memory|Can't allocate/i,
];

/** The line of the log that says why the server stopped (or did not start), with the lines after it. */
export function fatalLine(log: LogFacts): string | undefined {
  const lines = log.lines.filter((l) => l.trim() !== '');
  let start = 0;
  for (let i = lines.length - 1; i >= 0; i--)
    if (/oO0OoO0OoO0Oo .* is starting|Redis version=|Valkey version=/.test(lines[i]!)) {
      start = i;
      break;
    }
  const recent = lines.slice(Math.min(start, Math.max(0, lines.length - 40)));
  for (const pattern of FATAL) {
    const i = recent.findIndex((l) => pattern.test(l));
    if (i >= 0)
      return recent
        .slice(i, i + (/FATAL CONFIG/.test(recent[i]!) ? 4 : 1))
        .map((l) => l.trim())
        .join(' | ');
  }
  return undefined;
}

export function notRunningFinding(log: LogFacts | undefined, dir: string): Finding {
  const fatal = log ? fatalLine(log) : undefined;
  const start = `start it with \`neurallog-redis up --dir ${dir}\``;
  if (fatal)
    return finding(
      'start.fatal',
      'critical',
      'the server is not running: its log says why it stopped',
      fatal,
      "the deployment's server runs",
      `fix what the line names (a bad directive: the model or extraDirectives; a damaged RDB/AOF: restore a backup, or redis-check-rdb / redis-check-aof --fix; a port in use: another server), then ${start}`,
    );
  const tail =
    log?.lines
      .filter((l) => l.trim() !== '')
      .slice(-3)
      .join(' | ') ?? 'no log';
  return finding(
    'start.not-running',
    'critical',
    'the server is not running and its log names no fatal error (stopped on purpose?)',
    `${log?.path ?? 'redis.log'}: ${tail}`,
    "the deployment's server runs",
    start,
  );
}
