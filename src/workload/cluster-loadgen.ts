/**
 * `loadgen --cluster`: the same workload written to a Redis Cluster, each command to the master that
 * owns its key's hash slot (the slot map asked from a seed, with a deadline), one resp/ pipeline per
 * master. Every command of the workload touches one key (SET, ZADD, SADD, XADD, HSET, DEL, RPUSH), so
 * nothing is split and no hash tag is needed: the model's key scheme stays as NeuralLog writes it.
 *
 * A MOVED reply (the slot has another owner now) sends the command again to the node it names and
 * asks the cluster for a fresh slot map before the next round; an ASK reply (the slot is migrating)
 * sends ASKING and the command to the node it names, without changing the map. Both are counted.
 */
import { endpointOf, type NodeAddress } from '../connect/topology-target.js';
import { askCluster, type ClusterShard } from '../discover/index.js';
import { keySlot, slotOwners } from '../connect/hash-slot.js';
import { NeuralLogRedisError } from '../errors.js';
import { openPipeline, type RespPipeline } from '../resp/index.js';
import { emptyTally, logCommands, workloadSteps, type WorkloadTally } from './commands.js';
import { DEFAULT_BATCH_SIZE, loadgenResult, REPLY_TIMEOUT_MS, writeError, type LoadgenOptions, type LoadgenResult } from './loadgen.js';

/** how often one command may be redirected before the load fails (a cluster that keeps moving) */
const MAX_REDIRECTS = 5;

export interface ClusterLoadgenResult extends LoadgenResult {
  /** per master that received commands: its address and how many */
  masters: Array<{ node: string; commands: number }>;
  moved: number;
  ask: number;
  /** slot maps asked after a MOVED */
  mapRefreshes: number;
}

export interface ClusterLoadgenOptions extends LoadgenOptions {
  /** tests: start from this slot map instead of asking (a stale map, to see MOVED handled) */
  initialShards?: ClusterShard[];
}

interface Tag {
  args: string[];
  redirects: number;
}

/** The connections to the masters, by "host:port", and where each slot goes. */
class Router {
  readonly pipes = new Map<string, RespPipeline<Tag | undefined>>();
  readonly sent = new Map<string, number>();
  owners: Int16Array = new Int16Array(0);
  nodes: string[] = [];
  readonly redo: Array<{ tag: Tag; node: string; ask: boolean }> = [];
  moved = 0;
  ask = 0;
  refreshes = 0;
  stale = false;
  replyError: string | undefined;

  constructor(
    private readonly credentials: { username?: string; password?: string },
    private readonly connectTimeoutMs: number | undefined,
  ) {}

  plan(shards: ClusterShard[]): void {
    this.nodes = shards.map((s) => `${s.master.host}:${s.master.port}`);
    this.owners = slotOwners(shards.map((s) => s.slots));
  }

  async open(node: string): Promise<RespPipeline<Tag | undefined>> {
    const existing = this.pipes.get(node);
    if (existing) return existing;
    const at = node.lastIndexOf(':');
    const address: NodeAddress = { host: node.slice(0, at), port: Number(node.slice(at + 1)) };
    const pipe = await openPipeline<Tag | undefined>(endpointOf(address, this.credentials), {
      connectTimeoutMs: this.connectTimeoutMs,
      stallTimeoutMs: REPLY_TIMEOUT_MS,
    });
    pipe.onReply = (tag, _type, _n, error) => this.#reply(tag, error);
    this.pipes.set(node, pipe);
    return pipe;
  }

  #reply(tag: Tag | undefined, error: string | undefined): void {
    if (error === undefined || tag === undefined) return;
    const redirect = /^(MOVED|ASK) \d+ (\S+)$/.exec(error);
    if (!redirect) {
      this.replyError ??= error;
      return;
    }
    const ask = redirect[1] === 'ASK';
    if (ask) this.ask++;
    else [this.moved, this.stale] = [this.moved + 1, true];
    if (++tag.redirects > MAX_REDIRECTS) this.replyError ??= `${error} (redirected ${MAX_REDIRECTS} times: the cluster keeps moving this slot)`;
    else this.redo.push({ tag, node: redirect[2]!, ask });
  }

  /** Sends to the slot's owner when its connection is open (the hot path: no await); false if not. */
  trySend(tag: Tag): boolean {
    const target = this.nodes[this.owners[keySlot(tag.args[1]!)]!];
    const pipe = target === undefined ? undefined : this.pipes.get(target);
    if (!pipe) return false;
    pipe.send(tag.args, tag);
    this.sent.set(target!, (this.sent.get(target!) ?? 0) + 1);
    return true;
  }

  async send(tag: Tag, node?: string, ask = false): Promise<void> {
    const target = node ?? this.nodes[this.owners[keySlot(tag.args[1]!)]!];
    if (target === undefined) throw new NeuralLogRedisError('E_CLUSTER_NOT_READY', `no master serves the slot of ${tag.args[1]}; wait for cluster_state:ok`);
    const pipe = await this.open(target);
    if (ask) pipe.send(['ASKING'], undefined);
    pipe.send(tag.args, tag);
    this.sent.set(target, (this.sent.get(target) ?? 0) + 1);
  }

  get inFlight(): number {
    let n = 0;
    for (const pipe of this.pipes.values()) n += pipe.inFlight;
    return n;
  }

  /** Waits until each pipeline has at most `max` unanswered commands. */
  async settle(max: number): Promise<void> {
    for (const pipe of this.pipes.values()) await pipe.settle(max);
    if (this.replyError) throw new Error(this.replyError);
  }

  async close(): Promise<void> {
    await Promise.all([...this.pipes.values()].map((p) => p.close()));
  }
}

export async function loadgenCluster(
  seeds: readonly NodeAddress[],
  credentials: { username?: string; password?: string },
  options: ClusterLoadgenOptions,
): Promise<ClusterLoadgenResult> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, not ${batchSize}`);
  const router = new Router(credentials, options.connectTimeoutMs);
  const refresh = async () => router.plan(await askCluster(seeds, credentials));
  if (options.initialShards) router.plan(options.initialShards);
  else await refresh();
  const tally = emptyTally();
  try {
    return await run(router, refresh, options, batchSize, tally);
  } catch (error) {
    throw writeError(error, tally.logs);
  } finally {
    await router.close();
  }
}

async function run(
  router: Router,
  refresh: () => Promise<void>,
  options: ClusterLoadgenOptions,
  batchSize: number,
  tally: WorkloadTally,
): Promise<ClusterLoadgenResult> {
  const started = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
  const window = 2 * batchSize;
  /** settles, then sends the redirected commands again until none is left */
  const settle = async (max: number) => {
    await router.settle(max);
    while (router.redo.length > 0) {
      if (router.stale) {
        router.stale = false;
        router.refreshes++;
        await refresh();
      }
      for (const { tag, node, ask } of router.redo.splice(0)) await router.send(tag, node, ask);
      await router.settle(0);
    }
    options.onProgress?.({ logs: tally.logs, totalLogs: options.logs, commands: tally.commands, seconds: elapsed() });
  };
  for (const step of workloadSteps(options, tally)) {
    for (const args of step.kind === 'log' ? logCommands(step) : step.commands) {
      const tag = { args, redirects: 0 };
      if (!router.trySend(tag)) await router.send(tag);
    }
    if (router.inFlight >= window) await settle(batchSize);
  }
  await settle(0);
  return {
    ...loadgenResult(tally, elapsed()),
    masters: [...router.sent].map(([node, commands]) => ({ node, commands })),
    moved: router.moved,
    ask: router.ask,
    mapRefreshes: router.refreshes,
  };
}
