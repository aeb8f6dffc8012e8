/**
 * The restore's SHA-256 started before the CLI's modules load (src/cli/early-digest.ts): taken for
 * the file it was started for, stopped when the restore turns out to be of another file, and not
 * started where there is no manifest to check it against.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { prefetchRestoreDigest, restoreDigest } from '../src/cli/early-digest.js';
import { tempDir } from './helpers/redis.js';

const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

test('restore FILE: the hash bin started is the one the restore gets; another file is hashed anew and the guess stopped', async () => {
  const dir = tempDir('nlr-early-');
  try {
    const a = join(dir.path, 'a.rdb');
    const b = join(dir.path, 'b.rdb');
    const bytesA = Buffer.alloc(3 << 20, 1);
    const bytesB = Buffer.alloc(1 << 20, 2);
    writeFileSync(a, bytesA);
    writeFileSync(b, bytesB);
    for (const f of [a, b]) writeFileSync(`${f}.manifest.json`, '{}');

    prefetchRestoreDigest(['restore', a, '--url', 'redis://127.0.0.1:1']);
    const same = restoreDigest(a);
    assert.equal(await same.sha256, sha(bytesA));

    // the command line named a file, commander then handed the restore another (a guess gone wrong)
    prefetchRestoreDigest(['restore', a]);
    const other = restoreDigest(b);
    assert.equal(await other.sha256, sha(bytesB));
    // the guess was stopped, and is not handed out later
    const again = restoreDigest(a);
    assert.equal(await again.sha256, sha(bytesA));

    // no manifest beside it: nothing to check, nothing hashed; not `restore FILE`: nothing started
    const c = join(dir.path, 'c.rdb');
    writeFileSync(c, bytesB);
    assert.equal(restoreDigest(c).sha256, undefined);
    prefetchRestoreDigest(['restore', '--url', 'redis://x:1', c]);
    prefetchRestoreDigest(['backup', a]);
    assert.equal(restoreDigest(c).sha256, undefined);
  } finally {
    dir.remove();
  }
});
