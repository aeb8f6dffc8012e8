/**
 * Redis Cluster's key -> hash slot: CRC16 (XMODEM: polynomial 0x1021, initial 0) of the key, or of its
 * hash tag (the bytes between the first `{` and the next `}` when there are any), modulo 16384.
 */
export const CLUSTER_SLOTS = 16384;

const TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[i] = crc;
  }
  return table;
})();

export function crc16(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0;
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ bytes[i]!) & 0xff]!;
  return crc;
}

/** The hash slot of a key (bytes, or a string taken as UTF-8). */
export function keySlot(key: Uint8Array | string): number {
  const bytes = typeof key === 'string' ? Buffer.from(key) : key;
  const open = bytes.indexOf(0x7b);
  if (open >= 0) {
    const close = bytes.indexOf(0x7d, open + 1);
    if (close > open + 1) return crc16(bytes, open + 1, close) % CLUSTER_SLOTS;
  }
  return crc16(bytes) % CLUSTER_SLOTS;
}

/** Inclusive slot ranges, as CLUSTER SLOTS and CLUSTER SHARDS give them. */
export type SlotRange = readonly [number, number];

/** A lookup table slot -> owner index from ranges per owner (-1: nobody serves the slot). */
export function slotOwners(rangesPerOwner: ReadonlyArray<readonly SlotRange[]>): Int16Array {
  const owners = new Int16Array(CLUSTER_SLOTS).fill(-1);
  rangesPerOwner.forEach((ranges, owner) => {
    for (const [from, to] of ranges) owners.fill(owner, from, to + 1);
  });
  return owners;
}
