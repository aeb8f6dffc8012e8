/**
 * The lexical rules of redis.conf, as redis-server applies them (sdssplitargs): a line is split on
 * white space; "double quotes" take the escapes \n \r \t \b \a \\ \" and \xHH; 'single quotes' take
 * only \'; a closing quote must be followed by white space or the end of the line. Lines whose first
 * non-blank character is `#` are comments; `#` elsewhere is an ordinary character.
 */

export interface ConfLine {
  /** 1-based line number in its file */
  line: number;
  /** directive name, lower-cased as Redis compares it */
  name: string;
  args: string[];
}

export class ConfSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}

const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', b: '\b', a: '\x07', '\\': '\\', '"': '"' };

/** Splits one line into arguments; throws a message (without place) on unbalanced quotes. */
export function splitArgs(text: string): string[] {
  const args: string[] = [];
  let i = 0;
  const n = text.length;
  const isSpace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\v' || c === '\f';
  while (true) {
    while (i < n && isSpace(text[i])) i++;
    if (i >= n) return args;
    let current = '';
    let inDouble = false;
    let inSingle = false;
    let done = false;
    while (!done) {
      const c = text[i];
      if (inDouble) {
        if (c === undefined) throw new Error('unbalanced double quotes');
        if (c === '\\' && text[i + 1] === 'x' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 2, i + 4))) {
          current += String.fromCharCode(parseInt(text.slice(i + 2, i + 4), 16));
          i += 3;
        } else if (c === '\\' && i + 1 < n) {
          const next = text[i + 1]!;
          current += ESCAPES[next] ?? next;
          i += 1;
        } else if (c === '"') {
          if (i + 1 < n && !isSpace(text[i + 1])) throw new Error('a closing double quote must be followed by a space or the end of the line');
          done = true;
        } else {
          current += c;
        }
      } else if (inSingle) {
        if (c === undefined) throw new Error('unbalanced single quotes');
        if (c === '\\' && text[i + 1] === "'") {
          current += "'";
          i += 1;
        } else if (c === "'") {
          if (i + 1 < n && !isSpace(text[i + 1])) throw new Error('a closing single quote must be followed by a space or the end of the line');
          done = true;
        } else {
          current += c;
        }
      } else if (c === undefined || isSpace(c)) {
        done = true;
      } else if (c === '"') {
        inDouble = true;
      } else if (c === "'") {
        inSingle = true;
      } else {
        current += c;
      }
      if (i < n) i++;
    }
    args.push(current);
  }
}

/** Splits a whole file into directive lines, skipping blanks and comments. */
export function tokenizeConf(text: string): ConfLine[] {
  const lines: ConfLine[] = [];
  const raw = text.split('\n');
  for (let index = 0; index < raw.length; index++) {
    const trimmed = raw[index]!.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    let args: string[];
    try {
      args = splitArgs(trimmed);
    } catch (error) {
      throw new ConfSyntaxError((error as Error).message, index + 1);
    }
    if (args.length === 0) continue;
    lines.push({ line: index + 1, name: args[0]!.toLowerCase(), args: args.slice(1) });
  }
  return lines;
}

/** Quotes an argument for redis.conf only when it needs it. */
export function quoteArg(arg: string): string {
  if (arg !== '' && /^[\x21-\x7e]+$/.test(arg) && !/["'\\]/.test(arg)) return arg;
  let out = '"';
  for (const ch of arg) {
    const code = ch.charCodeAt(0);
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

export function formatLine(name: string, args: readonly string[]): string {
  return [name, ...args.map(quoteArg)].join(' ');
}
