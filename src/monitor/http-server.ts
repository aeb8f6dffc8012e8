/**
 * The monitor's one HTTP server: /metrics (a scrape, bounded in time), /health, and the dashboard
 * routes it is given. Read-only: every route answers GET/HEAD only. Beyond loopback a token is
 * required (Bearer, or HTTP basic auth with the token as password), compared in constant time.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { CONTENT_TYPE, ExpositionWriter } from './exposition.js';
import type { RedisScraper, ScrapeResult } from './scrape.js';

export type Route = (request: IncomingMessage, response: ServerResponse) => void | Promise<void>;

export interface MonitorServerOptions {
  host: string;
  port: number;
  /** required when host is not loopback; checked on every request when set */
  token?: string;
  scraper: RedisScraper;
  /** the process's own metrics, appended to every scrape */
  processMetrics?: Registry;
  /** called with every scrape's result (the dashboard keeps its history from them) */
  onScrape?: (result: ScrapeResult) => void;
  routes?: Readonly<Record<string, Route>>;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export class MonitorServer {
  private server: Server | undefined;
  private inFlight: Promise<ScrapeResult> | undefined;
  private writer: ExpositionWriter | undefined;
  lastScrape: ScrapeResult | undefined;

  constructor(private readonly options: MonitorServerOptions) {
    if (!isLoopback(options.host) && !options.token) {
      throw new Error(`listening on ${options.host} needs a login token; bind to 127.0.0.1, or give a token file`);
    }
  }

  /** one scrape at a time: concurrent requests share the scrape in progress */
  scrape(): Promise<ScrapeResult> {
    this.inFlight ??= this.options.scraper.scrape().then((result) => {
      this.inFlight = undefined;
      this.lastScrape = result;
      this.options.onScrape?.(result);
      return result;
    });
    return this.inFlight;
  }

  async listen(): Promise<AddressInfo> {
    const server = createServer((request, response) => {
      this.handle(request, response).catch(() => {
        this.options.scraper.requestErrors++;
        if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' });
        response.end('internal error\n');
      });
    });
    server.requestTimeout = 30_000;
    server.headersTimeout = 10_000;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await this.inFlight?.catch(() => undefined);
    await this.options.scraper.close();
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    response.setHeader('x-content-type-options', 'nosniff');
    response.setHeader('cache-control', 'no-store');
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('read-only: GET or HEAD\n');
      return;
    }
    if (this.options.token !== undefined && !authorized(request, this.options.token)) {
      response.writeHead(401, { 'www-authenticate': 'Basic realm="neurallog-redis monitor"', 'content-type': 'text/plain' }).end('login required\n');
      return;
    }
    const path = new URL(request.url ?? '/', 'http://monitor').pathname;
    if (path === '/metrics') return this.metrics(response);
    if (path === '/health') return this.health(response);
    const route = this.options.routes?.[path];
    if (route) return route(request, response);
    response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  }

  private async metrics(response: ServerResponse): Promise<void> {
    const result = await this.scrape();
    this.writer ??= new ExpositionWriter(this.options.processMetrics ? [this.options.processMetrics] : []);
    const text = await this.writer.write(result.set);
    response.writeHead(200, { 'content-type': CONTENT_TYPE }).end(text);
  }

  private health(response: ServerResponse): void {
    const last = this.lastScrape;
    const body = { ok: true, redisUp: last ? last.error === undefined : null, lastScrapeError: last?.error ?? null };
    response.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
  }
}

/** Bearer TOKEN, or basic auth with TOKEN as the password (any user name), in constant time */
function authorized(request: IncomingMessage, token: string): boolean {
  const header = request.headers.authorization ?? '';
  let given: string | undefined;
  if (header.startsWith('Bearer ')) given = header.slice(7).trim();
  else if (header.startsWith('Basic ')) {
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon >= 0) given = decoded.slice(colon + 1);
  }
  if (given === undefined) return false;
  const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(token));
}
