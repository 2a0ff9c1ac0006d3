import { constants } from 'node:os';

const SIGNAL_NAMES = new Map(Object.entries(constants.signals).map(([name, number]) => [number, name]));

/** "exited with code 3", "was killed by SIGSEGV": Python reports a death by signal N as exit code -N. */
export function describeExit(exitcode: number | null | undefined, signal?: string): string {
  if (signal) return `was killed by ${signal}`;
  if (exitcode === null || exitcode === undefined) return 'exited';
  if (exitcode < 0) return `was killed by ${SIGNAL_NAMES.get(-exitcode) ?? `signal ${-exitcode}`}`;
  return `exited with code ${exitcode}`;
}
