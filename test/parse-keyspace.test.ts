/** connect/client.ts parseKeyspace: the one reader of INFO keyspace's `dbN:keys=...` lines. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseInfo, parseKeyspace } from '../src/connect/index.js';

test('parseKeyspace: database number -> keys, in INFO order, other fields ignored', () => {
  const info = parseInfo('# Keyspace\r\ndb0:keys=12,expires=3,avg_ttl=0\r\ndb15:keys=1,expires=0,avg_ttl=0,subexpiry=0\r\nused_memory:100\r\n');
  assert.deepEqual(
    [...parseKeyspace(info)],
    [
      [0, 12],
      [15, 1],
    ],
  );
});

test('parseKeyspace: no dbN lines is an empty map; a line without keys= counts 0', () => {
  assert.equal(parseKeyspace(parseInfo('# Keyspace\r\n')).size, 0);
  assert.deepEqual([...parseKeyspace({ db2: 'expires=1' })], [[2, 0]]);
  assert.deepEqual([...parseKeyspace({ db3: 'subkeys=9,keys=4' })], [[3, 4]]);
});
