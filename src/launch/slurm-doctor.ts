/**
 * `gpu-orchestrate doctor --launcher slurm`: the doctor's checks on every node of the allocation,
 * each through an srun step of its own on that node (one node that cannot run a step is a row
 * that says so, not a doctor that hangs or dies), one row per node: Python, torch, CUDA, the
 * GPUs torch sees, this package's version there, and whether the script and the first items that
 * are paths can be read there (items and scripts must be paths on a filesystem every node shares).
 */
import { execa } from 'execa';
import { pythonEnv } from '../workers/python.js';
import { readAllocation, type RunCommand } from './allocation.js';

/** What python remote.py's doctor prints on a node (one JSON line). */
export interface NodeReport {
  node: string;
  python: string;
  version: string;
  packages: Record<string, { ok: boolean; version: string | null }>;
  torch: null | { error: string } | { version: string; cuda_build: string | null; cuda_available: boolean; gpus: unknown[] };
  package_version: string;
  script: null | { path: string; readable: boolean };
  /** The sampled items that are paths (doctor --inputs); absent from an older package. */
  paths?: { path: string; readable: boolean }[];
}

export interface NodeRow {
  node: string;
  report?: NodeReport;
  /** Why there is no report: srun's or Python's last words. */
  failure?: string;
}

export const DOCTOR_HEADER = ['node', 'python', 'torch', 'CUDA', 'GPUs', 'gpu-orchestrate', 'script', 'inputs', 'ready'];

/** Why a node is not ready, or undefined when it is. */
export function nodeProblem(row: NodeRow, version: string): string | undefined {
  const report = row.report;
  if (!report) return row.failure ?? 'no report';
  const missing = Object.entries(report.packages).filter(([, status]) => !status.ok).map(([name]) => name);
  if (missing.length > 0) return `install ${missing.join(', ')}`;
  if (report.torch === null || 'error' in report.torch) return 'torch cannot be imported';
  if (report.package_version !== version) return `gpu-orchestrate ${report.package_version} there, ${version} here: install the same version`;
  if (report.script && !report.script.readable) return `cannot read ${report.script.path}: put it on a filesystem every node shares`;
  const unreadable = (report.paths ?? []).find((item) => !item.readable);
  if (unreadable) return `cannot read the item ${unreadable.path}: put the inputs on a filesystem every node shares, under the same path`;
  return undefined;
}

export function doctorRow(row: NodeRow, version: string): string[] {
  const problem = nodeProblem(row, version);
  const report = row.report;
  if (!report) return [row.node, '-', '-', '-', '-', '-', '-', '-', `no: ${problem}`];
  const torch = report.torch;
  const torchText = torch === null ? 'MISSING' : 'error' in torch ? 'import failed' : torch.version;
  const cuda = torch === null || 'error' in torch ? '-' : `${torch.cuda_build ?? 'none'}${torch.cuda_available ? '' : ' (not usable)'}`;
  const gpus = torch === null || 'error' in torch ? '-' : String(torch.gpus.length);
  const script = report.script === null ? '-' : report.script.readable ? 'readable' : 'NOT READABLE';
  const paths = report.paths ?? [];
  const readable = paths.filter((item) => item.readable).length;
  const inputs = paths.length === 0 ? '-' : readable === paths.length ? `readable (${readable})` : `NOT READABLE (${readable} of ${paths.length})`;
  return [report.node, report.version, torchText, cuda, gpus, report.package_version, script, inputs, problem === undefined ? 'yes' : `no: ${problem}`];
}

export function formatDoctorTable(rows: NodeRow[], version: string): string {
  const table = [DOCTOR_HEADER, ...rows.map((row) => doctorRow(row, version))];
  const widths = DOCTOR_HEADER.map((_, column) => Math.max(...table.map((cells) => (cells[column] ?? '').length)));
  return `${table.map((cells) => cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join('  ')).join('\n')}\n`;
}

const runScontrol: RunCommand = async (command, args) => String((await execa(command, args, { timeout: 60_000 })).stdout);

/** One step on one node: --overlap, so that a run already using the node's CPUs does not keep the doctor waiting. */
async function checkNode(node: string, python: string, script: string | undefined, paths: readonly string[]): Promise<NodeRow> {
  const args = ['--nodes=1', '--ntasks=1', `--nodelist=${node}`, '--overlap', '--mem=0', '--input=none', '--job-name=gpu-orchestrate:doctor'];
  const result = await execa('srun', [...args, python, '-m', 'gpu_orchestrate_worker.remote', 'doctor', ...(script ? ['--script', script] : []), ...paths.flatMap((item) => ['--path', item])], { env: pythonEnv(), reject: false, timeout: 180_000 });
  const lines = String(result.stdout).trim().split('\n');
  try {
    return { node, report: JSON.parse(lines.at(-1) ?? '') as NodeReport };
  } catch {
    const said = String(result.stderr).trim().split('\n').slice(-2).join(' ').trim();
    return { node, failure: `srun exited with code ${result.exitCode ?? result.signal}${said ? `: ${said}` : ''}` };
  }
}

export async function slurmDoctor(python: string, script: string | undefined, paths: readonly string[] = [], env: NodeJS.ProcessEnv = process.env): Promise<NodeRow[]> {
  const allocation = await readAllocation(env, runScontrol);
  return Promise.all(allocation.nodes.map((node) => checkNode(node, python, script, paths)));
}
