/**
 * Every id once, without holding the ids: the output names items by id, so a repeat is refused.
 *
 * - An id the inputs give (a path, a JSONL line's "id"): a 64-bit hash of it is kept
 *   (src/util/id-hash.ts: 11-23 bytes an id), so a repeat is found however far apart the two
 *   lines are. Two different ids with the same hash would be taken for a repeat: about 3 runs in
 *   a million at 10 million ids.
 * - A JSONL line without an "id" is named by its line number, which no other such line shares:
 *   one bit per line is kept, to find a line whose own "id" is another line's number.
 * - A folder or a glob names each path once: nothing is kept (read-inputs.ts does not ask).
 */
import { UsageError } from '../errors.js';
import { IdHashSet } from '../util/id-hash.js';

const LINE_NUMBER = /^[1-9]\d{0,14}$/;

export class UniqueIds {
  private readonly given = new IdHashSet();
  /** Bit n: line n's id is its number. */
  private numbered = new Uint8Array(1024);

  constructor(private readonly source: string) {}

  /** An id the inputs give. */
  ownId(id: string): void {
    if (!this.given.add(id) || (LINE_NUMBER.test(id) && this.isNumbered(Number(id)))) this.repeated(id);
  }

  /** A JSONL line named by its number. */
  lineNumberId(line: number): void {
    const byte = line >>> 3;
    if (byte >= this.numbered.length) {
      let size = this.numbered.length;
      while (size <= byte) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.numbered);
      this.numbered = grown;
    }
    this.numbered[byte] = (this.numbered[byte] as number) | (1 << (line & 7));
    if (this.given.size > 0 && this.given.has(String(line))) this.repeated(String(line));
  }

  private isNumbered(line: number): boolean {
    const byte = Math.floor(line / 8);
    return byte < this.numbered.length && ((this.numbered[byte] as number) & (1 << (line % 8))) !== 0;
  }

  private repeated(id: string): never {
    throw new UsageError(`${this.source}: the id ${JSON.stringify(id)} appears more than once; every item needs its own id so the output can name it`);
  }
}
