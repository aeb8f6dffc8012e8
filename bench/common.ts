/**
 * What the benchmarks share: a bare redis-server on a free port in a directory (no persistence,
 * noeviction, DEBUG allowed, no ACL: benchmarks measure throughput, not security), and the loadgen
 * workload written as a RESP file for `redis-cli --pipe`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { closeConnection, openConnection } from '../src/connect/index.js';
import { freePort } from '../src/runtime/index.js';
import { commands, type WorkloadOptions } from '../src/workload/index.js';

export { freePort };

export async function startBenchRedis(dir: string, name = 'redis', extraArgs: string[] = []): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--maxmemory-policy',
      'noeviction',
      '--dir',
      dir,
      '--enable-debug-command',
      'local',
      '--logfile',
      join(dir, `${name}.log`),
      ...extraArgs,
    ],
    { stdio: 'ignore' },
  );
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const client = await openConnection({ host: '127.0.0.1', port, tls: false, db: 0 });
      await client.ping();
      await closeConnection(client);
      return { port, child };
    } catch (error) {
      if (Date.now() > deadline || child.exitCode !== null) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** Writes the workload's commands as RESP, streamed (constant memory). Returns the number of commands. */
export async function writeWorkloadResp(path: string, workload: WorkloadOptions): Promise<number> {
  const out = createWriteStream(path);
  let chunk = '';
  let count = 0;
  for (const args of commands(workload)) {
    chunk += `*${args.length}\r\n`;
    for (const arg of args) chunk += `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`;
    count++;
    if (chunk.length > 1 << 16) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
  return count;
}
