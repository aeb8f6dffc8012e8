/**
 * LZF decompression (the format of liblzf, as Redis writes compressed strings), with every bound
 * checked: a literal run or a back reference that would read past the input, write past the
 * declared length, or point before the start of the output is an error, as is output shorter than
 * declared. The loop advances the input by at least one byte per step, so it always ends.
 */
import { BlobError } from './errors.js';

/**
 * Decompresses `input[start, end)` into a new buffer of exactly `outLength` bytes (or into `out`,
 * which must be at least that long). Throws BlobError (offset relative to `start`) on corrupt data.
 */
export function lzfDecompress(input: Uint8Array, start: number, end: number, outLength: number, out?: Buffer): Buffer {
  const output = out ?? Buffer.allocUnsafe(outLength);
  if (output.length < outLength) throw new RangeError('lzfDecompress: output buffer too small');
  let ip = start;
  let op = 0;
  while (ip < end) {
    let ctrl = input[ip++]!;
    if (ctrl < 32) {
      // literal run of ctrl + 1 bytes
      ctrl++;
      if (op + ctrl > outLength) throw new BlobError(`LZF literal run of ${ctrl} bytes overflows the declared length ${outLength}`, ip - 1 - start);
      if (ip + ctrl > end) throw new BlobError(`LZF literal run of ${ctrl} bytes runs past the end of the compressed data`, ip - 1 - start);
      if (ctrl > 16) {
        output.set(input.subarray(ip, ip + ctrl), op);
        ip += ctrl;
        op += ctrl;
      } else {
        for (let k = 0; k < ctrl; k++) output[op++] = input[ip++]!;
      }
    } else {
      let len = ctrl >>> 5;
      const refStart = ip - 1;
      if (len === 7) {
        if (ip >= end) throw new BlobError('LZF back reference is cut off by the end of the compressed data', refStart - start);
        len += input[ip++]!;
      }
      if (ip >= end) throw new BlobError('LZF back reference is cut off by the end of the compressed data', refStart - start);
      const ref = op - ((ctrl & 0x1f) << 8) - 1 - input[ip++]!;
      len += 2;
      if (op + len > outLength) throw new BlobError(`LZF back reference of ${len} bytes overflows the declared length ${outLength}`, refStart - start);
      if (ref < 0) throw new BlobError(`LZF back reference points ${-ref} bytes before the start of the output`, refStart - start);
      if (ref + len <= op && len > 32) {
        output.copyWithin(op, ref, ref + len);
        op += len;
      } else {
        for (let k = 0; k < len; k++) output[op++] = output[ref + k]!;
      }
    }
  }
  if (op !== outLength) throw new BlobError(`LZF data decompresses to ${op} bytes but declares ${outLength}`, end - start);
  return output;
}

/**
 * Checks LZF data without producing the output: the same bounds as lzfDecompress (every literal
 * and back reference inside the input and the declared output, no reference before the start, and
 * exactly `outLength` bytes produced), at a fraction of the cost, for values nobody needs to see.
 */
export function lzfValidate(input: Uint8Array, start: number, end: number, outLength: number): void {
  if (!lzfLooksValid(input, start, end, outLength)) lzfValidateSlowly(input, start, end, outLength);
}

/**
 * The fast pass: true when the data is valid. Output length only grows, so a literal or reference
 * that overflows the declared length leaves the total wrong at the end, and one that reads past the
 * input leaves ip past `end`: both are checked once, after the loop. Only a reference before the
 * start of the output needs checking where it happens. A false answer sends the data to the careful
 * pass, which names the first bad token.
 */
function lzfLooksValid(input: Uint8Array, start: number, end: number, outLength: number): boolean {
  let ip = start;
  let op = 0;
  while (ip < end) {
    const ctrl = input[ip]!;
    if (ctrl < 32) {
      ip += ctrl + 2;
      op += ctrl + 1;
    } else {
      let len = ctrl >>> 5;
      ip++;
      if (len === 7) len += input[ip++]!;
      // ip may now be past `end` (and the byte read undefined): caught after the loop
      if (op < ((ctrl & 0x1f) << 8) + 1 + input[ip++]!) return false;
      op += len + 2;
    }
  }
  return ip === end && op === outLength;
}

function lzfValidateSlowly(input: Uint8Array, start: number, end: number, outLength: number): void {
  let ip = start;
  let op = 0;
  while (ip < end) {
    const ctrl = input[ip++]!;
    if (ctrl < 32) {
      const run = ctrl + 1;
      if (op + run > outLength) throw new BlobError(`LZF literal run of ${run} bytes overflows the declared length ${outLength}`, ip - 1 - start);
      if (ip + run > end) throw new BlobError(`LZF literal run of ${run} bytes runs past the end of the compressed data`, ip - 1 - start);
      ip += run;
      op += run;
    } else {
      let len = ctrl >>> 5;
      const refStart = ip - 1;
      if (len === 7) {
        if (ip >= end) throw new BlobError('LZF back reference is cut off by the end of the compressed data', refStart - start);
        len += input[ip++]!;
      }
      if (ip >= end) throw new BlobError('LZF back reference is cut off by the end of the compressed data', refStart - start);
      const ref = op - ((ctrl & 0x1f) << 8) - 1 - input[ip++]!;
      len += 2;
      if (op + len > outLength) throw new BlobError(`LZF back reference of ${len} bytes overflows the declared length ${outLength}`, refStart - start);
      if (ref < 0) throw new BlobError(`LZF back reference points ${-ref} bytes before the start of the output`, refStart - start);
      op += len;
    }
  }
  if (op !== outLength) throw new BlobError(`LZF data decompresses to ${op} bytes but declares ${outLength}`, end - start);
}
