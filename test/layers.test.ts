/**
 * Layers point one way: docs/architecture.md's module table says, per folder of src/, which other
 * folders it may import. This test reads that column and every import in src/ (type-only and dynamic
 * ones included) and fails on an import the table does not allow, on a folder the table does not
 * list, and on any import cycle between files (ESLint's import-x/no-cycle skips type-only imports).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');

/** folder (or `errors.ts`) -> the folders it may import; `null` for "everything" */
function allowedImports(): Map<string, Set<string> | null> {
  const doc = readFileSync(join(root, 'docs/architecture.md'), 'utf8');
  const table = doc.slice(doc.indexOf('| folder | owns | may import |'));
  const allowed = new Map<string, Set<string> | null>();
  for (const line of table.split('\n').slice(2)) {
    if (!line.startsWith('|')) break;
    const cells = line.split(' | ');
    const folder = /^\| `([a-z-]+)(?:\/|\.ts)`$/.exec(cells[0]!.trim())?.[1];
    assert.ok(folder, `docs/architecture.md: a table row names no folder: ${line.slice(0, 60)}`);
    const column = cells
      .at(-1)!
      .replace(/\|\s*$/, '')
      .trim();
    allowed.set(folder, column === 'everything' ? null : new Set([...column.matchAll(/`([a-z-]+)`/g)].map((m) => m[1]!)));
  }
  return allowed;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** the files of src/ a file imports (static, type-only, re-exports and dynamic), as absolute .ts paths */
function localImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^import\s+)'(\.{1,2}\/[^']+)'/gm)].map((m) => m[1]!);
  return specifiers.map((s) => resolve(dirname(file), s).replace(/\.js$/, '.ts'));
}

/** `errors` for src/errors.ts, else the first folder under src/ */
function layerOf(file: string): string {
  const first = relative(src, file).split('/')[0]!;
  return first.replace(/\.ts$/, '');
}

const files = sourceFiles(src);
const graph = new Map(files.map((file) => [file, localImports(file)]));

test('every folder of src/ has a row in docs/architecture.md', () => {
  const allowed = allowedImports();
  const layers = [...new Set(files.map(layerOf))].sort();
  assert.deepEqual(
    layers.filter((layer) => !allowed.has(layer)),
    [],
  );
});

test('every import in src/ is one the "may import" column allows', () => {
  const allowed = allowedImports();
  const wrong: string[] = [];
  for (const [file, imports] of graph) {
    const from = layerOf(file);
    const may = allowed.get(from);
    if (may === null) continue;
    for (const target of imports) {
      const to = layerOf(target);
      if (to !== from && !may?.has(to))
        wrong.push(`${relative(root, file)} imports ${relative(root, target)} (${from}/ may import: ${[...(may ?? [])].join(', ') || 'nothing'})`);
    }
  }
  assert.deepEqual(wrong, []);
});

test('every local import resolves to a file of src/', () => {
  const known = new Set(files);
  const missing = [...graph].flatMap(([file, imports]) =>
    imports.filter((target) => !known.has(target)).map((target) => `${relative(root, file)} -> ${relative(root, target)}`),
  );
  assert.deepEqual(missing, []);
});

test('no import cycle between files of src/, type-only imports included', () => {
  // Tarjan's strongly connected components: a component of more than one file is a cycle
  let index = 0;
  const order = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (file: string): void => {
    order.set(file, index);
    low.set(file, index++);
    stack.push(file);
    onStack.add(file);
    for (const next of graph.get(file) ?? []) {
      if (!graph.has(next)) continue;
      if (!order.has(next)) {
        visit(next);
        low.set(file, Math.min(low.get(file)!, low.get(next)!));
      } else if (onStack.has(next)) low.set(file, Math.min(low.get(file)!, order.get(next)!));
    }
    if (low.get(file) !== order.get(file)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(relative(root, member));
    } while (member !== file);
    if (component.length > 1 || (graph.get(file) ?? []).includes(file)) cycles.push(component.sort());
  };
  for (const file of graph.keys()) if (!order.has(file)) visit(file);
  assert.deepEqual(cycles, []);
});
