/**
 * `redis://[user[:password]@]host:port[/db]` (and `rediss://` for TLS), parsed and printed safely:
 * a URL with a password is never printed as is (see redactUrl).
 */
import { UsageError } from '../errors.js';

export interface Endpoint {
  host: string;
  port: number;
  tls: boolean;
  db: number;
  username?: string;
  password?: string;
}

export function parseRedisUrl(text: string): Endpoint {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`"${redactUrl(text)}" is not a URL; write redis://[user[:password]@]host:port[/db]`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new UsageError(`"${url.protocol}" URLs are not Redis URLs; write redis://host:port (or rediss:// for TLS)`);
  }
  const dbText = url.pathname.replace(/^\//, '');
  if (dbText !== '' && !/^\d+$/.test(dbText)) throw new UsageError(`the database in a Redis URL is a number (redis://host:port/0), not "${dbText}"`);
  const port = url.port === '' ? 6379 : Number(url.port);
  return {
    host: url.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port,
    tls: url.protocol === 'rediss:',
    db: dbText === '' ? 0 : Number(dbText),
    username: url.username ? decodePart(url.username, 'user name') : undefined,
    password: url.password ? decodePart(url.password, 'password') : undefined,
  };
}

/** A %-escaped part of the URL; a bad escape is named without echoing the part (it may be a password). */
function decodePart(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return fail(`the ${what} in the Redis URL has a malformed %-escape; write % as %25 (and @ : / as %40 %3A %2F), or give the password with --password-file`);
  }
}

function fail(message: string): never {
  throw new UsageError(message, 'E_URL');
}

export function formatRedisUrl(e: Endpoint, options: { showPassword?: boolean } = {}): string {
  const user = e.username ? encodeURIComponent(e.username) : '';
  const pass = options.showPassword && e.password !== undefined ? `:${encodeURIComponent(e.password)}` : '';
  const auth = user || pass ? `${user}${pass}@` : '';
  const host = e.host.includes(':') ? `[${e.host}]` : e.host;
  return `${e.tls ? 'rediss' : 'redis'}://${auth}${host}:${e.port}${e.db ? `/${e.db}` : ''}`;
}

/** Replaces any password in a URL-looking string with `***`. */
export function redactUrl(text: string): string {
  return text.replace(/(rediss?:\/\/[^:/@\s]*):[^@\s]*@/gi, '$1:***@');
}
