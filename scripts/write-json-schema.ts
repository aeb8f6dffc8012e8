/**
 * Writes schema/deployment.schema.json from the zod deployment schema.
 * Run: node --import tsx scripts/write-json-schema.ts [output path]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deploymentJsonSchemaText } from '../src/config/json-schema.js';

const out = resolve(process.argv[2] ?? fileURLToPath(new URL('../schema/deployment.schema.json', import.meta.url)));
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, deploymentJsonSchemaText());
process.stderr.write(`wrote ${out}\n`);
