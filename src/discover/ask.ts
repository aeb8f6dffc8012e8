/**
 * One question to one node of a topology: connect (as the given user), ask, close, the whole within
 * a deadline. Through resp/'s request/reply client, not node-redis: these lookups start `backup
 * --cluster`, `status` and `doctor` of a topology, and loading node-redis cost the CLI 0.15-0.35 s
 * of start (docs/benchmarks.md).
 */
import { formatRedisUrl } from '../connect/url.js';
import { endpointOf, withDeadline, type Credentials, type NodeAddress } from '../connect/topology-target.js';
import { ConnectionError } from '../errors.js';
import { RespClient } from '../resp/client.js';

/** how long one Sentinel or seed node may take to connect and answer */
export const ASK_MS = 5000;

/** Connects to `address`, runs `ask`, closes; the whole within ASK_MS. */
export async function askNode<T>(address: NodeAddress, credentials: Credentials, ask: (client: RespClient) => Promise<T>): Promise<T> {
  const endpoint = endpointOf(address, credentials);
  const client = await RespClient.open(endpoint, { connectTimeoutMs: ASK_MS, commandTimeoutMs: ASK_MS });
  try {
    return await withDeadline(ask(client), ASK_MS, formatRedisUrl({ ...endpoint, password: undefined }));
  } finally {
    client.destroy();
  }
}

/** A node that answered and refused us (credentials, rights): asking the next would fail alike. */
export function isRefusal(error: unknown): boolean {
  return error instanceof ConnectionError && ['E_AUTH', 'E_NOPERM', 'E_DENIED'].includes(error.code);
}
