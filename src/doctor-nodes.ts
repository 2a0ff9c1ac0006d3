/** `gpu-orchestrate doctor --launcher slurm`: a row per node of the allocation (src/launch/slurm-doctor.ts). */
import path from 'node:path';
import { ExitCode, UsageError } from './errors.js';
import { openInputs } from './inputs/read-inputs.js';
import { formatDoctorTable, nodeProblem, slurmDoctor } from './launch/slurm-doctor.js';

/** How many of the first items that are paths each node is asked to read. */
const SAMPLED_PATHS = 3;

/** The first items that are paths (a folder's, a glob's, a list file's), absolute: what every node must read the same. */
export async function samplePaths(spec: string, count = SAMPLED_PATHS): Promise<string[]> {
  const source = await openInputs(spec);
  const paths: string[] = [];
  try {
    for await (const items of source.chunks()) {
      for (const { input } of items) if (typeof input === 'string' && paths.length < count) paths.push(path.resolve(input));
      break; // the first chunk: a sample, not a walk of everything
    }
  } finally {
    source.close();
  }
  return paths;
}

export async function doctorOnNodes(options: { python: string; launcher?: string; script?: string; inputs?: string }, version: string, write: (text: string) => void = (text) => process.stdout.write(text)): Promise<number> {
  if (options.launcher !== 'slurm') throw new UsageError(`doctor --launcher ${options.launcher}: doctor checks the nodes of a Slurm allocation (--launcher slurm), or this machine (no --launcher)`);
  const script = options.script === undefined ? undefined : path.resolve(options.script);
  const paths = options.inputs === undefined || options.inputs === '-' ? [] : await samplePaths(options.inputs);
  const rows = await slurmDoctor(options.python, script, paths);
  write(formatDoctorTable(rows, version));
  const notReady = rows.filter((row) => nodeProblem(row, version) !== undefined).map((row) => row.node);
  write(notReady.length === 0 ? `ready: every node (${rows.length}) can run device hosts\n` : `not ready: ${notReady.join(', ')} (see the ready column)\n`);
  return notReady.length === 0 ? ExitCode.ok : ExitCode.setup;
}
