/**
 * The workload as RESP text, the bytes `redis-cli --pipe` reads and loadgen's pipeline writes: one
 * string per step, built with resp/'s text encoders. A log entry's commands share one template (the
 * hot path: the constant parts are encoded once); everything else goes through `encodeCommandText`.
 * A test checks both give exactly the bytes of encoding `commands()` one by one.
 */
import { arrayHeaderText, asciiBulkText, bulkText, encodeCommandText } from '../resp/index.js';
import { KEYS, workloadSteps, type WorkloadOptions, type WorkloadStep, type WorkloadTally } from './commands.js';

const SET = arrayHeaderText(3) + asciiBulkText('SET');
const ZADD_TIME = arrayHeaderText(4) + asciiBulkText('ZADD') + asciiBulkText(KEYS.time);
const SADD = arrayHeaderText(3) + asciiBulkText('SADD');

/**
 * A log entry's commands. Ids, keys and times are ASCII by construction (hex, digits and the fixed
 * vocabulary), so their length is their byte count; the JSON is measured.
 */
export function respLog(step: Extract<WorkloadStep, { kind: 'log' }>): string {
  const { id, timeMs, json } = step.log;
  const member = asciiBulkText(id);
  let text =
    SET +
    asciiBulkText(KEYS.log(id)) +
    bulkText(json) +
    ZADD_TIME +
    asciiBulkText(String(timeMs)) +
    member +
    SADD +
    asciiBulkText(step.levelKey) +
    member +
    SADD +
    asciiBulkText(step.sourceKey) +
    member;
  for (const key of step.tagKeys) text += SADD + asciiBulkText(key) + member;
  return text;
}

/** A step's commands as RESP text, and how many commands that is. */
export function respStep(step: WorkloadStep): string {
  if (step.kind === 'log') return respLog(step);
  let text = '';
  for (const args of step.commands) text += encodeCommandText(args);
  return text;
}

export function stepCommandCount(step: WorkloadStep): number {
  return step.kind === 'log' ? 4 + step.tagKeys.length : step.commands.length;
}

/** Yields the workload as RESP text, one string per step; fills `tally` as it goes. */
export function* respText(options: WorkloadOptions, tally?: WorkloadTally): Generator<string, void, void> {
  for (const step of workloadSteps(options, tally)) yield respStep(step);
}
