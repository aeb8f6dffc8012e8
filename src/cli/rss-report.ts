/**
 * For benchmarks (`NEURALLOG_REDIS_REPORT_RSS=1`, which main.ts reads): at exit, the peak resident set
 * size of this CLI process and its own CPU time (helper programs not included), on stderr.
 */
export function reportRssAtExit(): void {
  process.on('exit', () => {
    const u = process.resourceUsage();
    process.stderr.write(
      `neurallog-redis: peak RSS ${u.maxRSS} KiB, CPU user ${(u.userCPUTime / 1e6).toFixed(2)} s system ${(u.systemCPUTime / 1e6).toFixed(2)} s\n`,
    );
  });
}
