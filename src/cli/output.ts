/**
 * Printing for people and machines: results on stdout, messages and progress on stderr, `--json` as
 * one object with a `version` field. Colour only on a terminal and never when NO_COLOR is set.
 */
export const JSON_OUTPUT_VERSION = 1;

let jsonPrinted = false;

/** Whether this process has printed its one JSON object already (main prints errors as one otherwise). */
export function jsonWasPrinted(): boolean {
  return jsonPrinted;
}

export function printJson(value: Record<string, unknown>): void {
  jsonPrinted = true;
  process.stdout.write(`${JSON.stringify({ version: JSON_OUTPUT_VERSION, ...value }, null, 2)}\n`);
}

export function printResult(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function say(text: string): void {
  process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
}

const useColour = () => process.stderr.isTTY === true && !process.env.NO_COLOR;

export const paint = {
  red: (s: string) => (useColour() ? `\x1b[31m${s}\x1b[0m` : s),
  yellow: (s: string) => (useColour() ? `\x1b[33m${s}\x1b[0m` : s),
  green: (s: string) => (useColour() ? `\x1b[32m${s}\x1b[0m` : s),
  dim: (s: string) => (useColour() ? `\x1b[2m${s}\x1b[0m` : s),
};
