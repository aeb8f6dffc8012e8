// Bundles the compiled CLI (dist/cli/main.js, from tsc) and its npm dependencies into dist/bundle/,
// which bin/neurallog-redis runs. Why: without a bundler node loads every module a package exports;
// `zod` alone is ~90 modules (50 locales) and 55 ms of compile time before `backups verify` can start.
// The bundle keeps what is used; each command's code stays in its own chunk, loaded when the command
// runs (the CLI's lazy imports become chunk imports). Measured in docs/benchmarks.md ("CLI start").
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist/bundle`;
rmSync(outdir, { recursive: true, force: true });
await build({
  // early-digest: what bin/neurallog-redis starts before main loads (a restore's SHA-256); as an entry
  // point of the same split build, it shares its chunk, and so its state, with main's restore
  entryPoints: [`${root}dist/cli/main.js`, `${root}dist/cli/early-digest.js`],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
  // node-redis's core (@redis/client) is CommonJS: bundled, its require() of node built-ins needs a
  // real `require` in each ESM chunk. Bundled, the client loads as one file instead of ~1,500
  // modules (one per command), the largest part of every connecting command's start.
  banner: { js: "import { createRequire as __nlrCreateRequire } from 'node:module'; const require = __nlrCreateRequire(import.meta.url);" },
  // commander and yaml stay in node_modules and load as they did.
  external: ['commander', 'yaml'],
  // @commander-js/extra-typings gives commander's classes their inferred option types; at run time
  // it is those same classes re-exported (one more CommonJS module to load), so the bundle imports
  // commander itself
  alias: { '@commander-js/extra-typings': 'commander' },
});
