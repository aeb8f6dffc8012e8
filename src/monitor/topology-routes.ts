/**
 * The multi-target routes, as redis_exporter serves them: `GET /scrape?target=host:port` (one node of
 * the watched topology, in /metrics' format, without the monitor process's own metrics) and
 * `GET /targets` (Prometheus http_sd: every node with its role and shard, refreshed from the live
 * topology). A target that is not a member is answered 400 with one line: never scraped.
 */
import type { ServerResponse } from 'node:http';
import { CONTENT_TYPE, ExpositionWriter } from './exposition.js';
import type { Route } from './http-server.js';
import type { TopologyWatch } from './topology-watch.js';

export function topologyRoutes(watch: TopologyWatch, pollSeconds: number): Record<string, Route> {
  const writers = new Map<string, ExpositionWriter>();
  const refused = (response: ServerResponse, why: string): void => {
    response.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end(`${why.replace(/[\r\n]+/g, ' ')}\n`);
  };
  return {
    '/scrape': async (request, response) => {
      const target = new URL(request.url ?? '/', 'http://monitor').searchParams.get('target');
      const node = watch.lookup(target);
      if (typeof node === 'string') return refused(response, node);
      const result = await watch.scrape(node.address);
      let writer = writers.get(node.address);
      if (!writer) writers.set(node.address, (writer = new ExpositionWriter()));
      const text = await writer.write(result.set);
      response.writeHead(200, { 'content-type': CONTENT_TYPE }).end(text);
    },
    '/targets': async (_, response) => {
      // the roles of the last poll, or of a refresh now when that is older than two polls
      await watch.fresh(pollSeconds * 2000);
      response.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify(watch.targets())}\n`);
    },
  };
}
