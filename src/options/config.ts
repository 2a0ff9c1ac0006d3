/**
 * Raw command-line options -> a validated, typed run configuration.
 * The one place that knows the defaults; everything downstream takes a RunConfig.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { parseDeviceRequest, type DeviceRequest } from '../devices/devices.js';
import { UsageError } from '../errors.js';

export const DEFAULTS = {
  gpus: 'all',
  workersPerGpu: 1,
  batchSize: 8,
  prefetch: 2,
  python: 'python3',
} as const;

export interface RunConfig {
  script: string;
  inputs: string;
  output: string;
  devices: DeviceRequest;
  workersPerGpu: number;
  batchSize: number;
  prefetch: number;
  python: string;
  options: Record<string, string>;
  limit: number | undefined;
  dryRun: boolean;
  quiet: boolean;
  verbose: boolean;
}

/** What commander hands over: strings and flags, nothing checked yet. */
export interface RawOptions {
  script?: string;
  inputs?: string;
  output?: string;
  gpus?: string;
  workersPerGpu?: string;
  batchSize?: string;
  prefetch?: string;
  python?: string;
  opt?: string[];
  limit?: string;
  dryRun?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

function positiveInteger(flag: string, max: number) {
  return z
    .string()
    .trim()
    .regex(/^\d+$/, { message: `${flag} takes a whole number` })
    .transform(Number)
    .refine((n) => n >= 1 && n <= max, { message: `${flag} must be between 1 and ${max}` });
}

const integers = z.object({
  workersPerGpu: positiveInteger('--workers-per-gpu', 64),
  batchSize: positiveInteger('--batch-size', 65_536),
  prefetch: positiveInteger('--prefetch', 64),
  limit: positiveInteger('--limit', Number.MAX_SAFE_INTEGER).optional(),
});

function parseScriptOptions(pairs: string[]): Record<string, string> {
  const options: Record<string, string> = {};
  for (const pair of pairs) {
    const match = /^([A-Za-z_][\w.-]*)=(.*)$/s.exec(pair);
    if (!match) throw new UsageError(`--opt ${JSON.stringify(pair)}: expected key=value, for example --opt weights=resnet.pt`);
    options[match[1] as string] = match[2] as string;
  }
  return options;
}

export function buildRunConfig(raw: RawOptions, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): RunConfig {
  const missing = (['script', 'inputs', 'output'] as const).filter((name) => !raw[name]);
  if (missing.length > 0) {
    throw new UsageError(`missing ${missing.map((name) => `--${name}`).join(', ')}; see gpu-orchestrate --help for an example`);
  }
  const script = path.resolve(cwd, raw.script as string);
  if (!existsSync(script)) throw new UsageError(`--script ${raw.script}: no such file`);
  if (!statSync(script).isFile()) throw new UsageError(`--script ${raw.script}: not a file; give the path of a Python script`);

  const output = path.resolve(cwd, raw.output as string);
  if (existsSync(output) && statSync(output).isDirectory()) {
    throw new UsageError(`--output ${raw.output}: is a directory; give a file path such as results.jsonl`);
  }
  if (!existsSync(path.dirname(output))) {
    throw new UsageError(`--output ${raw.output}: the folder ${path.dirname(output)} does not exist; create it first`);
  }

  const parsed = integers.safeParse({
    workersPerGpu: raw.workersPerGpu ?? String(DEFAULTS.workersPerGpu),
    batchSize: raw.batchSize ?? String(DEFAULTS.batchSize),
    prefetch: raw.prefetch ?? String(DEFAULTS.prefetch),
    limit: raw.limit,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = String(issue?.path[0] ?? '');
    const given = (raw as Record<string, unknown>)[field];
    throw new UsageError(`${issue?.message ?? 'bad option'} (got ${JSON.stringify(given)})`);
  }

  return {
    script,
    inputs: raw.inputs as string,
    output,
    devices: parseDeviceRequest(raw.gpus ?? DEFAULTS.gpus),
    workersPerGpu: parsed.data.workersPerGpu,
    batchSize: parsed.data.batchSize,
    prefetch: parsed.data.prefetch,
    python: raw.python ?? env.GPU_ORCHESTRATE_PYTHON ?? DEFAULTS.python,
    options: parseScriptOptions(raw.opt ?? []),
    limit: parsed.data.limit,
    dryRun: raw.dryRun ?? false,
    quiet: raw.quiet ?? false,
    verbose: raw.verbose ?? false,
  };
}
