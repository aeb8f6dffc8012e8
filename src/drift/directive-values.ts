/**
 * Directive values in one comparable form, whether they come from the model (rendered through the
 * directive table, as redis.conf has them) or from the live server (CONFIG GET): sizes in bytes,
 * yes/no in lower case, the lines of a multi-line directive (save, client-output-buffer-limit) joined
 * as CONFIG GET joins them, the client class `slave` read as `replica`, and every alias under the name
 * the server's release uses.
 */
import { createHash } from 'node:crypto';
import { DEPRECATED_ALIASES, DIRECTIVES } from '../config/directives.js';
import { FILE_ONLY_DIRECTIVES, tableFor, type EngineTarget } from '../config/engine-directives.js';
import type { Deployment } from '../config/schema.js';
import { parseRedisSize } from '../config/units.js';

export interface ModelValue {
  /** the value as CONFIG SET takes it (the rendered arguments, joined by spaces) */
  text: string;
  /** the comparable form */
  value: string;
}

/** Directives whose value is a password: compared, but shown only as a hash prefix. */
export const SECRET_DIRECTIVES: ReadonlySet<string> = new Set(['masterauth', 'requirepass', 'tls-key-file-pass', 'tls-client-key-file-pass']);

/** A value as it may be printed: a secret directive's as `(secret #1a2b3c4d…)`, the SHA-256's first 8 hex digits. */
export function shownValue(name: string, value: string): string {
  if (!SECRET_DIRECTIVES.has(name) || value === '') return value;
  return `(secret #${createHash('sha256').update(value, 'utf8').digest('hex').slice(0, 8)}…)`;
}

const SIZE = /^-?\d+(k|kb|m|mb|g|gb)$/i;

/** The comparable form of one directive's value (`text`: its arguments joined by spaces). */
export function normaliseValue(name: string, text: string): string {
  const tokens = text.split(/\s+/).filter((t) => t !== '');
  return tokens
    .map((token) => {
      const lower = token.toLowerCase();
      if (lower === 'yes' || lower === 'no') return lower;
      if (SIZE.test(token)) return String(parseRedisSize(token) ?? token);
      if (name === 'client-output-buffer-limit' && lower === 'slave') return 'replica';
      return token;
    })
    .join(' ');
}

/** The name a target's release uses for a directive (`slave-read-only` -> `replica-read-only`). */
export function canonicalName(target: EngineTarget, name: string): string {
  const lower = name.toLowerCase();
  let table;
  try {
    table = tableFor(target).table;
  } catch {
    table = undefined;
  }
  return table?.aliases.get(lower) ?? DEPRECATED_ALIASES[lower] ?? lower;
}

function joinLines(lines: string[][]): string {
  return lines.map((args) => args.join(' ')).join(' ');
}

/**
 * The model's directives as the target would report them: the modelled ones, then the extra
 * directives (a later line wins, as in redis.conf). File-only directives (include, user, ...) have
 * no CONFIG GET value and are left out.
 */
export function modelValues(d: Deployment, target: EngineTarget): Map<string, ModelValue> {
  const out = new Map<string, ModelValue>();
  for (const spec of DIRECTIVES) {
    const text = joinLines(spec.render(d));
    out.set(canonicalName(target, spec.name), { text, value: normaliseValue(spec.name, text) });
  }
  const extras = new Map<string, string[][]>();
  for (const { name, args } of d.extraDirectives) {
    if (FILE_ONLY_DIRECTIVES.includes(name)) continue;
    const key = canonicalName(target, name);
    extras.set(key, [...(extras.get(key) ?? []), args]);
  }
  for (const [name, lines] of extras) {
    // save and client-output-buffer-limit add up line by line; any other directive: the last line wins
    const used = name === 'save' || name === 'client-output-buffer-limit' ? lines : [lines[lines.length - 1]!];
    const text = joinLines(used);
    out.set(name, { text, value: normaliseValue(name, text) });
  }
  return out;
}

/** CONFIG GET's flat reply as name -> comparable value, aliases dropped where the modern name is present. */
export function liveValues(reply: readonly string[], target: EngineTarget): Map<string, { raw: string; value: string }> {
  const out = new Map<string, { raw: string; value: string }>();
  for (let i = 0; i + 1 < reply.length; i += 2) {
    const name = reply[i]!.toLowerCase();
    const key = canonicalName(target, name);
    if (key !== name && out.has(key)) continue;
    out.set(key, { raw: reply[i + 1]!, value: normaliseValue(key, reply[i + 1]!) });
  }
  return out;
}
