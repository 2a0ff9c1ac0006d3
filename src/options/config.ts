/**
 * Raw command-line options -> a validated, typed run configuration.
 * The one place that knows the defaults; everything downstream takes a RunConfig.
 */
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { parseDeviceRequest, type DeviceRequest } from '../devices/devices.js';
import { UsageError } from '../errors.js';
import { parseListen, type ListenAddress } from '../transport/listen.js';
import { describeFsError } from '../util/fs-errors.js';
import { buildLaunchOptions, type LaunchOptions, type RawLaunchOptions } from './launch-options.js';
import { checkOutputPath } from './output-path.js';

export const DEFAULTS = {
  gpus: 'all',
  workersPerGpu: 1,
  batchSize: 8,
  prefetch: 2,
  python: 'python3',
  retries: 2,
  graceSeconds: 30,
  memoryHeadroom: '2GiB',
} as const;

export interface RunConfig {
  script: string;
  inputs: string;
  output: string;
  devices: DeviceRequest;
  /** Replicas per device, or 'auto': measured per device (src/scheduler/replica-plan.ts). */
  workersPerGpu: number | 'auto';
  /** Under auto: free device memory a new replica must leave, in bytes. */
  memoryHeadroomBytes: number;
  batchSize: number;
  prefetch: number;
  python: string;
  options: Record<string, string>;
  limit: number | undefined;
  /** Further tries of an item after out-of-memory or a timeout. */
  retries: number;
  /** Seconds an item may take (a batch gets this times its size); undefined: no limit. */
  timeoutSeconds: number | undefined;
  /** After Ctrl-C / SIGTERM: seconds in-flight batches get to finish. */
  graceSeconds: number;
  /** What to do with an existing output: refuse, continue it, or start it again. */
  existingOutput: 'refuse' | 'resume' | 'overwrite';
  retryFailed: boolean;
  dryRun: boolean;
  quiet: boolean;
  verbose: boolean;
  /** --listen: device hosts connect over TCP with CURVE; undefined: ipc:// on this machine. */
  listen: ListenAddress | undefined;
  /** Stop the run (as Ctrl-C does) once this many items are written as failed; absent: never. */
  maxFailures?: number | undefined;
  /** Where the JUnit XML report goes (an absolute path); absent: no report. */
  reportJunit?: string | undefined;
  /** List every item in the JUnit report, not only the failed ones. */
  reportJunitAll?: boolean;
  /** How the device hosts start (src/launch/plan.ts); absent: here, as children of the controller. */
  launch?: LaunchOptions;
}

/** What commander hands over: strings and flags, nothing checked yet. */
export interface RawOptions extends RawLaunchOptions {
  script?: string;
  inputs?: string;
  output?: string;
  gpus?: string;
  workersPerGpu?: string;
  memoryHeadroom?: string;
  batchSize?: string;
  prefetch?: string;
  python?: string;
  opt?: string[];
  limit?: string;
  retries?: string;
  timeout?: string;
  grace?: string;
  resume?: boolean;
  retryFailed?: boolean;
  overwrite?: boolean;
  dryRun?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  listen?: string;
  advertise?: string;
  maxFailures?: string;
  failFast?: boolean;
  reportJunit?: string;
  reportJunitAll?: boolean;
}

function positiveInteger(flag: string, max: number) {
  return z
    .string()
    .trim()
    .regex(/^\d+$/, { message: `${flag} takes a whole number` })
    .transform(Number)
    .refine((n) => n >= 1 && n <= max, { message: `${flag} must be between 1 and ${max}` });
}

function seconds(flag: string) {
  return z
    .string()
    .trim()
    .regex(/^\d+(\.\d+)?$/, { message: `${flag} takes a number of seconds, such as 30 or 2.5` })
    .transform(Number)
    .refine((n) => n > 0, { message: `${flag} must be more than 0 seconds` });
}

const SIZE_UNITS: Record<string, number> = { b: 1, k: 2 ** 10, kib: 2 ** 10, kb: 1e3, m: 2 ** 20, mib: 2 ** 20, mb: 1e6, g: 2 ** 30, gib: 2 ** 30, gb: 1e9, t: 2 ** 40, tib: 2 ** 40, tb: 1e12 };

/** "2GiB", "1.5 GiB", "512MiB", "2G" (binary), "2GB" (decimal) -> bytes. */
export function parseSize(flag: string, text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = match ? SIZE_UNITS[(match[2] ?? '').toLowerCase() || 'none'] : undefined;
  if (!match || (unit === undefined && Number(match[1]) !== 0)) {
    throw new UsageError(`${flag} ${JSON.stringify(text)}: expected a size with its unit, such as 2GiB, 1.5GiB or 512MiB`);
  }
  return Math.round(Number(match[1]) * (unit ?? 1));
}

