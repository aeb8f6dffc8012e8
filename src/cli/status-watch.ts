import { setTimeout as sleep } from 'node:timers/promises';
import { parseDurationSeconds } from '../config/units.js';
import { closeConnection, openConnection, parseInfo } from '../connect/client.js';
import { endpointForDeployment } from '../connect/target.js';
import { UsageError } from '../errors.js';
import { STAT_HEADER, statLine } from '../monitor/stat-line.js';
import type { StatusFlags } from './deployment-flags.js';
import { JSON_OUTPUT_VERSION, printResult } from './output.js';

/**
 * `status --watch`: the `redis-cli --stat` view of the deployment, as its monitor user (the password
 * comes from the deployment's secrets). Exit 0 after --count lines or on Ctrl-C; 1 when the server
 * stops answering; 2 when the deployment is not running.
 */
export async function watchStatus(flags: StatusFlags): Promise<number> {
  const interval = parseDurationSeconds(flags.interval);
  if (interval === undefined || interval < 1 || interval > 3600) throw new UsageError(`--interval takes 1s to 1h, not "${flags.interval}"`);
  const count = flags.count === undefined ? Infinity : Number(flags.count);
  if (!(Number.isInteger(count) && count > 0) && count !== Infinity) throw new UsageError(`--count takes a whole number above 0, not "${flags.count}"`);
  const client = await openConnection(await endpointForDeployment(flags.dir, 'monitor'));
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let previous: Map<string, string> | undefined;
  try {
    for (let line = 0; line < count && !stop.signal.aborted; line++) {
      const fields = new Map(Object.entries(parseInfo(await client.info('everything'))));
      if (flags.json)
        printResult(
          JSON.stringify({
            version: JSON_OUTPUT_VERSION,
            at: new Date().toISOString(),
            line: statLine(fields, previous).replace(/\s+/g, ' ').trim(),
            ...Object.fromEntries(
              ['used_memory', 'connected_clients', 'blocked_clients', 'total_commands_processed', 'total_connections_received'].map((k) => [
                k,
                Number(fields.get(k) ?? 0),
              ]),
            ),
          }),
        );
      else printResult(`${line % 20 === 0 ? `${STAT_HEADER.join('\n')}\n` : ''}${statLine(fields, previous)}`);
      previous = fields;
      if (line + 1 < count) await sleep(interval * 1000, undefined, { signal: stop.signal }).catch(() => undefined);
    }
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await closeConnection(client).catch(() => undefined);
  }
}
