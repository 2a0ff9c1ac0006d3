/** `gpu-orchestrate doctor --launcher slurm`: a row per node of the allocation (src/launch/slurm-doctor.ts). */
import path from 'node:path';
import { ExitCode, UsageError } from './errors.js';
import { formatDoctorTable, nodeProblem, slurmDoctor } from './launch/slurm-doctor.js';

export async function doctorOnNodes(options: { python: string; launcher?: string; script?: string }, version: string, write: (text: string) => void = (text) => process.stdout.write(text)): Promise<number> {
  if (options.launcher !== 'slurm') throw new UsageError(`doctor --launcher ${options.launcher}: doctor checks the nodes of a Slurm allocation (--launcher slurm), or this machine (no --launcher)`);
  const script = options.script === undefined ? undefined : path.resolve(options.script);
  const rows = await slurmDoctor(options.python, script);
  write(formatDoctorTable(rows, version));
  const notReady = rows.filter((row) => nodeProblem(row, version) !== undefined).map((row) => row.node);
  write(notReady.length === 0 ? `ready: every node (${rows.length}) can run device hosts\n` : `not ready: ${notReady.join(', ')} (see the ready column)\n`);
  return notReady.length === 0 ? ExitCode.ok : ExitCode.setup;
}
