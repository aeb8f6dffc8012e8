/**
 * The restore's SHA-256 started before the CLI's modules load (src/cli/early-digest.ts): taken for
 * the file it was started for, stopped when the restore turns out to be of another file, and not
 * started for a restore where there is no manifest to check it against.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { prefetchRestoreDigest, restoreDigest, startDigest } from '../src/cli/early-digest.js';
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

    const started = prefetchRestoreDigest(['restore', a, '--url', 'redis://127.0.0.1:1']);
    assert.ok(started?.sha256, 'restore FILE with a manifest beside it: hashed at once');
    const same = restoreDigest(a);
    assert.equal(same.sha256, started.sha256, 'the restore takes the hash bin started');
    assert.equal(await same.sha256, sha(bytesA));

    // the command line named a file, commander then handed the restore another (a guess gone wrong)
    const guess = prefetchRestoreDigest(['restore', a]);
    const other = restoreDigest(b);
    assert.equal(await other.sha256, sha(bytesB));
    // the guess was stopped (openssl killed: its promise rejects), and is not handed out later
    await assert.rejects(guess!.sha256!);
    const again = restoreDigest(a);
    assert.notEqual(again.sha256, guess!.sha256);
    assert.equal(await again.sha256, sha(bytesA));

    // no manifest beside it: nothing to check, nothing hashed; not `restore FILE`: nothing started
    const c = join(dir.path, 'c.rdb');
    writeFileSync(c, bytesB);
    assert.equal(restoreDigest(c).sha256, undefined);
    assert.equal(prefetchRestoreDigest(['restore', '--url', 'redis://x:1', c]), undefined);
    assert.equal(prefetchRestoreDigest(['backup', a]), undefined);
    // backups verify hashes a file without a manifest too
    assert.equal(await startDigest(c, { manifestOnly: false }).sha256, sha(bytesB));
  } finally {
    dir.remove();
  }
});
