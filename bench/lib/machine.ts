/** The machine and versions a benchmark ran on, for BENCHMARKS.md. */
import { spawnSync } from 'node:child_process';
import { availableParallelism, loadavg, totalmem } from 'node:os';

function output(command: string, args: string[]): string {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : 'unknown';
}

export function machineLine(): string {
  const gpu = output('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader']);
  return [
    `${availableParallelism()} cores`,
    `${Math.round(totalmem() / 1024 ** 3)} GiB`,
    gpu === 'unknown' ? 'no GPU' : `GPU: ${gpu.split('\n').join(', ')}`,
    `node ${process.version}`,
    `python ${output('python3', ['-c', 'import platform; print(platform.python_version())'])}`,
    `torch ${output('python3', ['-c', 'import torch; print(torch.__version__)'])}`,
    // Other work on the machine moves every rate: the load when the figures were written says how much there was.
    `load average ${loadavg().map((value) => value.toFixed(1)).join(' / ')} (1 / 5 / 15 min) at the end`,
  ].join(', ');
}
