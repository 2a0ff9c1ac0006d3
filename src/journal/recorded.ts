/**
 * What an output records, kept compactly for --resume: for each ordinal (the item's position in
 * the inputs, which every line carries as "index"), a 32-bit fingerprint of the id its line
 * names, 4 bytes an ordinal whatever the id's length. Lines written before lines carried an
 * ordinal are kept by their ids, as every line was before.
 *
 * A fingerprint alone cannot say that an item is NOT recorded at another ordinal; resume.ts
 * first checks that the inputs are where the output says they were, and otherwise falls back to
 * the ids themselves.
 */
import { fingerprint } from '../util/id-hash.js';

export class RecordedItems {
  private fingerprints = new Uint32Array(1024);
  /** Ordinals that some line names. */
  ordinals = 0;
  /** Ordinals named by two lines with different ids: the output mixes two orders of the inputs. */
  conflicts = 0;
  /** Ids of lines without an ordinal. */
  readonly unordered = new Set<string>();

  add(id: string, ordinal: number | undefined): void {
    if (ordinal === undefined) {
      this.unordered.add(id);
      return;
    }
    if (ordinal >= this.fingerprints.length) this.grow(ordinal);
    const print = fingerprint(id);
    const before = this.fingerprints[ordinal] as number;
    if (before === 0) {
      this.fingerprints[ordinal] = print;
      this.ordinals += 1;
    } else if (before !== print) {
      this.conflicts += 1;
    }
  }

  /** The fingerprint of the id recorded at this ordinal; 0 when no line names it. */
  at(ordinal: number): number {
    return ordinal < this.fingerprints.length ? (this.fingerprints[ordinal] as number) : 0;
  }

  private grow(ordinal: number): void {
    let size = this.fingerprints.length;
    while (size <= ordinal) size *= 2;
    const grown = new Uint32Array(size);
    grown.set(this.fingerprints);
    this.fingerprints = grown;
  }
}
