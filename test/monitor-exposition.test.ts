/**
 * The exposition writer keeps one registry between scrapes: what a scrape lacks must not linger from
 * the one before (a label set, a whole family), and two writes at once must not mix their values.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ExpositionWriter, exposition } from '../src/monitor/exposition.js';
import { MetricSet } from '../src/monitor/metric-set.js';

const samples = (text: string) =>
  text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .sort();

describe('ExpositionWriter', () => {
  test('a label set or a family the next scrape lacks leaves the output; values are the new ones', async () => {
    const writer = new ExpositionWriter();
    const first = new MetricSet();
    first.gauge('redis_db_keys', 10, { db: 'db0' });
    first.gauge('redis_db_keys', 20, { db: 'db1' });
    first.gauge('redis_master_link_up', 1);
    first.counter('redis_commands_total', 5, { cmd: 'get' });
    assert.deepEqual(samples(await writer.write(first)), [
      'redis_commands_total{cmd="get"} 5',
      'redis_db_keys{db="db0"} 10',
      'redis_db_keys{db="db1"} 20',
      'redis_master_link_up 1',
    ]);
    const second = new MetricSet();
    second.gauge('redis_db_keys', 11, { db: 'db0' });
    second.counter('redis_commands_total', 7, { cmd: 'get' });
    const text = await writer.write(second);
    assert.deepEqual(samples(text), ['redis_commands_total{cmd="get"} 7', 'redis_db_keys{db="db0"} 11']);
    assert.doesNotMatch(text, /redis_master_link_up/);
    // the same text as a writer that never saw the first scrape
    assert.deepEqual(samples(text), samples(await exposition(second)));
  });

  test('a family whose kind or labels change is made anew', async () => {
    const writer = new ExpositionWriter();
    const first = new MetricSet();
    first.gauge('redis_x', 1, { a: '1' });
    await writer.write(first);
    const second = new MetricSet();
    second.counter('redis_x', 2);
    const text = await writer.write(second);
    assert.match(text, /^# TYPE redis_x counter$/m);
    assert.deepEqual(samples(text), ['redis_x 2']);
  });

  test('two writes at once each give their own scrape', async () => {
    const writer = new ExpositionWriter();
    const sets = [1, 2, 3].map((n) => {
      const set = new MetricSet();
      set.gauge('redis_up', n);
      set.gauge('redis_connected_clients', n * 10);
      return set;
    });
    const texts = await Promise.all(sets.map((s) => writer.write(s)));
    texts.forEach((text, i) => assert.deepEqual(samples(text), [`redis_connected_clients ${(i + 1) * 10}`, `redis_up ${i + 1}`]));
  });
});
