import { downDeployment } from '../runtime/index.js';
import { printJson, say } from './output.js';

export async function downCommand(flags: { dir: string; json?: boolean }): Promise<number> {
  const result = await downDeployment(flags.dir);
  if (flags.json) printJson({ ...result });
  else if (result.alreadyStopped) say(`Redis is not running for ${result.dir}; nothing to stop.`);
  else say(`Stopped redis-server (pid ${result.pid}) for ${result.dir}; its data is persisted in ${result.dir}/data.`);
  return 0;
}
