/**
 * Every node of the watched topology, redis_exporter's multi-target way: one scraper per member (its
 * own connection and deadline), the live roles (what the Sentinels say, else what each node's INFO
 * says), the members learned from the live topology (a Sentinel's replicas, a master's replicas and a
 * replica's master in INFO replication), the Prometheus http_sd list, and the master of the moment
 * for /metrics. Only members are ever scraped: /scrape?target= names one of them or is refused.
 */
import type { Endpoint } from '../connect/url.js';
import { type NodeAddress } from '../connect/topology-target.js';
import { askSentinels } from '../discover/index.js';
import { RedisScraper, type ScrapeResult, type ScraperOptions } from './scrape.js';
import type { TopologySource } from './topology-source.js';

export type NodeRole = 'master' | 'replica' | 'sentinel';

export interface WatchedNode {
  address: string;
  host: string;
  port: number;
  name?: string;
  role: NodeRole;
  /** the master name (Sentinel), the shard's master address (Cluster), '' (one server) */
  shard: string;
}

/** A row of the dashboard's node table. */
export interface NodeRow {
  address: string;
  name?: string;
  role: NodeRole;
  shard: string;
  up: boolean | null;
  error?: string;
  usedMemory?: number;
  opsPerSecond?: number;
  /** a replica's master_link_status, or a Sentinel's master status */
  link?: string;
  lagBytes?: number;
}

interface Member {
  node: WatchedNode;
  scraper: RedisScraper;
  last?: ScrapeResult;
  inFlight?: Promise<ScrapeResult>;
  /** file order, then discovery order: /metrics of a cluster follows the first master */
  order: number;
}

export type TargetGroup = { targets: string[]; labels: Record<string, string> };

export class TopologyWatch {
  private readonly members = new Map<string, Member>();
  private sentinelMaster: string | undefined;
  private refreshed = 0;
  private refreshing: Promise<void> | undefined;

  constructor(
    readonly source: TopologySource,
    private readonly options: ScraperOptions,
  ) {
    // until a node's INFO says otherwise: one server is taken for a master, an unknown cluster seed for a replica
    for (const n of source.nodes) this.add(n, n.role ?? (source.kind === 'single' ? 'master' : 'replica'), n.name);
    for (const s of source.sentinels) this.add(s, 'sentinel', s.name);
  }

  get kind(): TopologySource['kind'] {
    return this.source.kind;
  }

