/**
 * Reaching the server, and when that fails, saying exactly why and what to do: refused, timeout, DNS,
 * TLS, NOAUTH, WRONGPASS, NOPERM, protected mode (DENIED), LOADING, BUSY, not a Redis port.
 * The connection errors come from connect/ (the same descriptions every command gives); here each
 * becomes a finding with a stable id and the remedy in this toolkit's terms.
 */
import { connect as netConnect } from 'node:net';
import { openConnection, type RedisConnection } from '../connect/client.js';
import { formatRedisUrl, type Endpoint } from '../connect/url.js';
import { ConnectionError } from '../errors.js';
import { finding, type Finding } from './finding.js';

export type ProbeResult = { connection: RedisConnection } | { failure: Finding; reach: 'unreachable' | 'connected' };

/** Opens the connection doctor reads with, within `timeoutMs` (TCP, TLS, AUTH and the first reply). */
export async function probe(endpoint: Endpoint, timeoutMs: number): Promise<ProbeResult> {
  try {
    // no client name: CLIENT SETNAME is a right the read-only users do not have
    return { connection: await openConnection(endpoint, { connectTimeoutMs: timeoutMs }) };
  } catch (error) {
    let failure = classifyConnectError(error, endpoint, timeoutMs);
    // a plain Redis port never answers a TLS hello: say so rather than "timeout"
    if (failure.id === 'connection.timeout' && endpoint.tls && (await answersPlainPing(endpoint, Math.min(timeoutMs, 1000))))
      failure = finding(
        'connection.tls',
        'critical',
        `TLS handshake with ${formatRedisUrl(endpoint)} got no answer: the port speaks plain Redis`,
        failure.evidence,
        'TLS handshake',
        'the port speaks plain Redis: use redis:// instead of rediss://',
      );
    // LOADING and BUSY: the server is there and its state is the finding
    const reach = failure.id === 'connection.loading' || failure.id === 'connection.busy' ? 'connected' : 'unreachable';
    return { failure, reach };
  }
}

/** Whether a plain-text PING at the endpoint's port gets a RESP reply within `ms`. */
function answersPlainPing(endpoint: Endpoint, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ host: endpoint.host, port: endpoint.port });
    const done = (yes: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(yes);
    };
    const timer = setTimeout(() => done(false), ms);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (chunk: Buffer) => done(chunk.length > 0 && '+-'.includes(String.fromCharCode(chunk[0]!))));
    socket.once('error', () => done(false));
  });
}

function causeOf(error: unknown): unknown {
  return error instanceof ConnectionError && error.cause !== undefined ? error.cause : error;
}

function messageOf(error: unknown): string {
  return ((error as Error)?.message ?? String(error)).split('\n')[0]!;
}

const PROTECTED_MODE_FIX =
  "Remedies, in this toolkit's terms: (1) keep protected mode and give clients named users with passwords: the neurallog profile does (default user off, app/backup/monitor/ops/admin users; `up` generates their passwords); (2) or bind only loopback (`server.bind: [127.0.0.1]`) and reach it from this machine; (3) never `protected-mode no` with a passwordless default user; (4) restart after changing the model (`up`)";

