/**
 * The JSON Schema of a deployment model file, for editors (`# yaml-language-server: $schema=...`) and
 * other tools. Generated from the zod schema so the two cannot drift; the committed copy lives in
 * schema/deployment.schema.json (regenerate with `node --import tsx scripts/write-json-schema.ts`).
 *
 * It describes the *input* side: sizes may be strings (`256mb`, `640Mi`). A model file is a profile
 * plus overrides merged key by key, so no field of a merged object is required; items of arrays
 * (which replace the profile's array whole) keep their required fields.
 */
import { z } from 'zod';
import { deploymentSchema } from './schema.js';

export const DEPLOYMENT_SCHEMA_ID = 'urn:neurallog-redis:schema:deployment';

type JsonObject = { [key: string]: unknown };
const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Drops `required` from every object schema reached without passing through `items` (merged objects). */
function optionalOverrides(node: unknown, inArrayItem: boolean): unknown {
  if (Array.isArray(node)) return node.map((n) => optionalOverrides(n, inArrayItem));
  if (!isObject(node)) return node;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'required' && Array.isArray(value) && !inArrayItem) continue;
    out[key] = optionalOverrides(value, inArrayItem || key === 'items' || key === 'prefixItems');
  }
  return out;
}

export function deploymentJsonSchema(): JsonObject {
  const generated = z.toJSONSchema(deploymentSchema, { io: 'input' }) as JsonObject;
  const { $schema, ...rest } = optionalOverrides(generated, false) as JsonObject;
  return {
    $schema,
    $id: DEPLOYMENT_SCHEMA_ID,
    title: 'neurallog-redis deployment',
    description:
      'A NeuralLog Redis deployment model: a profile ("neurallog" by default, or "guide") plus overrides, merged key by key ' +
      '(arrays replace the profile value). Redis sizes take Redis notation (`256mb`: 1mb = 2^20, 1m = 10^6); container ' +
      'sizes take Kubernetes quantities (`640Mi`, CPU `100m`).',
    ...rest,
  };
}

/** The schema as committed: two-space indentation and a trailing newline. */
export function deploymentJsonSchemaText(): string {
  return `${JSON.stringify(deploymentJsonSchema(), null, 2)}\n`;
}
