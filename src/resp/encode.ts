/**
 * RESP2 command encoding: every command is an array of bulk strings, the form servers and replicas
 * both accept. Arguments may be text (encoded as UTF-8) or raw bytes.
 */

export type CommandArg = string | Buffer;

const CRLF = Buffer.from('\r\n');

/** `*<n>\r\n` then `$<len>\r\n<bytes>\r\n` per argument, as one buffer. */
export function encodeCommand(args: readonly CommandArg[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = typeof arg === 'string' ? Buffer.from(arg, 'utf8') : arg;
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, CRLF);
  }
  return Buffer.concat(parts);
}

/** `+<text>\r\n`; the text must not contain CR or LF. */
export function encodeSimpleString(text: string): Buffer {
  if (/[\r\n]/.test(text)) throw new RangeError('a RESP simple string cannot contain CR or LF');
  return Buffer.from(`+${text}\r\n`);
}

/** `-<text>\r\n`; line breaks in the text become spaces. */
export function encodeError(text: string): Buffer {
  return Buffer.from(`-${text.replace(/[\r\n]+/g, ' ')}\r\n`);
}
