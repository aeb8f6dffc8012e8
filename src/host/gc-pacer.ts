/**
 * Keeping a streaming process's memory flat. Node allocates a new buffer for every read from a
 * socket, pipe or file, and V8 frees a dead buffer's memory only when it next collects garbage. A
 * stream that makes little other garbage (a parser that keeps no objects) collects rarely: the dead
 * buffers of a 500 MB stream then pile up by tens of MB before V8 notices them, and V8's catch-up
 * collections are full ones. Asking for a young-generation collection every few MiB of stream frees
 * them while they are still young, for a fraction of a millisecond each (docs/benchmarks.md).
 *
 * V8 only offers an explicit collection to code started with --expose-gc; the flag is turned on here,
 * once, at the first use. Where that fails, pacing is a no-op.
 */
import { createRequire } from 'node:module';

type GcFunction = (options?: { type?: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void;

let collect: GcFunction | null | undefined;

function gcFunction(): GcFunction | null {
  if (collect !== undefined) return collect;
  try {
    const existing = (globalThis as { gc?: GcFunction }).gc;
    if (existing) return (collect = existing);
    // node:v8 costs ~11 ms to load: only where the process was not started with --expose-gc
    const require = createRequire(import.meta.url);
    (require('node:v8') as typeof import('node:v8')).setFlagsFromString('--expose-gc');
    collect = ((require('node:vm') as typeof import('node:vm')).runInNewContext('gc') as GcFunction | undefined) ?? null;
  } catch {
    collect = null;
  }
  return collect;
}

/** Counts stream bytes and collects young garbage every `everyBytes` (default 2 MiB). */
export class GcPacer {
  private sinceLast = 0;
  constructor(private readonly everyBytes = 2 << 20) {}

  passed(bytes: number): void {
    this.sinceLast += bytes;
    if (this.sinceLast < this.everyBytes) return;
    this.sinceLast = 0;
    gcFunction()?.({ type: 'minor' });
  }
}
