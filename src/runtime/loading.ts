/**
 * A server that is loading its data (RDB or AOF at start, or a full sync) answers INFO and little
 * else; INFO persistence says how far it is: loading:1, loading_loaded_bytes, loading_total_bytes,
 * loading_loaded_perc, loading_eta_seconds (the same fields on Redis 7.0 to 8.x and Valkey).
 */
export interface LoadingProgress {
  /** 0-100, as the server computes it */
  percent: number;
  loadedBytes: number;
  totalBytes: number;
  /** the server's estimate; undefined when it gives none yet */
  etaSeconds?: number;
}

/** The loading progress in a parsed INFO reply, or undefined when the server is not loading. */
export function loadingProgress(info: Readonly<Record<string, string>>): LoadingProgress | undefined {
  if (info.loading !== '1') return undefined;
  const number = (key: string) => {
    const n = Number(info[key]);
    return Number.isFinite(n) ? n : 0;
  };
  const eta = Number(info.loading_eta_seconds);
  return {
    percent: number('loading_loaded_perc'),
    loadedBytes: number('loading_loaded_bytes'),
    totalBytes: number('loading_total_bytes'),
    ...(Number.isFinite(eta) && eta >= 0 && info.loading_eta_seconds !== undefined ? { etaSeconds: eta } : {}),
  };
}

/** "loading its data: 42.0% of 12.3 MiB, about 3 s left" */
export function describeLoading(progress: LoadingProgress): string {
  const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
  const eta = progress.etaSeconds !== undefined ? `, about ${progress.etaSeconds} s left` : '';
  return `loading its data: ${progress.percent.toFixed(1)}% of ${mib(progress.totalBytes)} (${mib(progress.loadedBytes)} read)${eta}; it answers commands once loaded`;
}
