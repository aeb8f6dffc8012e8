import { describeEngine } from '../engine/identity.js';
import { downDeployment, type DownResult } from '../runtime/index.js';
import { printJson, say } from './output.js';
import type { DownFlags } from './deployment-flags.js';
import { describeTopologyDown } from './topology-output.js';

/** "Valkey 8.1.1" when the deployment recorded which server it ran, else "the server". */
function serverName(result: DownResult): string {
  return result.engine && result.engineVersion ? describeEngine({ engine: result.engine, version: result.engineVersion }) : 'the server';
}

/**
 * Exit codes: 0 stopped, or nothing was running (the wanted state holds); 2 when --dir holds no
 * deployment (as `status` does: a mistyped --dir must not look like a successful stop while the real
 * server runs on); 1 when the server refused or outlived the shutdown.
 */
export async function downCommand(flags: DownFlags): Promise<number> {
  const result = await downDeployment(flags.dir);
  if (result.staleState && !flags.json) say(`Note: ${result.staleState}.`);
  if (flags.json) printJson({ ...result });
  else if (result.topology) say(describeTopologyDown(result.dir, result.topology));
  else if (result.alreadyStopped)
    say(`${serverName(result) === 'the server' ? 'No server' : serverName(result)} is not running for ${result.dir}; nothing to stop.`);
  else say(`Stopped ${serverName(result)} (pid ${result.pid}) for ${result.dir}; its data is persisted in ${result.dir}/data.`);
  return 0;
}
