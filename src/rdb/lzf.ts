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
