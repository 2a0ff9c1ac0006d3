/**
 * What each device host printed last. Shown as it comes with --verbose; otherwise kept, so that
 * a host's death can be explained by what it said before it died.
 */
import type { Device } from '../devices/devices.js';
import type { ProgressView } from '../progress/views.js';

/** Lines of a host's output kept to explain its death when not --verbose. */
const OUTPUT_TAIL_LINES = 30;

export class OutputTails {
  private readonly tails = new Map<number, string[]>();

  constructor(
    private readonly view: ProgressView,
    private readonly verbose: boolean,
  ) {}

  line(device: Device, line: string): void {
    if (this.verbose) this.view.log(`[${device.label}] ${line}`);
    const tail = this.tails.get(device.index) ?? [];
    tail.push(line);
    if (tail.length > OUTPUT_TAIL_LINES) tail.shift();
    this.tails.set(device.index, tail);
  }

  /** The device's last lines, as a paragraph to append to a message; empty when it said nothing. */
  of(device: number): string {
    const tail = this.tails.get(device);
    return tail && tail.length > 0 ? `\nlast output of that device:\n${tail.map((line) => `  ${line}`).join('\n')}` : '';
  }
}
