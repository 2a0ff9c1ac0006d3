/** A queue that producers push into and one consumer awaits: merges socket events and process exits. */
export class AsyncQueue<T> {
  private readonly items: T[] = [];
  private waiting: ((value: T) => void) | undefined;

  push(item: T): void {
    const resolve = this.waiting;
    if (resolve) {
      this.waiting = undefined;
      resolve(item);
    } else {
      this.items.push(item);
    }
  }

  next(): Promise<T> {
    if (this.items.length > 0) return Promise.resolve(this.items.shift() as T);
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }
}