const numbers = z.object({
  workersPerGpu: z
    .string()
    .trim()
    .regex(/^(auto|\d+)$/, { message: '--workers-per-gpu takes a whole number or auto' })
    .transform((text) => (text === 'auto' ? ('auto' as const) : Number(text)))
    .refine((n) => n === 'auto' || (n >= 1 && n <= 64), { message: '--workers-per-gpu must be between 1 and 64, or auto' }),
  batchSize: positiveInteger('--batch-size', 65_536),
  prefetch: positiveInteger('--prefetch', 64),
  limit: positiveInteger('--limit', Number.MAX_SAFE_INTEGER).optional(),
  retries: z.string().trim().regex(/^\d+$/, { message: '--retries takes a whole number (0 or more)' }).transform(Number).refine((n) => n <= 100, { message: '--retries must be at most 100' }),
  timeout: seconds('--timeout').optional(),
  grace: seconds('--grace'),
  maxFailures: positiveInteger('--max-failures', Number.MAX_SAFE_INTEGER).optional(),
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

/** --report-junit and its companions, checked before anything starts (a report that cannot be written is known now, not after the run). */
function ciOptions(raw: RawOptions, cwd: string): Pick<RunConfig, 'reportJunit' | 'reportJunitAll'> {
  if (raw.failFast && raw.maxFailures !== undefined && raw.maxFailures.trim() !== '1') {
    throw new UsageError(`--fail-fast means --max-failures 1; it cannot go with --max-failures ${raw.maxFailures}: keep one of them`);
  }
  if (raw.reportJunitAll && !raw.reportJunit) throw new UsageError('--report-junit-all lists every item in the JUnit report: add --report-junit FILE');
  if (!raw.reportJunit) return { reportJunit: undefined, reportJunitAll: false };
  const report = path.resolve(cwd, raw.reportJunit);
  if (existsSync(report) && statSync(report).isDirectory()) throw new UsageError(`--report-junit ${raw.reportJunit}: is a directory; give a file path such as report.xml`);
  if (!existsSync(path.dirname(report))) throw new UsageError(`--report-junit ${raw.reportJunit}: the folder ${path.dirname(report)} does not exist; create it first`);
  return { reportJunit: report, reportJunitAll: raw.reportJunitAll ?? false };
}

export function buildRunConfig(raw: RawOptions, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): RunConfig {
  const missing = (['script', 'inputs', 'output'] as const).filter((name) => !raw[name]);
  if (missing.length > 0) {
    throw new UsageError(`missing ${missing.map((name) => `--${name}`).join(', ')}; see gpu-orchestrate --help for an example`);
  }
  const script = path.resolve(cwd, raw.script as string);
  if (!existsSync(script)) throw new UsageError(`--script ${raw.script}: no such file`);
  if (!statSync(script).isFile()) throw new UsageError(`--script ${raw.script}: not a file; give the path of a Python script`);

  try {
    accessSync(script, constants.R_OK);
  } catch (error) {
    throw new UsageError(`--script ${raw.script}: cannot be read (${describeFsError(error)}); make it readable, or give a copy you can read`);
  }

  const output = path.resolve(cwd, raw.output as string);
  const inputs = path.resolve(cwd, raw.inputs as string);
  checkOutputPath(raw.output as string, output, { '--script': script, ...(raw.inputs !== '-' && existsSync(inputs) ? { '--inputs': inputs } : {}) });

  if (raw.resume && raw.overwrite) throw new UsageError('--resume and --overwrite contradict each other: --resume continues the output, --overwrite starts it again');
  if (raw.retryFailed && raw.overwrite) throw new UsageError('--retry-failed continues an output; it cannot go with --overwrite');

  if (raw.memoryHeadroom !== undefined && raw.workersPerGpu?.trim() !== 'auto') {
    throw new UsageError(`--memory-headroom applies to --workers-per-gpu auto only (it decides when to stop adding replicas); add --workers-per-gpu auto or drop it`);
  }
  if (raw.advertise !== undefined && raw.listen === undefined) {
    throw new UsageError(`--advertise names the address device hosts connect to over TCP; it needs --listen (for example --listen 0.0.0.0 --advertise ${raw.advertise})`);
  }
  const memoryHeadroomBytes = parseSize('--memory-headroom', raw.memoryHeadroom ?? DEFAULTS.memoryHeadroom);
  const parsed = numbers.safeParse({
    workersPerGpu: raw.workersPerGpu?.trim() ?? String(DEFAULTS.workersPerGpu),
    batchSize: raw.batchSize ?? String(DEFAULTS.batchSize),
    prefetch: raw.prefetch ?? String(DEFAULTS.prefetch),
    limit: raw.limit,
    retries: raw.retries ?? String(DEFAULTS.retries),
    timeout: raw.timeout,
    grace: raw.grace ?? String(DEFAULTS.graceSeconds),
    maxFailures: raw.maxFailures,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = String(issue?.path[0] ?? '');
    const given = (raw as Record<string, unknown>)[field];
    throw new UsageError(`${issue?.message ?? 'bad option'} (got ${JSON.stringify(given)})`);
  }

  const ci = ciOptions(raw, cwd);
  const devices = parseDeviceRequest(raw.gpus ?? DEFAULTS.gpus);
  return {
    script,
    inputs: raw.inputs as string,
    output,
    devices,
    workersPerGpu: parsed.data.workersPerGpu,
    memoryHeadroomBytes,
    batchSize: parsed.data.batchSize,
    prefetch: parsed.data.prefetch,
    python: raw.python ?? env.GPU_ORCHESTRATE_PYTHON ?? DEFAULTS.python,
    options: parseScriptOptions(raw.opt ?? []),
    limit: parsed.data.limit,
    retries: parsed.data.retries,
    timeoutSeconds: parsed.data.timeout,
    graceSeconds: parsed.data.grace,
    // --retry-failed implies --resume: it only makes sense on an existing output.
    existingOutput: raw.resume || raw.retryFailed ? 'resume' : raw.overwrite ? 'overwrite' : 'refuse',
    retryFailed: raw.retryFailed ?? false,
    dryRun: raw.dryRun ?? false,
    quiet: raw.quiet ?? false,
    verbose: raw.verbose ?? false,
    listen: raw.listen === undefined ? undefined : parseListen(raw.listen, raw.advertise),
    maxFailures: raw.failFast ? 1 : parsed.data.maxFailures,
    ...ci,
    launch: buildLaunchOptions(raw, devices, env, cwd),
  };
}