/** One finding per failure kind (ids `connection.*`, docs/doctor.md). */
export function classifyConnectError(error: unknown, endpoint: Endpoint, timeoutMs: number): Finding {
  const where = formatRedisUrl(endpoint);
  const cause = causeOf(error);
  const errno = (cause as NodeJS.ErrnoException)?.code;
  const code = error instanceof ConnectionError ? error.code : undefined;
  const text = messageOf(cause);
  const said = error instanceof ConnectionError ? error.message : text;
  const user = endpoint.username ?? 'default';
  const c = (id: string, title: string, threshold: string, fix: string) => finding(`connection.${id}`, 'critical', title, said, threshold, fix);
  const fromReply = replyFinding(text, c, where, user);
  if (fromReply) return fromReply;
  if (errno === 'ECONNREFUSED')
    return c(
      'refused',
      `nothing accepts connections at ${where}`,
      'TCP connect refused (ECONNREFUSED)',
      'start the server (`neurallog-redis up --dir DIR`), or check the port; with --dir, doctor reads the log for why it stopped',
    );
  if (errno === 'ENOTFOUND' || errno === 'EAI_AGAIN' || errno === 'EAI_NONAME')
    return c('dns', `the host "${endpoint.host}" cannot be resolved`, `DNS lookup failed (${errno})`, 'check the host name in the URL, or use the address');
  if (code === 'E_TIMEOUT' || (code === 'E_UNREACHABLE' && /timeout/i.test(text)) || errno === 'ETIMEDOUT' || /^timeout\b/.test(text))
    return c(
      'timeout',
      `no answer from ${endpoint.host}:${endpoint.port} within ${timeoutMs} ms`,
      `connect and first reply within --timeout (${timeoutMs} ms)`,
      "a firewall dropping packets, a wrong host, or a server too busy to answer: check the address, the network path, and the server's CPU",
    );
  if (code === 'E_TLS')
    return c(
      'tls',
      `TLS handshake failed with ${where}`,
      'TLS handshake',
      /redis:\/\//.test(said)
        ? 'the port speaks plain Redis: use redis:// instead of rediss://'
        : 'check the server certificate and its CA, and that the port serves TLS (tls-port)',
    );
  if (code === 'E_NOT_REDIS')
    return c(
      'not-redis',
      `${endpoint.host}:${endpoint.port} is not a Redis server`,
      'the reply to PING starts with a RESP type byte',
      "check the port: another service (HTTP, SSH, ...) answers there; the model's port is `server.port`",
    );
  return c('failed', `cannot connect to ${where}`, 'a working connection', 'see the message');
}

type Make = (id: string, title: string, threshold: string, fix: string) => Finding;

/** The failures a server states in its reply (-LOADING, -BUSY, -WRONGPASS, -NOAUTH, -DENIED, -NOPERM). */
function replyFinding(text: string, c: Make, where: string, user: string): Finding | undefined {
  if (/^LOADING\b/.test(text))
    return c(
      'loading',
      `${where} is loading its data set into memory and answers no command yet`,
      'a -LOADING reply',
      'wait: it serves once loading ends (INFO persistence loading_* shows progress); a large AOF loads slower than an RDB',
    );
  if (/^BUSY\b/.test(text))
    return c(
      'busy',
      `${where} is running a script or function that has not returned`,
      'a -BUSY reply',
      'SCRIPT KILL (or FUNCTION KILL) as admin if the script has not written; otherwise SHUTDOWN NOSAVE; keep scripts short (busy-reply-threshold, 5 s by default)',
    );
  if (/^WRONGPASS\b|invalid username-password/i.test(text))
    return c(
      'wrongpass',
      `user "${user}" cannot log in at ${where}: wrong password, or the user is off`,
      'AUTH accepted',
      `with --dir, doctor logs in as ops from the secrets file; after \`rotate-password\` use the new password (--password-file); a user disabled in the model cannot log in`,
    );
  if (/^NOAUTH\b/.test(text))
    return c(
      'noauth',
      `${where} requires a login`,
      'a -NOAUTH reply',
      'give a user and password: --url redis://ops@host:port with --password-file (or NEURALLOG_REDIS_PASSWORD), or --dir',
    );
  if (/^DENIED\b/.test(text))
    return c(
      'denied',
      `${where} is in protected mode and refuses clients from other hosts`,
      'a -DENIED reply (protected mode, default user without a password, client not on loopback)',
      PROTECTED_MODE_FIX,
    );
  if (/^NOPERM\b/.test(text))
    return c(
      'noperm',
      `user "${user}" may not run what doctor needs`,
      'the user may run INFO (and CONFIG GET)',
      "use the ops user (the neurallog profile's read-only operations user: +info +config|get +slowlog|get +latency ...), or --dir",
    );
  return undefined;
}
