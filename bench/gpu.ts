/**
 * 4. A real model on a real GPU: ResNet-50 at batch 32 with 1, 2 and 4 replicas on one GPU,
 * against a plain single-process loop over the same items. Needs nvidia-smi, a CUDA build of
 * torch and torchvision; on a machine without a GPU the section says so and is skipped.
 *
 *   npm run bench -- gpu        # on a GPU machine: only this section
 */
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { writeJsonl } from './lib/inputs.js';
import { fixed, type Table } from './lib/table.js';
import { BENCH_FIXTURES, ROOT, steadyRate, watchedRun } from './lib/watched-run.js';

const ITEMS = 6400;
const BATCH = 32;
const GIB = 1024 ** 3;

function gpuName(): string | undefined {
  const found = spawnSync('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader', '--id=0'], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

export async function gpu(scratch: string): Promise<Table> {
  const name = gpuName();
  const title = `Real model: ResNet-50, batch ${BATCH}, one GPU`;
  const columns = ['runner', 'items/s', 'vs plain loop', 'peak memory per process (GiB)'];
  if (!name) {
    return { title, columns, rows: [['skipped: no GPU on this machine (nvidia-smi not found)', '', '', '']], notes: ['Run `npm run bench -- gpu` on a machine with a GPU, torch (CUDA build) and torchvision.'] };
  }
  const plain = JSON.parse(execFileSync('python3', [path.join(ROOT, 'bench/baselines/plain_loop_resnet.py'), String(ITEMS)], { encoding: 'utf8' }).trim().split('\n').pop() ?? '{}') as { items_per_s: number; peak_memory_bytes: number };
  const rows: (string | number)[][] = [['plain single-process loop', fixed(plain.items_per_s, 0), '1.00×', fixed(plain.peak_memory_bytes / GIB, 2)]];
  const inputs = writeJsonl(path.join(scratch, 'resnet.jsonl'), Array.from({ length: ITEMS }, (_, index) => index));
  for (const replicas of [1, 2, 4]) {
    const run = await watchedRun({ script: path.join(BENCH_FIXTURES, 'resnet50.py'), inputs, output: path.join(scratch, 'resnet-out.jsonl'), gpus: '0', batchSize: BATCH, extra: ['--workers-per-gpu', String(replicas)], trace: path.join(scratch, 'resnet-trace.jsonl') });
    const rate = steadyRate(run);
    const peak = Math.max(...run.traces.map((trace) => (trace as unknown as { peak_memory_bytes?: number }).peak_memory_bytes ?? NaN));
    rows.push([`gpu-orchestrate, ${replicas} replica(s)`, fixed(rate, 0), `${fixed(rate / plain.items_per_s, 2)}×`, fixed(peak / GIB, 2)]);
  }
  return { title: `${title}: ${name}, ${new Date().toISOString().slice(0, 10)}`, columns, rows, notes: ['items/s from the first result to the last (the plain loop: after one warm-up batch). Peak memory: torch.cuda.max_memory_allocated in each process.'] };
}
