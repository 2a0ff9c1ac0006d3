/**
 * The work that waits to be handed out: fresh items in input order, and items that came back
 * (run alone, before fresh work). Kept apart from the scheduler's books of who holds what.
 *
 * Fresh items arrive as the inputs are read (add), until the inputs end (end): the queue holds
 * what was read ahead, not the whole run. How many are still to come is known when a count of
 * the inputs says (expect), and taken as unbounded otherwise.
 */
export class WorkQueue {
  private readonly fresh: number[] = [];
  /** fresh[head..] is the queue: shifting an array is O(n), moving a cursor is not. */
  private head = 0;
  private readonly retries: number[] = [];
  private ended: boolean;
  /** Fresh items still to be added, when a count says; undefined: unknown. */
  private toCome: number | undefined;

  /** `items`: the whole input, ended; without them the input comes by add() until end(). */
  constructor(items?: Iterable<number>) {
    this.ended = items !== undefined;
    this.toCome = this.ended ? 0 : undefined;
    for (const index of items ?? []) this.fresh.push(index);
  }

  add(items: readonly number[]): void {
    for (const index of items) this.fresh.push(index);
    if (this.toCome !== undefined) this.toCome = Math.max(0, this.toCome - items.length);
  }

  /** A count of the inputs says this many fresh items are still to be added. */
  expect(count: number): void {
    if (!this.ended) this.toCome = count;
  }

  end(): void {
    this.ended = true;
    this.toCome = 0;
  }

  /** Will no more fresh items be added? */
  get inputEnded(): boolean {
    return this.ended;
  }

  /** Fresh items queued now. */
  get freshCount(): number {
    return this.fresh.length - this.head;
  }

  /** Fresh items left in the run: queued, and still to be added (Infinity while unknown). */
  get freshLeft(): number {
    return this.freshCount + (this.toCome ?? Infinity);
  }

  get size(): number {
    return this.freshCount + this.retries.length;
  }

  /** The next `count` fresh items, or fewer when fewer are left. */
  takeFresh(count: number): number[] {
    const items = this.fresh.slice(this.head, this.head + count);
    this.head += items.length;
    this.compact();
    return items;
  }

  /** Fresh items that were handed out but never started: they go first, in their order. */
  returnFresh(items: number[]): void {
    this.fresh.splice(this.head, 0, ...items);
  }

  retry(index: number): void {
    this.retries.push(index);
  }

  /** The first item waiting for a retry that `accept` takes, removed from the queue. */
  takeRetry(accept: (index: number) => boolean): number | undefined {
    const position = this.retries.findIndex(accept);
    if (position < 0) return undefined;
    return this.retries.splice(position, 1)[0];
  }

  // Stryker disable next-line BlockStatement: compacting only frees memory; no item, order or count depends on it
  private compact(): void {
    // Drop the consumed prefix now and then so the queue's memory follows what is left.
    // Stryker disable next-line all: when it compacts changes only when memory is freed; dropping the consumed prefix is correct at any time
    if (this.head > 65_536 && this.head * 2 > this.fresh.length) {
      this.fresh.splice(0, this.head);
      this.head = 0;
    }
  }
}
