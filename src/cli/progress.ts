/**
 * A one-line progress display on stderr, only when stderr is a terminal (quiet otherwise): bytes,
 * rate, keys and an estimate of the time left.
 */
export interface ProgressLine {
  update(fields: { bytes: number; totalBytes?: number; keys?: number; totalKeys?: number; elapsedMs: number; label?: string }): void;
  done(): void;
}

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

function eta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '';
  const s = Math.round(seconds);
  return ` ETA ${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export function progressLine(enabled = process.stderr.isTTY === true): ProgressLine {
  let shown = false;
  return {
    update({ bytes, totalBytes, keys, totalKeys, elapsedMs, label = '' }) {
      if (!enabled) return;
      const seconds = elapsedMs / 1000;
      const rate = seconds > 0 ? bytes / seconds : 0;
      let left = NaN;
      if (totalBytes && rate > 0) left = (totalBytes - bytes) / rate;
      else if (totalKeys && keys && keys > 0) left = (seconds * (totalKeys - keys)) / keys;
      const parts = [label, totalBytes ? `${mb(bytes)} / ${mb(totalBytes)}` : mb(bytes), `${mb(rate)}/s`];
      if (keys !== undefined) parts.push(`${keys.toLocaleString('en-US')}${totalKeys ? ` / ${totalKeys.toLocaleString('en-US')}` : ''} keys`);
      process.stderr.write(`\r\x1b[2K${parts.filter(Boolean).join('  ')}${eta(left)}`);
      shown = true;
    },
    done() {
      if (shown) process.stderr.write('\r\x1b[2K');
      shown = false;
    },
  };
}
