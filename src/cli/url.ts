import { endpointForDeployment, formatRedisUrl } from '../connect/index.js';
import type { UrlFlags } from './deployment-flags.js';
import { printResult, say } from './output.js';

export async function urlCommand(flags: UrlFlags): Promise<number> {
  const endpoint = await endpointForDeployment(flags.dir, flags.user, { requireRunning: false });
  printResult(formatRedisUrl(endpoint, { showPassword: flags.showPassword }));
  if (!flags.showPassword && process.stderr.isTTY) say('(password left out; add --show-password to include it)');
  return 0;
}
