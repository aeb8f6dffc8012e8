/**
 * host/program-output.ts: a program's stdout through a wide FIFO into one reused buffer.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { readProgramOutput } from '../src/host/program-output.js';
import { tempDir } from './helpers/redis.js';

const fifosLeft = () => readdirSync(tmpdir()).filter((f) => f.startsWith('nlr-fifo-'));

describe('reading a program through a FIFO', () => {
  test('delivers every byte, in order, then resolves; chunks are views into one reused buffer', async () => {
    const temp = tempDir();
    try {
      const data = randomBytes(5 * (1 << 20) + 12345);
      const file = join(temp.path, 'data');
      writeFileSync(file, data);
      const before = fifosLeft().length;
      const hash = createHash('sha256');
      let bytes = 0;
      const memories = new Set<ArrayBufferLike>();
      const done = readProgramOutput({
        program: 'cat',
        args: [file],
        errorCode: 'E_GZIP',
        onChunk: (chunk) => {
          hash.update(chunk);
          bytes += chunk.length;
          memories.add(chunk.buffer);
        },
      });
      assert.ok(done, 'the fast path is available on Linux with mkfifo');
      await done;
      assert.equal(bytes, data.length);
      assert.equal(hash.digest('hex'), createHash('sha256').update(data).digest('hex'));
      assert.equal(memories.size, 1, 'one read buffer for the whole output');
      assert.equal(fifosLeft().length, before, 'the FIFO and its directory are gone');
    } finally {
      temp.remove();
    }
  });

  test("a program that fails, even after writing everything, fails the read with its stderr's last line", async () => {
    await assert.rejects(
      readProgramOutput({ program: 'sh', args: ['-c', 'printf abc; echo "it broke" >&2; exit 3'], errorCode: 'E_GZIP', onChunk: () => undefined })!,
      (error: Error & { code?: string }) => error.code === 'E_GZIP' && /sh failed \(exit 3\): it broke/.test(error.message),
    );
    await assert.rejects(
      readProgramOutput({ program: 'no-such-program-here', args: [], errorCode: 'E_GZIP', onChunk: () => undefined })!,
      /no-such-program-here/,
    );
  });

  // the program never ends by itself: without the stop, the read would hang until the test's timeout
  test('a consumer that throws stops the program and fails the read with its own error', { timeout: 30_000 }, async () => {
    let calls = 0;
    await assert.rejects(
      readProgramOutput({
        program: 'sh',
        args: ['-c', 'while :; do printf "%065536d" 0; done'],
        errorCode: 'E_GZIP',
        onChunk: () => {
          if (++calls === 3) throw new Error('parser says no');
        },
      })!,
      /parser says no/,
    );
  });

  test('no writable temporary directory: undefined, the caller reads the ordinary way', () => {
    const before = process.env.TMPDIR;
    process.env.TMPDIR = '/nonexistent/nlr-no-such-dir';
    try {
      assert.equal(readProgramOutput({ program: 'true', args: [], errorCode: 'E_GZIP', onChunk: () => undefined }), undefined);
    } finally {
      if (before === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = before;
    }
  });

  test('NEURALLOG_REDIS_FIFO=off: undefined, the caller reads the ordinary way', () => {
    process.env.NEURALLOG_REDIS_FIFO = 'off';
    try {
      assert.equal(readProgramOutput({ program: 'true', args: [], errorCode: 'E_GZIP', onChunk: () => undefined }), undefined);
    } finally {
      delete process.env.NEURALLOG_REDIS_FIFO;
    }
  });
});
