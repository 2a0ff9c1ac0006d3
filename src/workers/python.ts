/**
 * The Python interpreter that runs the device hosts: where our bundled package lives, and the
 * checks made before any device starts (preflight) or on demand (doctor).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { SetupError, UsageError } from '../errors.js';
import { describeFsError } from '../util/fs-errors.js';

/** python/ in the package: the nearest folder up from this file that holds our Python package
 * (dist/src/workers when built, src/workers when tests run from source). */
export const PYTHON_PACKAGE_ROOT = ((): string => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'python', 'gpu_orchestrate_worker'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`the bundled python/gpu_orchestrate_worker was not found above ${fileURLToPath(import.meta.url)}; reinstall gpu-orchestrate`);
    dir = parent;
  }
  return path.join(dir, 'python');
})();

export function pythonEnv(extra: Record<string, string> = {}): Record<string, string> {
  const existing = process.env.PYTHONPATH;
  return {
    PYTHONPATH: existing ? `${PYTHON_PACKAGE_ROOT}${path.delimiter}${existing}` : PYTHON_PACKAGE_ROOT,
    PYTHONUNBUFFERED: '1',
    ...extra,
  };
}


/** A run stops with exit 3 (its environment cannot run); doctor, whose argument it is, with exit 2. */
class InterpreterNotFoundError extends SetupError {}

async function runModule(python: string, args: string[]): Promise<unknown> {
  let result;
  try {
    result = await execa(python, ['-m', 'gpu_orchestrate_worker', ...args], { env: pythonEnv(), reject: false, timeout: 120_000 });
  } catch (error) {
    throw new SetupError(`cannot run the Python interpreter ${python}: ${(error as Error).message}. Pass --python PATH or set GPU_ORCHESTRATE_PYTHON.`);
  }
  if (result.failed && (result as { code?: string }).code === 'ENOENT') {
    throw new InterpreterNotFoundError(`the Python interpreter ${python} was not found. Pass --python PATH or set GPU_ORCHESTRATE_PYTHON.`);
  }
  const spawnError = (result as { code?: string }).code;
  if (result.failed && result.exitCode === undefined && result.signal === undefined && spawnError) {
    // It never started: a folder, a file without execute permission (EACCES), not a program (ENOEXEC).
    throw new SetupError(`cannot run the Python interpreter ${python}: ${describeFsError(result.cause ?? { code: spawnError, message: spawnError })}. Pass --python PATH (an interpreter such as python3) or set GPU_ORCHESTRATE_PYTHON.`);
  }
  if (result.exitCode !== 0) {
    throw new SetupError(`${python} -m gpu_orchestrate_worker ${args[0]} failed (exit ${result.exitCode ?? result.signal}): ${String(result.stderr).trim().split('\n').slice(-3).join(' ')}`);
  }
  try {
    return JSON.parse(String(result.stdout).trim().split('\n').pop() ?? '');
  } catch {
    throw new SetupError(`${python} -m gpu_orchestrate_worker ${args[0]} printed no report: ${String(result.stdout).slice(0, 200)}`);
  }
}

interface PreflightReport {
  python: string;
  version: string;
  missing: string[];
  script_error: string | null;
}

/** Fast (no torch import): the packages are installed and the script parses and binds setup/infer. */
export async function preflight(python: string, script: string): Promise<PreflightReport> {
  const report = (await runModule(python, ['preflight', '--script', script])) as PreflightReport;
  if (report.missing.length > 0) {
    throw new SetupError(`${report.python} (Python ${report.version}) lacks ${report.missing.join(', ')}: run ${report.python} -m pip install ${report.missing.join(' ')}, or pass --python for an interpreter that has them.`);
  }
  if (report.script_error) throw new SetupError(report.script_error);
  return report;
}

export interface DoctorReport {
  python: string;
  version: string;
  packages: Record<string, { ok: boolean; version: string | null }>;
  torch: null | { error: string } | { version: string; cuda_build: string | null; cuda_available: boolean; gpus: { index: number; name: string; memory_bytes: number }[]; cpu_threads: number };
}

/** The interpreter named by --python (or the environment) does not exist: a bad argument, not a bad environment. */
export async function doctor(python: string): Promise<DoctorReport> {
  try {
    return (await runModule(python, ['doctor'])) as DoctorReport;
  } catch (error) {
    if (error instanceof InterpreterNotFoundError) throw new UsageError(error.message);
    throw error;
  }
}

