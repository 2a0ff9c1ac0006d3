/**
 * One run, from a validated config to an exit code: inputs, devices, the dry run, the checks
 * made before any device starts, the output (new, overwritten or resumed), then the session.
 * The inputs are opened here and read by the session as it runs (src/session/feed.ts).
 */
import { accessSync, constants, existsSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { Device, DeviceDiscovery } from './devices/devices.js';
import { systemDiscovery } from './devices/nvidia-smi.js';
import { ExitCode, UsageError } from './errors.js';
import { openInputs, type InputSource } from './inputs/read-inputs.js';
import { Journal, arraysPathFor } from './journal/journal.js';
import { OutputLock } from './journal/output-lock.js';
import { planResume } from './journal/resume.js';
import type { RunConfig } from './options/config.js';
import { commandLineWith } from './util/command-line.js';
import { describeFsError } from './util/fs-errors.js';
import { formatBytes } from './util/format-bytes.js';
import { runSession } from './session/session.js';
import { systemPorts } from './session/ports.js';
import { planLaunch, type LaunchPlan } from './launch/plan.js';
import type { SessionInputs } from './session/state.js';
import { planReplicas, type ReplicaPlan } from './scheduler/replica-plan.js';
import { preflight } from './workers/python.js';
import { withCiReports } from './report/ci-reports.js';
import { RunRecord } from './report/run-record.js';

export interface RunIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  isTTY: boolean;
  argv?: string[];
  discovery?: DeviceDiscovery;
  stdin?: NodeJS.ReadableStream;
  /** Where GITHUB_ACTIONS and GITHUB_STEP_SUMMARY are read; process.env unless a test gives its own. */
  env?: NodeJS.ProcessEnv;
}

function replicasText(config: RunConfig, plan: ReplicaPlan, device: Device): string {
  if (config.workersPerGpu !== 'auto') return `${config.workersPerGpu} replica(s)`;
  return plan.measured[device.index] ? `auto: 1 replica, growing to at most ${plan.maxReplicas} (memory headroom ${formatBytes(config.memoryHeadroomBytes)})` : (plan.notes[device.index] ?? 'auto');
}

