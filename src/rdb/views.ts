/**
 * `pieces` with each run of neighbours that lie back to back in one memory (slices of one read: the
 * rest of an unfinished item and the next slice) turned into one view of that memory. Nothing is
 * copied; the array is changed in place and returned.
 */
export function adjacentJoined(pieces: Buffer[]): Buffer[] {
  let w = 0;
  for (let i = 1; i < pieces.length; i++) {
    const a = pieces[w]!;
    const b = pieces[i]!;
    if (a.buffer === b.buffer && a.byteOffset + a.length === b.byteOffset) pieces[w] = Buffer.from(a.buffer, a.byteOffset, a.length + b.length);
    else pieces[++w] = b;
  }
  pieces.length = Math.min(pieces.length, w + 1);
  return pieces;
}
