/**
 * Warnings above the live rows, at most ten of a kind: a replica that dies in a loop, or a
 * stranger that floods the controller's socket, must not bury everything else.
 */
import type { ProgressView } from '../progress/views.js';

const MAX_WARNINGS_OF_A_KIND = 10;

export class Warnings {
  private readonly counts = new Map<string, number>();

  constructor(private readonly view: ProgressView) {}

  warn(kind: string, message: string): void {
    const count = (this.counts.get(kind) ?? 0) + 1;
    this.counts.set(kind, count);
    if (count <= MAX_WARNINGS_OF_A_KIND) this.view.log(`warning: ${message}${count === MAX_WARNINGS_OF_A_KIND ? ' (further warnings of this kind are not shown)' : ''}`);
  }
}
