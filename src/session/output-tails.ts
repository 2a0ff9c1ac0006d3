/**
 * What each device host printed last. Shown as it comes with --verbose; otherwise kept, so that
 * a host's death can be explained by what it said before it died.
 */
import type { Device } from '../devices/devices.js';
import type { ProgressView } from '../progress/views.js';

/** Lines of a host's output kept to explain its death when not --verbose. */
const OUTPUT_TAIL_LINES = 30;
/**
 * A line a host prints for the user to see even without --verbose (python remote.py: a host
 * started by srun that sees more than one GPU). Python: remote.HOST_WARNING_PREFIX.
 */
export const HOST_WARNING_PREFIX = 'gpu-orchestrate device host warning: ';

export class OutputTails {
  private readonly tails = new Map<number, string[]>();

  constructor(
    private readonly view: ProgressView,
    private readonly verbose: boolean,
  ) {}

  line(device: Device, line: string): void {
    if (this.verbose) this.view.log(`[${device.label}] ${line}`);
    else if (line.startsWith(HOST_WARNING_PREFIX)) this.view.log(`warning: ${device.label}: ${line.slice(HOST_WARNING_PREFIX.length)}`);
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
