/**
 * `backup --every` as a library: backup/schedule.ts runs a job at an interval until its signal aborts,
 * goes on after a failed run, and leaves no abort listener behind.
 */
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { test } from 'node:test';
import { runEvery, waitOrAbort } from '../src/backup/schedule.js';

test('runs at the interval until aborted, going on after a failure; the last run decides', async () => {
  const controller = new AbortController();
  const failures: string[] = [];
  let runs = 0;
  const lastOk = await runEvery({
    intervalMs: 5,
    signal: controller.signal,
    run: async () => {
      runs++;
      if (runs === 2) throw new Error('second run fails');
      if (runs === 4) {
        controller.abort();
        throw new Error('aborted while running');
      }
    },
    onFailure: (error) => failures.push((error as Error).message),
  });
  assert.equal(runs, 4);
  assert.deepEqual(failures, ['second run fails'], 'a failure caused by the abort is not reported');
  assert.equal(lastOk, true, 'the run aborted does not count: the third succeeded');
  assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
});

test('a failed last run makes the schedule end false', async () => {
  const controller = new AbortController();
  let runs = 0;
  const lastOk = await runEvery({
    intervalMs: 60_000,
    signal: controller.signal,
    run: async () => {
      runs++;
      setImmediate(() => controller.abort());
      throw new Error('down');
    },
    onFailure: () => undefined,
  });
  assert.equal(runs, 1, 'the abort ends the wait at once');
  assert.equal(lastOk, false);
});

test('waitOrAbort resolves at once on an aborted signal', async () => {
  const started = Date.now();
  await waitOrAbort(60_000, AbortSignal.abort());
  assert.ok(Date.now() - started < 1000);
});
