/**
 * Writes the workload to Redis, pipelined, with a bounded number of unanswered commands so that
 * memory stays flat for any number of logs.
 *
 * Given an Endpoint, loadgen writes through resp/'s pipelined writer (RESP text in large socket writes,
 * replies counted, not built), which is what makes it as fast as `redis-cli --pipe`. Given a node-redis client, it sends through `sendCommand` in
 * batches instead (same data, a third to a half of the throughput: a promise per command).
 */
import type { Endpoint } from '../connect/index.js';
import { ConnectionError, NeuralLogRedisError } from '../errors.js';
import { emptyTally, logCommands, workloadSteps, type WorkloadOptions, type WorkloadStep, type WorkloadTally } from './commands.js';
import { openPipeline } from '../resp/index.js';
import { respStep, stepCommandCount } from './step-text.js';

/** What loadgen needs from a node-redis client. */
export interface CommandSender {
  sendCommand(args: string[]): Promise<unknown>;
}

export interface LoadgenProgress {
  /** logs sent; all but the last `batchSize` commands have been answered */
  logs: number;
  totalLogs: number;
  commands: number;
  seconds: number;
}

export interface LoadgenOptions extends WorkloadOptions {
  /** commands per batch: loadgen waits for replies whenever 2 x batchSize are unanswered (default 10000) */
  batchSize?: number;
  /** called after each batch has been answered */
  onProgress?: (progress: LoadgenProgress) => void;
  connectTimeoutMs?: number;
}

export interface LoadgenResult {
  logs: number;
  rules: number;
  patterns: number;
  /** distinct keys written (DBSIZE of an empty database afterwards) */
  keys: number;
  commands: number;
  /** from the first command to the last reply (connecting excluded) */
  seconds: number;
  commandsPerSecond: number;
  logsPerSecond: number;
}

export const DEFAULT_BATCH_SIZE = 10000;
/** how long a wait for replies may see no progress at all before the load fails */
export const REPLY_TIMEOUT_MS = 60_000;

/** The two ways of sending: both buffer commands and wait for replies on request. */
interface Pipe {
  send(step: WorkloadStep): void;
  /** waits until at most `maxUnanswered` commands await replies; throws the first error */
  settle(maxUnanswered: number): Promise<void>;
  readonly unanswered: number;
}

export async function loadgen(target: Endpoint | CommandSender, options: LoadgenOptions): Promise<LoadgenResult> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, not ${batchSize}`);
  if ('sendCommand' in target) return run(new SenderPipe(target, batchSize), options, batchSize);
  const pipe = await openPipeline<undefined>(target, { connectTimeoutMs: options.connectTimeoutMs, stallTimeoutMs: REPLY_TIMEOUT_MS });
  try {
    return await run(
      {
        send: (step) => pipe.sendText(respStep(step), stepCommandCount(step), undefined),
        settle: async (max) => {
          await pipe.settle(max);
          if (pipe.firstError) throw new Error(pipe.firstError.message);
        },
        get unanswered() {
          return pipe.inFlight;
        },
      },
      options,
      batchSize,
    );
  } finally {
    await pipe.close();
  }
}

async function run(pipe: Pipe, options: LoadgenOptions, batchSize: number): Promise<LoadgenResult> {
  const tally = emptyTally();
  const started = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
  const settle = async (max: number) => {
    try {
      await pipe.settle(max);
    } catch (error) {
      throw writeError(error, tally.logs);
    }
    options.onProgress?.({ logs: tally.logs, totalLogs: options.logs, commands: tally.commands, seconds: elapsed() });
  };
  const window = 2 * batchSize;
  for (const step of workloadSteps(options, tally)) {
    pipe.send(step);
    if (pipe.unanswered >= window) await settle(batchSize);
  }
  await settle(0);
  return loadgenResult(tally, elapsed());
}

/** What a run wrote (`tally`) in `seconds`, and its rates. */
export function loadgenResult(tally: WorkloadTally, seconds: number): LoadgenResult {
  return {
    logs: tally.logs,
    rules: tally.rules,
    patterns: tally.patterns,
    keys: tally.keys,
    commands: tally.commands,
    seconds,
    commandsPerSecond: tally.commands / seconds,
    logsPerSecond: tally.logs / seconds,
  };
}

/** Batches of node-redis sendCommand promises, awaited oldest first. */
class SenderPipe implements Pipe {
  #batch: Array<Promise<unknown>> = [];
  readonly #inFlight: Array<{ done: Promise<unknown>; size: number }> = [];
  unanswered = 0;

  constructor(
    private readonly client: CommandSender,
    private readonly batchSize: number,
  ) {}

  send(step: WorkloadStep): void {
    for (const args of step.kind === 'log' ? logCommands(step) : step.commands) {
      this.#batch.push(this.client.sendCommand(args));
      this.unanswered++;
      if (this.#batch.length >= this.batchSize) this.#close();
    }
  }

  async settle(maxUnanswered: number): Promise<void> {
    this.#close();
    while (this.unanswered > maxUnanswered) {
      const oldest = this.#inFlight.shift()!;
      await oldest.done;
      this.unanswered -= oldest.size;
    }
  }

  #close(): void {
    if (this.#batch.length === 0) return;
    const done = Promise.all(this.#batch);
    done.catch(() => undefined); // handled when awaited; avoids an unhandled rejection meanwhile
    this.#inFlight.push({ done, size: this.#batch.length });
    this.#batch = [];
  }
}

/** A write Redis refused, said plainly (a full store under noeviction, a missing permission). */
export function writeError(error: unknown, logsSent: number): NeuralLogRedisError {
  if (error instanceof NeuralLogRedisError) return error;
  const message = (error as Error)?.message ?? String(error);
  const done = `at most ${logsSent} logs were written`;
  if (typeof (error as NodeJS.ErrnoException)?.code === 'string') {
    return new ConnectionError(`lost the connection to Redis during the load (${message}); ${done}`, 'E_CONNECTION_LOST', error);
  }
  if (/^OOM/.test(message)) {
    return new NeuralLogRedisError('E_OOM', `Redis refused a write because it reached maxmemory (${message}); ${done}. Raise maxmemory or write fewer logs.`, {
      cause: error,
    });
  }
  if (/^NOPERM/.test(message)) {
    return new NeuralLogRedisError('E_NOPERM', `the user lacks a permission needed to write NeuralLog's keys (${message}); ${done}. Connect as the app user.`, {
      exitCode: 2,
      cause: error,
    });
  }
  return new NeuralLogRedisError('E_WRITE', `Redis refused a write: ${message}; ${done}.`, { cause: error });
}
