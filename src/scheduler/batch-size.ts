/**
 * A device's batch size, adapted to out-of-memory errors.
 *
 * Policy: when a batch runs out of memory, the replica splits it until the halves fit and
 * reports the largest size that ran; the device's batches shrink to that size at once. After
 * `growAfter` batches in a row without running out of memory (20 at first) the size doubles,
 * never past --batch-size. Each time memory runs out again after such a growth, the number of
 * good batches needed before the next growth doubles, so a size that does not fit is not tried
 * again and again.
 */
export const INITIAL_GROW_AFTER = 20;

export class AdaptiveBatchSize {
  current: number;
  /** The smallest size this device went down to, for the summary. */
  lowest: number;
  growAfter = INITIAL_GROW_AFTER;
  private streak = 0;
  private grown = false;

  constructor(readonly max: number) {
    this.current = max;
    this.lowest = max;
  }

  get adapted(): boolean {
    return this.lowest < this.max;
  }

  outOfMemory(sizeThatRan: number): void {
    if (this.grown) this.growAfter *= 2;
    this.grown = false;
    this.current = Math.max(1, Math.min(this.current, sizeThatRan));
    this.lowest = Math.min(this.lowest, this.current);
    this.streak = 0;
  }

  succeeded(): void {
    if (this.current >= this.max) return;
    this.streak += 1;
    if (this.streak >= this.growAfter) {
      this.current = Math.min(this.max, this.current * 2);
      this.streak = 0;
      this.grown = true;
    }
  }
}

/** Each device's adaptive batch size, made when the device's first replica joins. */
export class DeviceBatchSizes {
  private readonly sizes = new Map<number, AdaptiveBatchSize>();

  constructor(private readonly max: number) {}

  of(device: number): AdaptiveBatchSize {
    let sizes = this.sizes.get(device);
    if (!sizes) {
      sizes = new AdaptiveBatchSize(this.max);
      this.sizes.set(device, sizes);
    }
    return sizes;
  }

  current(device: number): number {
    return this.sizes.get(device)?.current ?? this.max;
  }
}
