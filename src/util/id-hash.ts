/**
 * Hashes of item ids, so that what the controller must remember of every item of a run (which
 * ids it has seen, which the output holds) takes a few bytes per item instead of the id itself.
 *
 * cyrb53's mixing (two 32-bit lanes, multiply-xor per UTF-16 code unit, cross-lane avalanche at
 * the end), with both lanes kept: 64 bits. Not cryptographic, and need not be: ids are the user's
 * own, not an adversary's.
 */

/** The two lanes of the last hashId() call; read them before the next call. */
export const lanes = new Uint32Array(2);

export function hashId(id: string): void {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < id.length; i += 1) {
    const code = id.charCodeAt(i);
    h1 = Math.imul(h1 ^ code, 2654435761);
    h2 = Math.imul(h2 ^ code, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  lanes[0] = h1;
  lanes[1] = h2;
}

/** A 32-bit fingerprint of an id that is never 0 (0 marks "no id" where fingerprints are stored). */
export function fingerprint(id: string): number {
  hashId(id);
  return (lanes[0] as number) || 1;
}

/**
 * A set of 64-bit id hashes: open addressing with linear probing over one Uint32Array of (high,
 * low) pairs, 8 bytes a slot, at most 70% full, so about 11-23 bytes per id whatever the id's
 * length. Two different ids share a hash with probability 2^-64 per pair: among 10 million ids,
 * about 3 in a million runs would see one such pair.
 */
export class IdHashSet {
  private slots = new Uint32Array(2 * 1024);
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Adds the id's hash; false when it was there already (the id, or one with the same hash, was added before). */
  add(id: string): boolean {
    hashId(id);
    let high = lanes[0] as number;
    const low = lanes[1] as number;
    if (high === 0 && low === 0) high = 1; // (0, 0) marks an empty slot
    if (!this.place(this.slots, high, low, true)) return false;
    this.count += 1;
    if (this.count * 10 > (this.slots.length / 2) * 7) this.grow();
    return true;
  }

  /** Was the id's hash added? */
  has(id: string): boolean {
    hashId(id);
    let high = lanes[0] as number;
    const low = lanes[1] as number;
    if (high === 0 && low === 0) high = 1;
    return !this.place(this.slots, high, low, false);
  }

  /** Finds the pair, or the empty slot where it belongs (filled when `insert`); false when it was there. */
  private place(slots: Uint32Array, high: number, low: number, insert: boolean): boolean {
    const mask = slots.length / 2 - 1;
    for (let slot = (high ^ Math.imul(low, 0x9e3779b1)) & mask; ; slot = (slot + 1) & mask) {
      const at = 2 * slot;
      const h = slots[at] as number;
      const l = slots[at + 1] as number;
      if (h === 0 && l === 0) {
        if (insert) {
          slots[at] = high;
          slots[at + 1] = low;
        }
        return true;
      }
      if (h === high && l === low) return false;
    }
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Uint32Array(old.length * 2);
    for (let at = 0; at < old.length; at += 2) {
      const high = old[at] as number;
      const low = old[at + 1] as number;
      if (high !== 0 || low !== 0) this.place(this.slots, high, low, true);
    }
  }
}
