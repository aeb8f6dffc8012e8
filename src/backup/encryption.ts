/**
 * Encryption at rest for backups: AES-256-GCM in chunks, so a stream can be authenticated as it is
 * read, truncation and reordering are detected, and memory stays constant. Format (docs/backups.md):
 *
 *   header  "NLRB-ENC" (8 bytes) | version 1 (1 byte) | chunk size (u32 BE) | salt (16 bytes)
 *   chunk*  plaintext length (u32 BE) | ciphertext | GCM tag (16 bytes)
 *
 * The file key is HKDF-SHA256(key file's 32 bytes, salt, "neurallog-redis backup v1"); chunk i uses
 * the nonce 0x00000000 || i (u64 BE); each chunk's additional data is the header plus one byte saying
 * whether it is the last chunk (a file always ends with a last chunk, possibly empty).
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import { BackupDecryptError, ConfigError } from '../errors.js';
export { BackupDecryptError };

export const ENCRYPTION_MAGIC = Buffer.from('NLRB-ENC', 'latin1');
const VERSION = 1;
const HEADER_BYTES = 8 + 1 + 4 + 16;
const TAG_BYTES = 16;
export const DEFAULT_CHUNK = 1 << 20;
const MAX_CHUNK = 16 << 20;

/** Reads a key file: 32 raw bytes, or 64 hex digits, or base64 of 32 bytes (one line). Mode must be 0600. */
export function readKeyFile(path: string): Buffer {
  let raw: Buffer;
  try {
    raw = readFileSync(path);
    const mode = statSync(path).mode & 0o777;
    if (mode & 0o077) throw new ConfigError(`the key file is readable by others (mode ${mode.toString(8)}); run \`chmod 600 ${path}\``, { file: path });
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`cannot read the key file: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { file: path });
  }
  if (raw.length === 32) return raw;
  const text = raw.toString('utf8').trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  const b64 = Buffer.from(text, 'base64');
  if (b64.length === 32 && /^[A-Za-z0-9+/_-]+=*$/.test(text)) return b64;
  throw new ConfigError(
    'a key file holds 32 random bytes, as raw bytes, 64 hex digits or base64 (make one with `head -c 32 /dev/urandom > key && chmod 600 key`)',
    { file: path },
  );
}

/** A short, non-secret identifier of a key, recorded in manifests so the right key can be found. */
export function keyId(key: Buffer): string {
  return createHash('sha256').update('neurallog-redis key id').update(key).digest('hex').slice(0, 16);
}

function fileKey(key: Buffer, salt: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', key, salt, 'neurallog-redis backup v1', 32));
}

function nonce(index: number): Buffer {
  const n = Buffer.alloc(12);
  n.writeBigUInt64BE(BigInt(index), 4);
  return n;
}

function aad(header: Buffer, last: boolean): Buffer {
  return Buffer.concat([header, Buffer.from([last ? 1 : 0])]);
}

export function createEncryptStream(key: Buffer, chunkSize = DEFAULT_CHUNK): Transform {
  const salt = randomBytes(16);
  const header = Buffer.alloc(HEADER_BYTES);
  ENCRYPTION_MAGIC.copy(header, 0);
  header.writeUInt8(VERSION, 8);
  header.writeUInt32BE(chunkSize, 9);
  salt.copy(header, 13);
  const k = fileKey(key, salt);
  let index = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let headerSent = false;
  const seal = (plain: Buffer, last: boolean): Buffer => {
    const cipher = createCipheriv('aes-256-gcm', k, nonce(index++));
    cipher.setAAD(aad(header, last));
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(plain.length);
    return Buffer.concat([len, body, cipher.getAuthTag()]);
  };
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      if (!headerSent) {
        this.push(header);
        headerSent = true;
      }
      pending.push(chunk);
      pendingBytes += chunk.length;
      // keep at least one byte back so the last chunk is always sealed as "last" in flush
      while (pendingBytes > chunkSize) {
        const all = Buffer.concat(pending);
        this.push(seal(all.subarray(0, chunkSize), false));
        pending = [all.subarray(chunkSize)];
        pendingBytes = all.length - chunkSize;
      }
      done();
    },
    flush(done: TransformCallback) {
      if (!headerSent) this.push(header);
      this.push(seal(Buffer.concat(pending), true));
      done();
    },
  });
}

export function createDecryptStream(key: Buffer): Transform {
  let buffer: Buffer = Buffer.alloc(0);
  let header: Buffer | undefined;
  let k: Buffer | undefined;
  let index = 0;
  let consumed = 0;
  let sawLast = false;
  let chunkSize = 0;
  const open = (body: Buffer, tag: Buffer, last: boolean): Buffer => {
    const decipher = createDecipheriv('aes-256-gcm', k!, nonce(index++));
    decipher.setAAD(aad(header!, last));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(body), decipher.final()]);
  };
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
      try {
        if (!header) {
          if (buffer.length < HEADER_BYTES) return done();
          header = buffer.subarray(0, HEADER_BYTES);
          if (!header.subarray(0, 8).equals(ENCRYPTION_MAGIC)) throw new BackupDecryptError('not an encrypted neurallog-redis backup (bad magic)', 0);
          if (header[8] !== VERSION) throw new BackupDecryptError(`encryption format version ${header[8]} is not supported`, 8);
          chunkSize = header.readUInt32BE(9);
          if (chunkSize === 0 || chunkSize > MAX_CHUNK) throw new BackupDecryptError(`chunk size ${chunkSize} is out of range`, 9);
          k = fileKey(key, header.subarray(13, 29));
          buffer = buffer.subarray(HEADER_BYTES);
          consumed = HEADER_BYTES;
        }
        while (buffer.length >= 4) {
          if (sawLast) throw new BackupDecryptError('data after the last chunk', consumed);
          const len = buffer.readUInt32BE(0);
          if (len > chunkSize) throw new BackupDecryptError(`chunk ${index} declares ${len} bytes, more than the chunk size ${chunkSize}`, consumed);
          const total = 4 + len + TAG_BYTES;
          if (buffer.length < total) break;
          const body = buffer.subarray(4, 4 + len);
          const tag = buffer.subarray(4 + len, total);
          // a chunk shorter than the chunk size must be the last; a full one may be either
          let plain: Buffer;
          try {
            plain = open(body, tag, len < chunkSize);
            sawLast = len < chunkSize;
          } catch {
            if (len === chunkSize) {
              index--;
              try {
                plain = open(body, tag, true);
                sawLast = true;
              } catch {
                throw new BackupDecryptError(`chunk ${index} fails authentication (wrong key, or the file was changed)`, consumed);
              }
            } else {
              throw new BackupDecryptError(`chunk ${index - 1} fails authentication (wrong key, or the file was changed)`, consumed);
            }
          }
          this.push(plain);
          buffer = buffer.subarray(total);
          consumed += total;
        }
        done();
      } catch (error) {
        done(error as Error);
      }
    },
    flush(done: TransformCallback) {
      if (!header) return done(new BackupDecryptError('the file ends inside the encryption header', consumed + buffer.length));
      if (!sawLast || buffer.length > 0) return done(new BackupDecryptError('the file is truncated (its last chunk is missing)', consumed + buffer.length));
      done();
    },
  });
}
