/**
 * Debian's chromium driven by playwright-core, for the dashboard tests. Chromium runs headless with
 * no background networking (this machine has no network but loopback) and a fresh profile. When
 * chromium is not installed the tests that need it are skipped with one line saying how to get it.
 */
import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';

export const CHROMIUM = process.env.NEURALLOG_REDIS_CHROMIUM ?? '/usr/bin/chromium';

export const noBrowser: string | false = existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install chromium)`;

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
