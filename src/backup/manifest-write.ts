/**
 * Writing a manifest. Apart from manifest.ts (the schema that reading one checks against) so that
 * taking a backup does not load the schema library (15 MB and 60 ms of a backup's start, measured
 * before the CLI was bundled; docs/benchmarks.md).
 */
import type { Manifest } from './manifest.js';
import { writeFileAtomic } from './publish.js';

export const MANIFEST_FORMAT = 1;

export function writeManifest(path: string, manifest: Manifest): void {
  writeFileAtomic(path, `${JSON.stringify(manifest, null, 2)}\n`);
}