  /** the member a `target` parameter names (host:port or redis://host:port), or why it is refused */
  lookup(target: string | null): WatchedNode | string {
    if (!target) return 'give ?target=host:port, one of the nodes /targets lists';
    const m = /^(?:redis:\/\/)?\[?([^\]@/]+?)\]?:(\d{1,5})\/?$/.exec(target.trim());
    if (!m) return `target "${target.slice(0, 100)}" is not host:port or redis://host:port (no user or password in it)`;
    const member = this.members.get(`${m[1]}:${Number(m[2])}`);
    if (!member) return `${m[1]}:${m[2]} is not a node of the watched topology (see /targets); this monitor scrapes nothing else`;
    return member.node;
  }

  /** one scrape of a member; concurrent requests share the scrape in progress */
  scrape(address: string): Promise<ScrapeResult> {
    const member = this.members.get(address);
    if (!member) return Promise.reject(new Error(`${address} is not a member`));
    member.inFlight ??= member.scraper.scrape().then((result) => {
      member.inFlight = undefined;
      member.last = result;
      return result;
    });
    return member.inFlight;
  }

  /** scrapes every member and asks the Sentinels, then updates the roles and learns new members */
  refresh(): Promise<void> {
    this.refreshing ??= this.refreshNow().finally(() => {
      this.refreshing = undefined;
      this.refreshed = Date.now();
    });
    return this.refreshing;
  }

  /** refreshes first when the last refresh is older than `maxAgeMs` */
  async fresh(maxAgeMs: number): Promise<void> {
    if (Date.now() - this.refreshed > maxAgeMs) await this.refresh();
  }

  private async refreshNow(): Promise<void> {
    const [view] = await Promise.all([
      this.source.sentinelTarget ? askSentinels(this.source.sentinelTarget).catch(() => undefined) : Promise.resolve(undefined),
      ...[...this.members.keys()].map((a) => this.scrape(a)),
    ]);
    if (view) {
      this.sentinelMaster = key(view.master);
      this.add(view.master, 'master');
      for (const r of view.replicas) this.add(r.address, 'replica');
    }
    for (const member of [...this.members.values()]) this.learn(member);
    const shard = this.source.masterName ?? '';
    for (const member of this.members.values()) {
      const node = member.node;
      if (node.role === 'sentinel') node.shard = shard;
      else if (this.sentinelMaster !== undefined) node.role = node.address === this.sentinelMaster ? 'master' : 'replica';
      if (node.role !== 'sentinel' && this.kind !== 'cluster') node.shard = shard;
    }
  }

  /** a data node's role, its shard and its peers, from its last INFO */
  private learn(member: Member): void {
    const fields = member.last?.error === undefined ? member.last?.info?.fields : undefined;
    if (!fields || member.node.role === 'sentinel') return;
    const role = fields.get('role');
    if (role === 'master') {
      member.node.role = 'master';
      member.node.shard = this.kind === 'cluster' ? member.node.address : member.node.shard;
      for (const [k, v] of fields) {
        if (!/^slave\d+$/.test(k)) continue;
        const peer = new Map(v.split(',').map((p) => p.split('=') as [string, string]));
        const port = Number(peer.get('port'));
        if (peer.get('ip') && port > 0) this.add({ host: peer.get('ip')!, port }, 'replica');
      }
    } else if (role === 'slave') {
      member.node.role = 'replica';
      const master = { host: fields.get('master_host') ?? '', port: Number(fields.get('master_port')) };
      if (master.host && master.port > 0) {
        if (this.kind === 'cluster') member.node.shard = key(master);
        this.add(master, 'master');
      }
    }
  }

  private add(address: NodeAddress, role: NodeRole, name?: string): void {
    const at = key(address);
    if (this.members.has(at)) return;
    if (this.kind === 'single' && this.members.size > 0) return;
    const sentinel = role === 'sentinel';
    const endpoint = sentinel ? this.source.sentinelEndpoint(address) : this.source.dataEndpoint(address);
    const scraper = new RedisScraper(endpoint, { ...this.options, extra: undefined, sentinel });
    const shard = this.kind === 'cluster' ? (role === 'master' ? at : '') : (this.source.masterName ?? '');
    const node: WatchedNode = { address: at, host: address.host, port: address.port, role, shard, ...(name ? { name } : {}) };
    this.members.set(at, { node, scraper, order: this.members.size });
  }

  nodes(): WatchedNode[] {
    return [...this.members.values()].sort((a, b) => a.order - b.order).map((m) => ({ ...m.node }));
  }

  /** Prometheus http_sd: one group per node, labelled with its role and shard */
  targets(): TargetGroup[] {
    return this.nodes().map((n) => ({ targets: [n.address], labels: { role: n.role, shard: n.shard, ...(n.name ? { node: n.name } : {}) } }));
  }

  /** the server /metrics scrapes: the Sentinels' master, else the first node that says it is a master */
  masterEndpoint(): Endpoint {
    const ordered = [...this.members.values()].sort((a, b) => a.order - b.order).filter((m) => m.node.role !== 'sentinel');
    const master =
      (this.sentinelMaster !== undefined ? this.members.get(this.sentinelMaster) : undefined) ??
      ordered.find((m) => m.node.role === 'master' && m.last?.error === undefined) ??
      ordered.find((m) => m.node.role === 'master') ??
      ordered[0];
    if (!master) return this.source.dataEndpoint(this.source.sentinels[0] ?? { host: '127.0.0.1', port: 6379 });
    return this.source.dataEndpoint(master.node);
  }

  rows(): NodeRow[] {
    const sorted = [...this.members.values()].sort((a, b) => a.order - b.order);
    const offsets = new Map(
      sorted.filter((m) => m.node.role === 'master').map((m) => [m.node.address, Number(m.last?.info?.fields.get('master_repl_offset') ?? NaN)]),
    );
    return sorted.map((m) => row(m, offsets));
  }

  async close(): Promise<void> {
    await Promise.all(
      [...this.members.values()].map(async (m) => {
        await m.inFlight?.catch(() => undefined);
        await m.scraper.close();
      }),
    );
  }
}

function key(address: NodeAddress): string {
  return `${address.host}:${address.port}`;
}

function row(m: Member, offsets: ReadonlyMap<string, number>): NodeRow {
  const { node, last } = m;
  const out: NodeRow = {
    address: node.address,
    role: node.role,
    shard: node.shard,
    up: last ? last.error === undefined : null,
    ...(node.name ? { name: node.name } : {}),
  };
  if (last?.error !== undefined) out.error = last.error;
  const f = last?.error === undefined ? last?.info?.fields : undefined;
  if (!f) return out;
  const num = (k: string): number | undefined => (f.has(k) ? Number(f.get(k)) : undefined);
  out.usedMemory = num('used_memory');
  out.opsPerSecond = num('instantaneous_ops_per_sec');
  if (node.role === 'sentinel') {
    const master = [...f.entries()].find(([k]) => /^master\d+$/.test(k))?.[1];
    out.link = /status=(\w+)/.exec(master ?? '')?.[1] ?? 'no master';
  } else if (f.get('role') === 'slave') {
    out.link = f.get('master_link_status');
    const masterOffset = offsets.get(`${f.get('master_host')}:${f.get('master_port')}`);
    const offset = num('slave_repl_offset');
    if (masterOffset !== undefined && Number.isFinite(masterOffset) && offset !== undefined) out.lagBytes = Math.max(0, masterOffset - offset);
  }
  return out;
}
