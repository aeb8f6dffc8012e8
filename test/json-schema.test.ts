import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DEPLOYMENT_SCHEMA_ID, deploymentJsonSchema, deploymentJsonSchemaText } from '../src/config/json-schema.js';
import { EVICTION_POLICIES, PROFILES } from '../src/config/schema.js';

const COMMITTED = fileURLToPath(new URL('../schema/deployment.schema.json', import.meta.url));
const REGENERATE = 'node --import tsx scripts/write-json-schema.ts';

type Json = Record<string, any>;

describe('deployment JSON Schema', () => {
  test('the committed schema/deployment.schema.json is the generated one', () => {
    let committed = '';
    try {
      committed = readFileSync(COMMITTED, 'utf8');
    } catch {
      assert.fail(`schema/deployment.schema.json is missing; generate it with \`${REGENERATE}\` and commit it`);
    }
    assert.ok(
      committed === deploymentJsonSchemaText(),
      `schema/deployment.schema.json differs from the zod deployment schema; regenerate it with \`${REGENERATE}\` and commit it`,
    );
  });

  test('generation is deterministic, pretty and ends with a newline', () => {
    const text = deploymentJsonSchemaText();
    assert.equal(deploymentJsonSchemaText(), text);
    assert.ok(text.endsWith('}\n'));
    assert.ok(text.startsWith('{\n  "$schema": '));
    assert.deepEqual(JSON.parse(text), deploymentJsonSchema());
  });

  test('identity, title and draft', () => {
    const schema = deploymentJsonSchema();
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.equal(schema.$id, DEPLOYMENT_SCHEMA_ID);
    assert.equal(typeof schema.title, 'string');
    assert.equal(typeof schema.description, 'string');
    assert.deepEqual(Object.keys(schema).slice(0, 4), ['$schema', '$id', 'title', 'description']);
  });

  test('describes the input side: sizes may be strings, enums list their values', () => {
    const props = (deploymentJsonSchema() as Json).properties;
    assert.deepEqual(props.profile.enum, [...PROFILES]);
    assert.deepEqual(props.memory.properties.maxmemoryPolicy.enum, [...EVICTION_POLICIES]);
    const maxmemory = props.memory.properties.maxmemory;
    assert.deepEqual(
      maxmemory.anyOf.map((s: Json) => s.type),
      ['integer', 'string'],
    );
    assert.match(maxmemory.description, /256mb/);
    assert.deepEqual(
      props.container.properties.memoryLimit.anyOf.map((s: Json) => s.type),
      ['integer', 'string'],
    );
  });

  test('a model file is overrides: merged objects require nothing, unknown fields are refused', () => {
    const schema = deploymentJsonSchema() as Json;
    assert.equal(schema.required, undefined);
    assert.equal(schema.additionalProperties, false);
    for (const section of ['server', 'memory', 'persistence', 'advanced', 'container']) {
      assert.equal(schema.properties[section].required, undefined, section);
      assert.equal(schema.properties[section].additionalProperties, false, section);
    }
    assert.equal(schema.properties.advanced.properties.clientOutputBufferLimit.properties.replica.required, undefined);
  });

  test('array items (which replace the profile array whole) keep their required fields', () => {
    const props = (deploymentJsonSchema() as Json).properties;
    assert.deepEqual(props.persistence.properties.save.items.required, ['seconds', 'changes']);
    assert.deepEqual(props.security.properties.users.items.required, ['name', 'enabled', 'nopass', 'keys', 'channels', 'commands']);
    assert.deepEqual(props.extraDirectives.items.required, ['name', 'args']);
  });
});
