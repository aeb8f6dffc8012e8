/**
 * The dashboard: a page at `/` that polls `/api/state` and draws the last hour with uPlot (served from
 * the installed package, no CDN). The monitor polls the server itself every few seconds so the charts
 * fill without Prometheus. Only counters, settings, command names and timings reach the page, never a
 * key or a value.
 */
import { readFileSync } from 'node:fs';
import { setInterval } from 'node:timers/promises';
import { createRequire } from 'node:module';
import type { ServerResponse } from 'node:http';
import type { Route } from './http-server.js';
import { History, stateFrom, type Point, type ServerState } from './history.js';
import type { LatencyEvent, ScrapeResult, SlowEntry } from './scrape.js';
import { DASHBOARD_HTML, DASHBOARD_JS } from './dashboard-page.js';
import type { FamilyFigures } from './family-sampler.js';
import type { NodeRow } from './topology-watch.js';

export interface BackupSummary {
  newest?: { file: string; takenAt: string; ageSeconds: number; storedBytes: number; verified: boolean; problem?: string };
  count: number;
  dir: string;
}

export interface DashboardState {
  target: string;
  pollSeconds: number;
  server: ServerState;
  history: readonly Point[];
  slowlog: SlowEntry[];
  latency: LatencyEvent[];
  backups?: BackupSummary;
  families?: FamilyFigures;
  /** every node of a topology (absent for one server) */
  nodes?: NodeRow[];
  scrapedAt: number;
}

export class Dashboard {
  readonly history: History;
  private last: ScrapeResult | undefined;

  constructor(
    private readonly target: string | (() => string),
    readonly pollSeconds: number,
    private readonly backups?: () => BackupSummary | undefined,
    private readonly families?: () => FamilyFigures,
    private readonly nodes?: () => NodeRow[],
  ) {
    this.history = new History(Math.ceil(3600 / pollSeconds));
  }

  /** every scrape, whoever asked for it, feeds the charts */
  record(result: ScrapeResult): void {
    this.last = result;
    if (result.info && result.error === undefined) this.history.add(result.info.fields, result.at);
    else this.history.gap();
  }

  state(): DashboardState {
    const last = this.last;
    return {
      target: typeof this.target === 'function' ? this.target() : this.target,
      pollSeconds: this.pollSeconds,
      server: stateFrom(last?.info?.fields ?? new Map(), last?.error ?? (last ? undefined : 'not scraped yet')),
      history: this.history.all(),
      slowlog: last?.slowlog ?? [],
      latency: last?.latency ?? [],
      backups: this.backups?.(),
      families: this.families?.(),
      ...(this.nodes ? { nodes: this.nodes() } : {}),
      scrapedAt: last?.at ?? 0,
    };
  }

  routes(): Record<string, Route> {
    const uplot = uplotFiles();
    const send = (response: ServerResponse, type: string, body: string): void => {
      response
        .writeHead(200, { 'content-type': type, 'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'" })
        .end(body);
    };
    return {
      '/': (_, response) => send(response, 'text/html; charset=utf-8', DASHBOARD_HTML),
      '/dashboard.js': (_, response) => send(response, 'text/javascript; charset=utf-8', DASHBOARD_JS),
      '/uplot.js': (_, response) => send(response, 'text/javascript; charset=utf-8', uplot.js),
      '/uplot.css': (_, response) => send(response, 'text/css; charset=utf-8', uplot.css),
      '/api/state': (_, response) => send(response, 'application/json', JSON.stringify(this.state())),
    };
  }
}

/** uPlot's browser build, from the installed package (read once) */
function uplotFiles(): { js: string; css: string } {
  const require = createRequire(import.meta.url);
  const dist = (file: string): string => readFileSync(require.resolve(`uplot/dist/${file}`), 'utf8');
  return { js: dist('uPlot.iife.min.js'), css: dist('uPlot.min.css') };
}

/** Polls through `scrape` every `seconds` until the signal aborts. */
export async function pollEvery(seconds: number, scrape: () => Promise<unknown>, signal: AbortSignal): Promise<void> {
  try {
    for await (const _ of setInterval(seconds * 1000, undefined, { signal })) await scrape();
  } catch (error) {
    if ((error as Error).name !== 'AbortError') throw error;
  }
}