function dryRunReport(config: RunConfig, plan: ReplicaPlan, launch: LaunchPlan, items: number, description: string, threads: number): string {
  const { devices } = launch;
  const lines = [
    `script:   ${config.script}`,
    `inputs:   ${items} items (${description})`,
    `output:   ${config.output}`,
    ...(launch.launch.launcher === 'local' ? [] : [`launcher: ${launch.description}`]),
    ...(config.listen ? [`listen:   tcp://${config.listen.host}${config.listen.port ? `:${config.listen.port}` : ''} (CURVE); hosts connect to ${config.listen.advertise}`] : []),
    `devices:  ${devices.length}`,
    ...devices.map((device) => `  ${device.label}  ${replicasText(config, plan, device)}, ${threads} CPU thread(s) each, CUDA_VISIBLE_DEVICES=${JSON.stringify(device.visibleDevices)}`),
    `replicas: ${config.workersPerGpu === 'auto' ? `${devices.length} to start, at most ${devices.length * plan.slotsPerDevice}` : devices.length * config.workersPerGpu} in all; batch size ${config.batchSize}, prefetch ${config.prefetch}`,
    `python:   ${config.python}`,
  ];
  if (Object.keys(config.options).length > 0) lines.push(`options:  ${Object.entries(config.options).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  return `${lines.join('\n')}\n(dry run: nothing was started)\n`;
}

function outputHasContent(file: string): boolean {
  return existsSync(file) && statSync(file).size > 0;
}

function atMost(count: number, limit: number | undefined): number {
  return limit === undefined ? count : Math.min(count, limit);
}

/** Every item, counted: a file's lines cheaply, a walk or standard input by reading it all (for --dry-run). */
async function countAll(source: InputSource, limit: number | undefined): Promise<number> {
  const counted = await source.count();
  if (counted !== undefined) return atMost(counted, limit);
  let count = 0;
  for await (const items of source.chunks()) {
    count += items.length;
    if (limit !== undefined && count >= limit) break;
  }
  return atMost(count, limit);
}

/** Opens the output as --resume / --overwrite say; returns the journal and how the session reads the inputs. */
async function openOutput(config: RunConfig, source: InputSource, counting: Promise<number | undefined>, say: (text: string) => void): Promise<{ journal: Journal; inputs: SessionInputs }> {
  if (config.existingOutput === 'resume' && existsSync(config.output)) {
    const plan = await planResume(config.output, source, { dropFailed: config.retryFailed, limit: config.limit });
    say(plan.notice);
    return { journal: new Journal(config.output, 'append'), inputs: { source, limit: config.limit, expected: plan.todo, status: plan.status, held: plan.held } };
  }
  // An output with content under 'refuse' was turned away before the preflight (run()).
  rmSync(arraysPathFor(config.output), { force: true });
  const counted = await counting;
  return { journal: new Journal(config.output, 'create'), inputs: { source, limit: config.limit, expected: counted === undefined ? undefined : atMost(counted, config.limit) } };
}

export async function run(given: RunConfig, io: RunIo): Promise<number> {
  // Reading the first item waits for it: on a terminal, say what it waits for instead of hanging silently.
  const stdin = io.stdin ?? process.stdin;
  if (given.inputs === '-' && (stdin as { isTTY?: boolean }).isTTY && !given.quiet) {
    io.stderr('reading the items from standard input, which is a terminal: type one a line, then Ctrl-D (or pipe them in: ls images/*.png | gpu-orchestrate ... --inputs -)\n');
  }
  // The run's own files are never its items, wherever the inputs' walk goes.
  const source = await openInputs(given.inputs, stdin, [given.output, arraysPathFor(given.output), `${given.output}.lock`]);
  const env = io.env ?? process.env;
  const launch = await planLaunch(given, { env, discovery: io.discovery ?? systemDiscovery() });
  // Hosts on other machines need TCP even without --listen: the plan chose where to listen.
  const config = { ...given, listen: launch.listen };
  const { devices } = launch;
  const plan = planReplicas(config.workersPerGpu, devices, launch.replicaCores, env.GPU_ORCHESTRATE_AUTO_MEASURE_CPU === '1');
  // Under auto, as many threads each as if every slot were in use: a replica added later must
  // not oversubscribe the cores.
  const threads = launch.threads(plan.slotsPerDevice);
  // Notices and warnings; --quiet means errors only (they are thrown, and printed by bin.ts).
  const notice = config.quiet ? () => undefined : io.stderr;
  for (const text of launch.notices(plan.slotsPerDevice)) notice(`${text}\n`);

  if (config.dryRun) {
    io.stdout(dryRunReport(config, plan, launch, await countAll(source, config.limit), source.description, threads));
    return ExitCode.ok;
  }
  // One writer per output, before anything of it is read, cut or written: a second run on it is
  // refused here, naming the run that holds it (src/journal/output-lock.ts).
  const lock = OutputLock.acquire(config.output, { pid: process.pid, command: commandLineWith(io.argv ?? [], { add: [], remove: [] }), started: new Date().toISOString() });
  try {
    if (lock.warning) notice(`warning: ${lock.warning}\n`);
    return await runLocked(config, io, { source, launch, plan, threads, notice });
  } finally {
    lock.release();
  }
}

/** What run() found before it took the output's lock. */
interface Prepared {
  source: InputSource;
  launch: LaunchPlan;
  plan: ReplicaPlan;
  threads: number;
  notice: (text: string) => void;
}

/** The rest of a run, with the output's lock held. */
async function runLocked(config: RunConfig, io: RunIo, { source, launch, plan, threads, notice }: Prepared): Promise<number> {
  if (existsSync(config.output)) {
    try {
      accessSync(config.output, constants.W_OK);
    } catch (error) {
      throw new UsageError(`--output ${config.output}: cannot write to it (${describeFsError(error)}); give another --output, or make it writable`);
    }
  }
  if (config.existingOutput === 'refuse' && outputHasContent(config.output)) {
    throw new UsageError(`${config.output} already exists. Pass --resume to continue it (only the items it lacks run), or --overwrite to start it again.`);
  }

  // From here on the run has started: whatever ends it, the reports CI reads are written.
  const record = new RunRecord(config.reportJunitAll ?? false);
  return withCiReports(config, record, { stdout: io.stdout, stderr: io.stderr, env: io.env ?? process.env }, () =>
    startedRun(config, io, { source, launch, threads, plan, record }),
  );
}

/** What runLocked() hands the run once it has started. */
interface Started {
  source: InputSource;
  launch: LaunchPlan;
  threads: number;
  plan: ReplicaPlan;
  record: RunRecord;
}

/** The run once started: the preflight, the output opened, the session. */
async function startedRun(config: RunConfig, io: RunIo, { source, launch, threads, plan, record }: Started): Promise<number> {
  const notice = config.quiet ? () => undefined : io.stderr;
  // A file's lines, counted while the preflight runs (a resume counts what is left instead).
  const counting = config.existingOutput === 'resume' && existsSync(config.output) ? Promise.resolve(undefined) : source.count();
  counting.catch(() => undefined); // awaited below; a failure is reported there
  await preflight(config.python, config.script);

  if (!(await source.hasItems())) {
    if (config.existingOutput !== 'resume') writeFileSync(config.output, '');
    notice(`nothing to do: ${source.description} holds no items; ${config.output} is empty\n`);
    return ExitCode.ok;
  }

  const { journal, inputs } = await openOutput(config, source, counting, notice);
  if (inputs.expected === 0) {
    journal.close();
    notice(`nothing to do: every item is already in ${config.output}\n`);
    return ExitCode.ok;
  }
  // The external launcher's command: the run cannot go on until someone runs it, so even --quiet shows it.
  if (launch.announce) io.stderr(`${launch.announce()}\n`);
  const setup = { config, io: { stderr: io.stderr, isTTY: io.isTTY, argv: io.argv ?? [] }, devices: launch.devices, inputs, journal, threadsPerReplica: threads, plan, record };
  return runSession(setup, { ...systemPorts, launcher: launch.launcher });
}
