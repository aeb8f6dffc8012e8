/**
 * Redis's glob matching (util.c stringmatchlen, as SCAN MATCH and KEYS use it) over key bytes:
 * `*`, `?`, `[abc]`, `[^a-z]`, and `\` escapes. A port of the 7.0 code, including its quirks (an
 * unclosed `[` matches against the rest of the pattern as a set; ranges may be reversed; bytes are
 * compared as C `char`, i.e. signed).
 */

const STAR = 0x2a;
const QUESTION = 0x3f;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const CARET = 0x5e;
const BACKSLASH = 0x5c;
const DASH = 0x2d;

const signed = (b: number): number => (b > 127 ? b - 256 : b);

export function globMatch(pattern: Uint8Array, key: Uint8Array): boolean {
  // KEYS and SCAN take a lone `*` as "everything" without matching (so it matches the empty key too)
  if (pattern.length === 1 && pattern[0] === STAR) return true;
  const skip = { longer: false };
  return match(pattern, 0, pattern.length, key, 0, key.length, skip);
}

/** A matcher for one pattern, given as text (UTF-8) or bytes; undefined pattern matches everything. */
export function globMatcher(pattern: string | Buffer | undefined): (key: Uint8Array) => boolean {
  if (pattern === undefined || pattern === '*') return () => true;
  const p = typeof pattern === 'string' ? Buffer.from(pattern, 'utf8') : pattern;
  return (key) => globMatch(p, key);
}

function match(p: Uint8Array, pi: number, pl: number, s: Uint8Array, si: number, sl: number, skip: { longer: boolean }): boolean {
  while (pl > 0 && sl > 0) {
    switch (p[pi]) {
      case STAR: {
        while (pl > 1 && p[pi + 1] === STAR) {
          pi++;
          pl--;
        }
        if (pl === 1) return true;
        while (sl > 0) {
          if (match(p, pi + 1, pl - 1, s, si, sl, skip)) return true;
          if (skip.longer) return false;
          si++;
          sl--;
        }
        skip.longer = true;
        return false;
      }
      case QUESTION:
        si++;
        sl--;
        break;
      case OPEN: {
        const set = matchSet(p, pi + 1, pl - 1, s[si]!);
        pi = set.pi;
        pl = set.pl;
        if (!set.matched) return false;
        si++;
        sl--;
        break;
      }
      case BACKSLASH:
        if (pl >= 2) {
          pi++;
          pl--;
        }
        if (p[pi] !== s[si]) return false;
        si++;
        sl--;
        break;
      default:
        if (p[pi] !== s[si]) return false;
        si++;
        sl--;
        break;
    }
    pi++;
    pl--;
    if (sl === 0) {
      while (pl > 0 && p[pi] === STAR) {
        pi++;
        pl--;
      }
      break;
    }
  }
  return pl === 0 && sl === 0;
}

/**
 * A `[...]` set whose body starts at p[pi] (after the `[`): whether byte `c` is in it, and where the
 * pattern stands at its `]` (or, unclosed, at its last byte).
 */
function matchSet(p: Uint8Array, pi: number, pl: number, c: number): { matched: boolean; pi: number; pl: number } {
  const not = p[pi] === CARET;
  if (not) {
    pi++;
    pl--;
  }
  let matched = false;
  for (;;) {
    if (p[pi] === BACKSLASH && pl >= 2) {
      pi++;
      pl--;
      if (p[pi] === c) matched = true;
    } else if (p[pi] === CLOSE) {
      break;
    } else if (pl === 0) {
      pi--;
      pl++;
      break;
    } else if (pl >= 3 && p[pi + 1] === DASH) {
      let start = signed(p[pi]!);
      let end = signed(p[pi + 2]!);
      const sc = signed(c);
      if (start > end) [start, end] = [end, start];
      pi += 2;
      pl -= 2;
      if (sc >= start && sc <= end) matched = true;
    } else if (p[pi] === c) {
      matched = true;
    }
    pi++;
    pl--;
  }
  return { matched: not ? !matched : matched, pi, pl };
}
