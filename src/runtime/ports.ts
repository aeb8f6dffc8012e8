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
 * Ports this process has handed out, with their cluster bus ports: a port is free until the server
 * given it binds it, which for a topology's last Sentinel is seconds later, so tests that start
 * several topologies at once would otherwise draw the same port twice (replaying deploy-ha-live's six
 * concurrent trials' draws: 4 % of its runs). Never given back: a test process draws a few hundred.
 */
const handedOut = new Set<number>();

/**
 * A port free on `host` now, for test and benchmark servers: drawn at random below the kernel's
 * ephemeral range (/proc/sys/net/ipv4/ip_local_port_range, 32768-60999 by default), so that neither
 * client sockets' local ports nor other processes' port-0 binds take it, which matters to a test
 * that kills a server and starts it again on the same port. Where that range leaves no room, the
 * kernel picks (port 0). Never 6379, never a port (or bus port) this process handed out before.
 */
export async function freePort(host = '127.0.0.1', options: { clusterBus?: boolean } = {}): Promise<number> {
  return freePortRange(1, host, options);
}

/**
 * `count` consecutive ports free on `host` now (each with its bus port too for cluster nodes), for a
 * test or benchmark topology whose nodes take ports counted up from one base.
 */
export async function freePortRange(count: number, host = '127.0.0.1', options: { clusterBus?: boolean } = {}): Promise<number> {
  const bus = options.clusterBus ? CLUSTER_BUS_OFFSET : 0;
  const low = ephemeralLow();
  // a cluster node also listens on port + 10000 (its bus): both must be free, and below the range
  const top = low - bus - count + 1; // bases drawn below it: the last port (and bus port) is below low
  const roomBelow = top - 1 > PRIVATE_LOW + 1000;
  if (!roomBelow && bus) throw new Error(`no port P with P and P + ${bus} free below ${low}`);
  for (let attempt = 0; attempt < 100; attempt++) {
    // where the ephemeral range leaves no room below it, the kernel picks the base (port 0)
    const base = roomBelow ? PRIVATE_LOW + Math.floor(Math.random() * (top - PRIVATE_LOW)) : await kernelPort(host);
    // claimed before the first await, so that draws running at once never share a port
    const ports = claim(base, count, bus);
    if (!ports) continue;
    let free = false;
    try {
      free = base + count - 1 < 65536 && (await allFree(ports, host));
    } finally {
      if (!free) for (const port of ports) handedOut.delete(port);
    }
    if (free) return base;
  }
  throw new Error(`no ${count} consecutive free port(s)${bus ? ' (with their bus ports)' : ''} found on ${host}`);
}

/** The ports (and bus ports) from `base`, now handed out; undefined when one is 6379 or was handed out before. */
function claim(base: number, count: number, bus: number): number[] | undefined {
  const ports: number[] = [];
  for (let i = 0; i < count; i++) ports.push(base + i, ...(bus ? [base + i + bus] : []));
  if (ports.some((p) => p === 6379 || handedOut.has(p))) return undefined;
  for (const port of ports) handedOut.add(port);
  return ports;
}

async function allFree(ports: readonly number[], host: string): Promise<boolean> {
  for (const port of ports) if (await portInUse(port, host)) return false;
  return true;
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
