/**
 * Writing a manifest. Apart from manifest.ts (the schema that reading one checks against) so that
 * taking a backup does not load the schema library (its cost at a backup's start: docs/benchmarks.md).
 */
import { writeFileAtomic } from './publish.js';

export const MANIFEST_FORMAT = 1;

/**
 * Writes `manifest` (a `Manifest` from manifest.ts: the caller builds it typed) as indented JSON.
 * Typed by its format alone, so that this file needs nothing from manifest.ts (no import cycle).
 */
export function writeManifest(path: string, manifest: { format: typeof MANIFEST_FORMAT }): void {
  writeFileAtomic(path, `${JSON.stringify(manifest, null, 2)}\n`);
}
