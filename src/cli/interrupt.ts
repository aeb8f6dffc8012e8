/** Ctrl-C and SIGTERM for long commands: say what happens, then abort the work through its signal. */
export interface Interrupt {
  signal: AbortSignal;
  /** stops listening for the process signals */
  dispose(): void;
}

/** `say` runs once, on the first SIGINT or SIGTERM, before the abort. */
export function onInterrupt(say: () => void): Interrupt {
  const controller = new AbortController();
  const stop = () => {
    if (controller.signal.aborted) return;
    say();
    controller.abort();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return {
    signal: controller.signal,
    dispose: () => {
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
    },
  };
}
