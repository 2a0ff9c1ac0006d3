/**
 * One run, from a validated config to an exit code: inputs, devices, the dry run, the checks
 * made before any device starts, the output (new, overwritten or resumed), then the session.
 */
import { accessSync, constants, existsSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { Device, DeviceDiscovery } from './devices/devices.js';
import { systemDiscovery } from './devices/nvidia-smi.js';
import { ExitCode, UsageError } from './errors.js';
import { readInputs, type Item } from './inputs/read-inputs.js';
import { Journal, arraysPathFor } from './journal/journal.js';
import { OutputLock } from './journal/output-lock.js';
import { readJournal } from './journal/read-back.js';
import type { RunConfig } from './options/config.js';
import { commandLineWith } from './util/command-line.js';
import { describeFsError } from './util/fs-errors.js';
import { formatBytes } from './util/format-bytes.js';
import { runSession } from './session/session.js';
import { systemPorts } from './session/ports.js';
import { planLaunch, type LaunchPlan } from './launch/plan.js';
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

function dryRunReport(config: RunConfig, plan: ReplicaPlan, launch: LaunchPlan, items: Item[], description: string, threads: number): string {
  const { devices } = launch;
  const lines = [
    `script:   ${config.script}`,
    `inputs:   ${items.length} items (${description})`,
    `output:   ${config.output}`,
    ...(launch.launch.launcher === 'local' ? [] : [`launcher: ${launch.description}`]),
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

/** Opens the output as --resume / --overwrite say; returns the journal and the items still to do. */
async function openOutput(config: RunConfig, items: Item[], say: (text: string) => void): Promise<{ journal: Journal; todo: number[] }> {
  const all = items.map((_, index) => index);
  if (config.existingOutput === 'resume' && existsSync(config.output)) {
    const contents = await readJournal(config.output, { dropFailed: config.retryFailed });
    const todo = all.filter((index) => !contents.recorded.has((items[index] as Item).id));
    const ok = [...contents.recorded.values()].filter(Boolean).length;
    const notes = [
      contents.tornBytes > 0 ? `cut a torn last line (${contents.tornBytes} bytes)` : '',
      contents.removedFailed > 0 ? `${contents.removedFailed} failed item(s) to run again` : '',
      contents.unreadable > 0 ? `${contents.unreadable} unreadable line(s) skipped` : '',
      contents.recorded.size - ok > 0 ? `${contents.recorded.size - ok} failed item(s) kept (add --retry-failed to run them again)` : '',
    ].filter(Boolean);
    say(`resuming ${config.output}: ${ok} item(s) already done, ${todo.length} to run${notes.length ? `; ${notes.join('; ')}` : ''}\n`);
    return { journal: new Journal(config.output, 'append'), todo };
  }
  // An output with content under 'refuse' was turned away before the preflight (run()).
  rmSync(arraysPathFor(config.output), { force: true });
  return { journal: new Journal(config.output, 'create'), todo: all };
}

export async function run(config: RunConfig, io: RunIo): Promise<number> {
  const source = await readInputs(config.inputs, io.stdin);
  const items = config.limit === undefined ? source.items : source.items.slice(0, config.limit);
  const env = io.env ?? process.env;
  const launch = await planLaunch(config, { env, discovery: io.discovery ?? systemDiscovery() });
  const { devices } = launch;
  const plan = planReplicas(config.workersPerGpu, devices, launch.replicaCores, env.GPU_ORCHESTRATE_AUTO_MEASURE_CPU === '1');
  // Under auto, as many threads each as if every slot were in use: a replica added later must
  // not oversubscribe the cores.
  const threads = launch.threads(plan.slotsPerDevice);
  // Notices and warnings; --quiet means errors only (they are thrown, and printed by bin.ts).
  const notice = config.quiet ? () => undefined : io.stderr;
  for (const text of launch.notices(plan.slotsPerDevice)) notice(`${text}\n`);

  if (config.dryRun) {
    io.stdout(dryRunReport(config, plan, launch, items, source.description, threads));
    return ExitCode.ok;
  }
  // One writer per output, before anything of it is read, cut or written: a second run on it is
  // refused here, naming the run that holds it (src/journal/output-lock.ts).
  const lock = OutputLock.acquire(config.output, { pid: process.pid, command: commandLineWith(io.argv ?? [], { add: [], remove: [] }), started: new Date().toISOString() });
  try {
    if (lock.warning) notice(`warning: ${lock.warning}\n`);
    return await runLocked(config, io, { items, description: source.description, launch, plan, threads, notice });
  } finally {
    lock.release();
  }
}

/** What run() found before it took the output's lock. */
interface Prepared {
  items: Item[];
  description: string;
  launch: LaunchPlan;
  plan: ReplicaPlan;
  threads: number;
  notice: (text: string) => void;
}

/** The rest of a run, with the output's lock held. */
async function runLocked(config: RunConfig, io: RunIo, { items, description, launch, plan, threads, notice }: Prepared): Promise<number> {
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
    startedRun(config, io, { items, description, launch, threads, plan, record }),
  );
}

/** What runLocked() hands the run once it has started. */
interface Started {
  items: Item[];
  description: string;
  launch: LaunchPlan;
  threads: number;
  plan: ReplicaPlan;
  record: RunRecord;
}

/** The run once started: the preflight, the output opened, the session. */
async function startedRun(config: RunConfig, io: RunIo, { items, description, launch, threads, plan, record }: Started): Promise<number> {
  const notice = config.quiet ? () => undefined : io.stderr;
  await preflight(config.python, config.script);

  if (items.length === 0) {
    if (config.existingOutput !== 'resume') writeFileSync(config.output, '');
    notice(`nothing to do: ${description} holds no items; ${config.output} is empty\n`);
    return ExitCode.ok;
  }

  const { journal, todo } = await openOutput(config, items, notice);
  if (todo.length === 0) {
    journal.close();
    notice(`nothing to do: every item is already in ${config.output}\n`);
    return ExitCode.ok;
  }
  // The external launcher's command: the run cannot go on until someone runs it, so even --quiet shows it.
  if (launch.announce) io.stderr(`${launch.announce()}\n`);
  const setup = { config, io: { stderr: io.stderr, isTTY: io.isTTY, argv: io.argv ?? [] }, devices: launch.devices, items, todo, journal, threadsPerReplica: threads, plan, record };
  return runSession(setup, { ...systemPorts, launcher: launch.launcher });
}
