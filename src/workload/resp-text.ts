/**
 * The workload as RESP text, the bytes `redis-cli --pipe` reads and RespPipe writes: one string per
 * step. A log entry's commands are encoded by one template (the hot path); everything else by the
 * general encoder. A test checks both give exactly the bytes of encoding `commands()` one by one.
 */
import { KEYS, workloadSteps, type WorkloadOptions, type WorkloadStep, type WorkloadTally } from './commands.js';

/** `*<n>\r\n` then `$<bytes>\r\n<arg>\r\n` per argument. */
export function respCommand(args: readonly string[]): string {
  let text = `*${args.length}\r\n`;
  for (const arg of args) text += `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`;
  return text;
}

const ZADD_TIME = `*4\r\n$4\r\nZADD\r\n$${KEYS.time.length}\r\n${KEYS.time}\r\n`;
const SADD = '*3\r\n$4\r\nSADD\r\n';

/**
 * A log entry's commands. Ids, keys and times are ASCII by construction (hex, digits and the fixed
 * vocabulary), so their length is their byte count; the JSON is measured.
 */
export function respLog(step: Extract<WorkloadStep, { kind: 'log' }>): string {
  const { id, timeMs, json } = step.log;
  const member = `$${id.length}\r\n${id}\r\n`;
  const time = String(timeMs);
  let text =
    `*3\r\n$3\r\nSET\r\n$${id.length + 5}\r\nlogs:${id}\r\n$${Buffer.byteLength(json)}\r\n${json}\r\n` +
    `${ZADD_TIME}$${time.length}\r\n${time}\r\n${member}` +
    `${SADD}$${step.levelKey.length}\r\n${step.levelKey}\r\n${member}` +
    `${SADD}$${step.sourceKey.length}\r\n${step.sourceKey}\r\n${member}`;
  for (const key of step.tagKeys) text += `${SADD}$${key.length}\r\n${key}\r\n${member}`;
  return text;
}

export function respStep(step: WorkloadStep): string {
  if (step.kind === 'log') return respLog(step);
  let text = '';
  for (const args of step.commands) text += respCommand(args);
  return text;
}

/** Yields the workload as RESP text, one string per step; fills `tally` as it goes. */
export function* respText(options: WorkloadOptions, tally?: WorkloadTally): Generator<string, void, void> {
  for (const step of workloadSteps(options, tally)) yield respStep(step);
}
