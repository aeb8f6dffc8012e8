/** Dangerous configuration: anonymous access and exposure, the DEBUG command, KEYS and FLUSHALL in use, rename-command. */
import type { ServerFacts } from './collect.js';
import { finding, type Finding } from './finding.js';

const LOOPBACK = /^(-?127\.|-?::1$|-?localhost$)/;

export function securityChecks(facts: ServerFacts, renamedCommands: readonly string[] = []): Finding[] {
  const { config, info } = facts;
  const out: Finding[] = [];
  const bind = config?.bind ?? '?';
  const exposed = config !== undefined && bind.split(/\s+/).some((b) => b !== '' && !LOOPBACK.test(b));
  const protectedMode = config?.['protected-mode'] ?? '?';
  const evidence = `anonymous PING: ${facts.anonymous === 'open' ? 'served' : facts.anonymous === 'closed' ? 'refused' : 'unknown'}; protected-mode ${protectedMode}; bind ${bind}`;
  const threshold = 'no client is served without a password';
  if (facts.anonymous === 'open') {
    const open = exposed && protectedMode === 'no';
    out.push(
      finding(
        'security.anonymous',
        open ? 'critical' : 'warning',
        open
          ? 'anyone who reaches the port gets full access: default user without a password, protected mode off, bound beyond loopback'
          : 'the default user needs no password: any local process has full access',
        evidence,
        threshold,
        "use the neurallog profile's users (default user off, app/backup/monitor/ops/admin with generated passwords): `up` with security.users, or ACL SETUSER default off",
      ),
    );
  } else out.push(finding('security.anonymous', 'ok', 'clients must log in', evidence, threshold));
  const debug = config?.['enable-debug-command'];
  if (debug !== undefined && debug !== 'no')
    out.push(
      finding(
        'security.debug-command',
        debug === 'local' ? 'info' : 'warning',
        `DEBUG and MODULE commands are enabled (${debug})`,
        `enable-debug-command ${debug}`,
        'enable-debug-command no',
        'remove enable-debug-command (DEBUG can crash or stall the server, e.g. DEBUG SLEEP, DEBUG SEGFAULT)',
      ),
    );
  else if (debug === 'no') out.push(finding('security.debug-command', 'ok', 'DEBUG is disabled', 'enable-debug-command no', 'enable-debug-command no'));
  const calls = (name: string) => Number(/calls=(\d+)/.exec(info[`cmdstat_${name}`] ?? '')?.[1] ?? 0);
  const keys = calls('keys');
  const flush = calls('flushall') + calls('flushdb');
  const used = `cmdstat_keys calls=${keys}, cmdstat_flushall+flushdb calls=${flush}`;
  if (keys > 0)
    out.push(
      finding(
        'security.dangerous-commands',
        'warning',
        `KEYS was called ${keys} time(s): it blocks the server while it walks every key`,
        used,
        'no KEYS calls',
        "use SCAN; deny KEYS to application users (the neurallog profile's app user has -@dangerous)",
      ),
    );
  else if (flush > 0)
    out.push(
      finding(
        'security.dangerous-commands',
        'info',
        `FLUSHALL/FLUSHDB ran ${flush} time(s)`,
        used,
        'no FLUSHALL/FLUSHDB calls',
        'make sure only admin can flush (ACL -@dangerous for applications)',
      ),
    );
  else out.push(finding('security.dangerous-commands', 'ok', 'no KEYS or FLUSHALL calls', used, 'no KEYS or FLUSHALL calls'));
  if (renamedCommands.length > 0)
    out.push(
      finding(
        'security.rename-command',
        'info',
        `rename-command hides ${renamedCommands.join(', ')}`,
        renamedCommands.map((c) => `rename-command ${c}`).join('; '),
        'ACL rules rather than rename-command',
        'rename-command is deprecated: deny the commands with ACL rules (security.users) instead; tools and replicas break on renamed commands',
      ),
    );
  return out;
}
