/** Wall time of short commands, for the start-up table's reference lines. */
import { spawnSync } from 'node:child_process';
import { pythonEnv } from '../../src/workers/python.js';

/** Median wall seconds of `repeat` runs of a command (median: one slow run on a shared machine does not move it). */
export function medianSeconds(command: string, args: string[], repeat = 3, env: Record<string, string> = {}): number {
  const times: number[] = [];
  for (let i = 0; i < repeat; i += 1) {
    const started = process.hrtime.bigint();
    const result = spawnSync(command, args, { stdio: 'ignore', env: { ...process.env, ...env } });
    if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${result.status}`);
    times.push(Number(process.hrtime.bigint() - started) / 1e9);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

export function pythonSeconds(code: string, repeat = 3): number {
  return medianSeconds('python3', ['-c', code], repeat, pythonEnv());
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}
