/** Checking that a port is free before a server is started on it, and finding free ports for tests. */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

export function portInUse(port: number, host: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE' || error.code === 'EACCES') resolve(true);
      else if (error.code === 'EADDRNOTAVAIL') reject(new Error(`the address ${host} does not exist on this machine`));
      else reject(error);
    });
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(false)));
  });
}

/**
 * A port free on `host` now, for test and benchmark servers: drawn at random below the kernel's
 * ephemeral range (/proc/sys/net/ipv4/ip_local_port_range, 32768-60999 by default), so that neither
 * client sockets' local ports nor other processes' port-0 binds take it, which matters to a test
 * that kills a server and starts it again on the same port. Where that range leaves no room, the
 * kernel picks (port 0). Never 6379.
 */
export async function freePort(host = '127.0.0.1', options: { clusterBus?: boolean } = {}): Promise<number> {
  const low = ephemeralLow();
  // a cluster node also listens on port + 10000 (its bus): both must be free, and below the range
  const top = options.clusterBus ? low - CLUSTER_BUS_OFFSET : low;
  if (top - 1 > PRIVATE_LOW + 1000) {
    for (let attempt = 0; attempt < 50; attempt++) {
      const port = PRIVATE_LOW + Math.floor(Math.random() * (top - PRIVATE_LOW));
      if (port === 6379) continue;
      if (await portInUse(port, host)) continue;
      if (options.clusterBus && (await portInUse(port + CLUSTER_BUS_OFFSET, host))) continue;
      return port;
    }
  }
  if (options.clusterBus) throw new Error(`no port P with P and P + ${CLUSTER_BUS_OFFSET} free below ${low}`);
  for (;;) {
    const port = await kernelPort(host);
    if (port !== 6379) return port;
  }
}

/**
 * `count` consecutive ports free on `host` now (each with its bus port too for cluster nodes), for a
 * test or benchmark topology whose nodes take ports counted up from one base.
 */
export async function freePortRange(count: number, host = '127.0.0.1', options: { clusterBus?: boolean } = {}): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const base = await freePort(host, options);
    let free = true;
    for (let i = 1; i < count && free; i++) {
      if (base + i === 6379 || (await portInUse(base + i, host))) free = false;
      else if (options.clusterBus && (await portInUse(base + i + CLUSTER_BUS_OFFSET, host))) free = false;
    }
    if (free && base + count - 1 < 65536 - (options.clusterBus ? CLUSTER_BUS_OFFSET : 0)) return base;
  }
  throw new Error(`no ${count} consecutive free ports found on ${host}`);
}

/** a cluster node's bus listens this far above its port */
const CLUSTER_BUS_OFFSET = 10000;

/** the lowest port freePort draws from */
const PRIVATE_LOW = 10000;

/** the first port of the kernel's ephemeral range */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(low)) return low;
  } catch {
    // not Linux, or no /proc: the usual default
  }
  return 32768;
}

function kernelPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port: 0, host }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
