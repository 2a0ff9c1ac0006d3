/**
 * The inputs, read as the run consumes them. A reader runs beside the session's loop and hands
 * it items a chunk at a time, as 'inputs' events, while fewer than `readAhead` items wait to be
 * handed out (queued in the scheduler, or in an event not yet handled); the loop says how many
 * are queued after each dispatch (level). Items are skipped here when a resume says the output
 * holds them, and the reader stops at --limit.
 *
 * The feed also holds the items the run has taken in, by ordinal, until their line is written:
 * queued, in flight, or waiting for a retry. That, and not the run's item count, bounds the
 * controller's memory.
 */
import type { InputSource, Item } from '../inputs/read-inputs.js';
import { movedError, type ResumePlan } from '../journal/resume.js';

/** An item and its ordinal (its position in the inputs, from 0). */
export interface FedItem {
  ordinal: number;
  item: Item;
}

export type InputsEvent =
  | { type: 'inputs'; items: FedItem[] }
  /** `read`: items of the inputs read, skipped ones included. */
  | { type: 'inputs-ended'; read: number }
  | { type: 'inputs-failed'; error: Error };

export interface FeedOptions {
  limit: number | undefined;
  readAhead: number;
  /** From a resume: what the output says of each item (undefined: a new output). */
  status?: ResumePlan['status'];
}

export class InputFeed {
  private readonly held = new Map<number, Item>();
  private pushed = 0;
  private received = 0;
  private queued = 0;
  private stopped = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly source: InputSource,
    private readonly options: FeedOptions,
  ) {}

  /** Starts reading; every chunk, the end and any error come through `push`. */
  start(push: (event: InputsEvent) => void): void {
    void this.read(push).catch((error: unknown) => push({ type: 'inputs-failed', error: error as Error }));
  }

  get description(): string {
    return this.source.description;
  }

  /** Items the run has taken in and not yet written. */
  get heldCount(): number {
    return this.held.size;
  }

  /** An 'inputs' event is handled: its items are the run's now. */
  take(items: FedItem[]): number[] {
    this.received += items.length;
    for (const { ordinal, item } of items) this.held.set(ordinal, item);
    return items.map((fed) => fed.ordinal);
  }

  item(ordinal: number): Item | undefined {
    return this.held.get(ordinal);
  }

  /** The item's line is written: the run is done with it. */
  settled(ordinal: number): void {
    this.held.delete(ordinal);
  }

  /** How many fresh items the scheduler has queued now; the reader reads on when there is room. */
  level(queued: number): void {
    this.queued = queued;
    if (this.room() > 0) this.wakeReader();
  }

  /** The run is ending: read no more. */
  stop(): void {
    this.stopped = true;
    this.wakeReader();
    this.source.close();
  }

  private room(): number {
    return this.options.readAhead - this.queued - (this.pushed - this.received);
  }

  private wakeReader(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private async waitForRoom(): Promise<void> {
    while (!this.stopped && this.room() <= 0) await new Promise<void>((resolve) => (this.wake = resolve));
  }

  private async read(push: (event: InputsEvent) => void): Promise<void> {
    const { limit = Infinity, status } = this.options;
    let ordinal = 0;
    let batch: FedItem[] = [];
    const send = () => {
      if (batch.length === 0) return;
      this.pushed += batch.length;
      push({ type: 'inputs', items: batch });
      batch = [];
    };
    reading: for await (const items of this.source.chunks()) {
      for (const item of items) {
        if (ordinal >= limit || this.stopped) break reading;
        const said = status?.(ordinal, item.id) ?? 'todo';
        if (said === 'moved') throw movedError(this.source, ordinal, item.id);
        if (said === 'todo') batch.push({ ordinal, item });
        ordinal += 1;
        if (batch.length >= this.room()) {
          send();
          await this.waitForRoom();
        }
      }
      send();
      await this.waitForRoom();
      if (this.stopped) break;
    }
    send();
    if (!this.stopped) push({ type: 'inputs-ended', read: Math.min(ordinal, limit) });
  }
}
