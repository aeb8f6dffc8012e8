/**
 * Hardening (issue 12, item 5): the backup directory's lock, and the locks of `up` and
 * `rotate-password`, can never be held twice, even when many processes find the same dead holder.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { lockDirectory } from '../src/backup/publish.js';
import { breakStaleLock, formatHolder, parseHolder, processStartTime, takeLock } from '../src/host/file-lock.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'nlr-lock-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A pid that ran and is gone. */
function deadPid(): number {
  const run = spawnSync('sh', ['-c', 'echo $$']);
  return Number(run.stdout.toString().trim());
}

const busy = (h: { pid: number }) => Object.assign(new Error(`busy ${h.pid}`), { code: 'BUSY' });

test('a live holder keeps the lock; release removes only our own lock', () => {
  const path = join(dir, 'a.lock');
  const lock = takeLock(path, { purpose: 'test', busy });
  assert.equal(parseHolder(readFileSync(path, 'utf8'))?.pid, process.pid);
  assert.equal(parseHolder(readFileSync(path, 'utf8'))?.startTime, processStartTime(process.pid));
  // the same process is alive, so a second take is busy (a lock is not re-entrant)
  assert.throws(() => takeLock(path, { purpose: 'test', busy }), { code: 'BUSY' });
  // someone else's lock at the path is left alone by our release
  writeFileSync(path, formatHolder({ pid: 1, startTime: processStartTime(1), nonce: 'other', purpose: 'x' }));
  lock.release();
  assert.ok(existsSync(path), 'release did not remove a lock that is not ours');
  rmSync(path);
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.startsWith('a.lock')),
    [],
    'no unique or break files left behind',
  );
});

test('a dead holder (or a reused pid with another start time, or a pid-only lock of an older release) is taken over', () => {
  const path = join(dir, 'b.lock');
  for (const content of [
    `${deadPid()}\n`,
    formatHolder({ pid: deadPid(), startTime: '1', nonce: 'n', purpose: 'backup' }),
    formatHolder({ pid: process.pid, startTime: '1', nonce: 'n', purpose: 'backup' }),
  ]) {
    writeFileSync(path, content);
    const lock = takeLock(path, { purpose: 'test', busy });
    assert.equal(parseHolder(readFileSync(path, 'utf8'))?.nonce, lock.holder.nonce);
    lock.release();
    assert.equal(existsSync(path), false);
  }
});

test('item 5, the interleaving that let two hold it: B read the dead holder, A broke it and took the lock, then B breaks', () => {
  const path = join(dir, 'c.lock');
  const stale = formatHolder({ pid: deadPid(), startTime: '1', nonce: 'dead', purpose: 'backup' });
  writeFileSync(path, stale);
  const staleSeenByB = readFileSync(path, 'utf8');
  const a = takeLock(path, { purpose: 'A', busy });
  // B acts on what it read before A took over: A's fresh lock must survive (the old code deleted it)
  breakStaleLock(path, staleSeenByB);
  assert.equal(parseHolder(readFileSync(path, 'utf8'))?.nonce, a.holder.nonce, "A's lock is still there");
  assert.throws(() => takeLock(path, { purpose: 'B', busy }), { code: 'BUSY' });
  a.release();
});

test('item 5: twelve processes racing for a lock whose holder is dead: never two holders at once', async () => {
  const path = join(dir, 'race.lock');
  const marker = join(dir, 'race.held');
  for (let round = 0; round < 4; round++) {
    writeFileSync(path, formatHolder({ pid: deadPid(), startTime: '1', nonce: `stale${round}`, purpose: 'backup' }));
    const go = join(dir, `race.go${round}`);
    const children = Array.from({ length: 12 }, () =>
      spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/fixtures/scripts/lock-taker.ts'), path, marker, '150', go], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    // every taker has loaded and spins on the go file when it says so on stdout
    await Promise.all(children.map((c) => once(c.stdout!, 'data')));
    writeFileSync(go, '');
    const codes = await Promise.all(
      children.map(async (c) => {
        let err = '';
        c.stderr!.on('data', (d: Buffer) => (err += d.toString()));
        const [code] = (await once(c, 'exit')) as [number];
        assert.notEqual(code, 1, err);
        return code;
      }),
    );
    assert.equal(codes.filter((c) => c === 3).length, 0, `round ${round}: two processes held the lock at once (${codes.join(',')})`);
    assert.ok(codes.filter((c) => c === 0).length >= 1, `round ${round}: someone took the stale lock (${codes.join(',')})`);
    assert.equal(existsSync(path), false, 'the last holder released it');
  }
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.startsWith('race.') && !f.startsWith('race.go')),
    [],
    'no unique or break files left behind',
  );
});

test('the backup directory lock says who holds it', () => {
  const lock = lockDirectory(dir);
  try {
    assert.throws(
      () => lockDirectory(dir),
      (e: Error & { code?: string }) => e.code === 'E_BACKUP_LOCKED' && new RegExp(`another backup \\(pid ${process.pid}\\)`).test(e.message),
    );
  } finally {
    lock.release();
  }
});
