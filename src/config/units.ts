/**
 * Sizes in the two notations a deployment is written in, converted exactly to whole bytes:
 * - redis.conf (Redis's memtoll): `1k` = 1000, `1kb` = 1024, `1m` = 10^6, `1mb` = 2^20,
 *   `1g` = 10^9, `1gb` = 2^30; case-insensitive; a bare number is bytes.
 * - Kubernetes quantities: `Ki Mi Gi Ti Pi Ei` (powers of 1024), `k M G T P E` (powers of 1000),
 *   `m` (milli), and decimal exponents (`1e3`). For memory they must come to whole bytes.
 */

const REDIS_UNITS: Record<string, bigint> = {
  '': 1n,
  b: 1n,
  k: 1000n,
  kb: 1024n,
  m: 1000n ** 2n,
  mb: 1024n ** 2n,
  g: 1000n ** 3n,
  gb: 1024n ** 3n,
};

/** Parses a Redis size (`256mb`, `1gb`, `100000`) into bytes; returns undefined when malformed. */
export function parseRedisSize(text: string): number | undefined {
  const match = /^(-?\d+)([a-z]*)$/i.exec(text.trim());
  if (!match) return undefined;
  const unit = REDIS_UNITS[match[2]!.toLowerCase()];
  if (unit === undefined) return undefined;
  const value = BigInt(match[1]!) * unit;
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < -BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return Number(value);
}

/** Renders bytes in the largest binary Redis unit that divides them exactly (`268435456` -> `256mb`). */
export function formatRedisSize(bytes: number): string {
  if (bytes === 0) return '0';
  for (const [unit, factor] of [
    ['gb', 1024 ** 3],
    ['mb', 1024 ** 2],
    ['kb', 1024],
  ] as const) {
    if (bytes % factor === 0) return `${bytes / factor}${unit}`;
  }
  return String(bytes);
}

const K8S_BINARY: Record<string, number> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };
const K8S_DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

/**
 * Parses a Kubernetes quantity exactly, as a rational number `numerator / 10^scale`.
 * Returns undefined when malformed.
 */
function parseQuantity(text: string): { value: bigint; scale: number } | undefined {
  const match = /^([+-]?)(\d+)(?:\.(\d+))?(?:(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)|[eE]([+-]?\d+))?$/.exec(text.trim());
  if (!match) return undefined;
  const [, sign, whole, fraction = '', suffix = '', exponent] = match;
  let value = BigInt(`${whole}${fraction}`);
  let scale = fraction.length;
  if (sign === '-') value = -value;
  if (suffix in K8S_BINARY) {
    value *= 1024n ** BigInt(K8S_BINARY[suffix]!);
  } else if (exponent !== undefined) {
    scale -= Number(exponent);
  } else {
    scale -= K8S_DECIMAL[suffix]!;
  }
  if (scale < 0) {
    value *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return { value, scale };
}

/** Parses a Kubernetes memory quantity into whole bytes (`640Mi`, `1G`, `512000k`). */
export function parseK8sBytes(text: string): number | undefined {
  const q = parseQuantity(text);
  if (!q) return undefined;
  const divisor = 10n ** BigInt(q.scale);
  if (q.value % divisor !== 0n) return undefined;
  const bytes = q.value / divisor;
  if (bytes < 0n || bytes > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return Number(bytes);
}

/** Parses a Kubernetes CPU quantity into whole millicores (`100m`, `0.5`, `2`). */
export function parseK8sMillicores(text: string): number | undefined {
  const q = parseQuantity(text);
  if (!q) return undefined;
  const milli = q.value * 1000n;
  const divisor = 10n ** BigInt(q.scale);
  if (milli % divisor !== 0n) return undefined;
  const result = milli / divisor;
  if (result < 0n || result > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return Number(result);
}

/** Renders bytes as a Kubernetes quantity, using the largest exact binary suffix (`671088640` -> `640Mi`). */
export function formatK8sBytes(bytes: number): string {
  for (const [suffix, power] of [
    ['Ti', 4],
    ['Gi', 3],
    ['Mi', 2],
    ['Ki', 1],
  ] as const) {
    const factor = 1024 ** power;
    if (bytes !== 0 && bytes % factor === 0) return `${bytes / factor}${suffix}`;
  }
  return String(bytes);
}

/** Renders millicores as a Kubernetes CPU quantity (`100` -> `100m`, `2000` -> `2`). */
export function formatK8sMillicores(millicores: number): string {
  return millicores % 1000 === 0 ? String(millicores / 1000) : `${millicores}m`;
}

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Parses `30s`, `15m`, `1h`, `1d` (or a bare number of seconds) into seconds. */
export function parseDurationSeconds(text: string): number | undefined {
  const match = /^(\d+)([smhd]?)$/.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * DURATION_UNITS[match[2] || 's']!;
}
