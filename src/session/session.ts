/**
 * One run's session, by stage: start (sockets, hosts, view), loop (one event at a time, then
 * hand out work), stop (every process, the view, the sockets, the output) and report. Policies
 * live in src/scheduler/ (what to retry, where, when to restart, when to give up); the modules
 * beside this one carry them out and write what they decide.
 */
import { batchesMessage, type TaskBatch } from '../transport/messages.js';
import { drain } from './drain.js';
import type { LoopEvent } from './events.js';
import { inputsEnded, inputsFailed, inputsRead } from './inputs.js';
import { hostLost, restartHost, restartReplica } from './losses.js';
import { outputFailedError } from './output-failure.js';
import { systemPorts, type SessionPorts } from './ports.js';
import { report } from './report.js';
import { routeMessage } from './route.js';
import { openSession, type Session, type SessionSetup } from './state.js';
import { onTick } from './watch.js';

export type { SessionIo, SessionSetup } from './state.js';

/** After the last result: how long hosts get to stop their replicas cleanly before SIGTERM. */
const STOP_TIMEOUT_MS = 10_000;
const TICK_MS = 250;

/** Runs the session to its end; returns the exit code, or throws the error that stopped the run. */
export async function runSession(setup: SessionSetup, ports: SessionPorts = systemPorts): Promise<number> {
  let session: Session;
  try {
    session = await openSession(setup, ports);
  } catch (error) {
    setup.journal.close();
    ports.launcher.close?.();
    throw error;
  }
  const offSignal = ports.onSignal((name) => session.queue.push({ type: 'signal', name }));
  session.journal.onFailure(() => session.queue.push({ type: 'output-failed' }));
  const stopTicks = ports.clock.every(TICK_MS, () => session.queue.push({ type: 'tick' }));
  try {
    start(session);
    await loop(session);
    const finishedAt = session.clock.now(); // rates end with the last result, not with the processes' exit
    for (const { stats } of session.devices) stats.finishedAt ??= finishedAt;
  } finally {
    stopTicks();
    await stop(session);
    offSignal();
    ports.launcher.close?.();
  }
  return report(session);
}

function start(session: Session): void {
  session.view.start();
  session.feed.start((event) => session.queue.push(event));
  void session.transport.receiveLoop((received) => session.queue.push({ type: 'message', received }));
  for (const { device, stats } of session.devices) {
    session.fleet.startHost(device, session.clock.now());
    stats.state = 'loading model';
  }
}

function finished(session: Session): boolean {
  const { scheduler, flags } = session;
  if (scheduler.isDone) return true;
  return flags.draining && (scheduler.inFlightItems === 0 || session.clock.now() >= flags.graceDeadline);
}

async function loop(session: Session): Promise<void> {
  const { flags } = session;
  while (!finished(session) && !flags.fatal && !flags.abortNow) {
    handle(session, await session.queue.next());
    // No new work once a result could not be written: it could not be written either.
    if (!flags.draining && !flags.fatal && !session.journal.failure) dispatch(session);
  }
}

function handle(session: Session, event: LoopEvent): void {
  switch (event.type) {
    case 'message':
      return routeMessage(session, event.received);
    case 'tick':
      return onTick(session);
    case 'signal':
      return onSignal(session, event.name);
    case 'inputs':
      return inputsRead(session, event.items);
    case 'inputs-ended':
      return inputsEnded(session);
    case 'inputs-failed':
      return inputsFailed(session, event.error);
    case 'output-failed':
      // Stop as for any fatal error: no new work, every process stopped, the output closed.
      if (session.journal.failure) session.flags.fatal ??= outputFailedError(session, session.journal.failure);
      return;
    case 'restart-replica':
      return restartReplica(session, event.device, event.replica, event.incarnation);
    case 'host-exit': {
      const entry = session.devices[event.exit.device];
      return entry && hostLost(session, entry, event.exit);
    }
    case 'restart-host': {
      const entry = session.devices[event.device];
      return entry && restartHost(session, entry, event.incarnation);
    }
  }
}

/**
 * Work to every replica with room, each replica's batches in one message; then, for any left
 * with nothing, an unstarted batch asked back from another.
 */
function dispatch(session: Session): void {
  const { scheduler, transport } = session;
  const now = session.clock.now();
  const bundles = new Map<string, { device: number; replica: number; batches: TaskBatch[] }>();
  for (const assignment of scheduler.assign(now)) {
    const inputs = assignment.items.map((ordinal) => session.feed.item(ordinal)?.input);
    session.devices[assignment.device]?.stats.batches.sent(assignment.replica, assignment.batch, assignment.items.length, now); // for the ETA
    const key = `${assignment.device}/${assignment.replica}`;
    const bundle = bundles.get(key) ?? { device: assignment.device, replica: assignment.replica, batches: [] };
    bundle.batches.push({ batch: assignment.batch, inputs }); // ids grow: assign() numbers them as it goes
    bundles.set(key, bundle);
  }
  for (const { device, replica, batches } of bundles.values()) {
    // Not awaited: a send to a replica that just died must not stall the loop; its exit report
    // puts the batches back.
    transport.send(session.fleet.replicaPeer(device, replica), batchesMessage(batches)).catch(() => undefined);
  }
  for (const { device, replica, batch } of scheduler.takeBacks()) transport.takeBack(session.fleet.replicaPeer(device, replica), batch);
  session.feed.level(scheduler.freshQueued); // read on while what is queued runs low
}

/** Ctrl-C (or SIGTERM, or Slurm's SIGUSR2) once: no new work, in-flight batches get the grace; twice: stop at once. */
function onSignal(session: Session, name: NodeJS.Signals): void {
  const { flags } = session;
  if (flags.draining) {
    // Already stopping: the first signal's second press, or a first one while --max-failures stops the run.
    session.view.log(flags.drainCause === 'signal' ? `${name} again: stopping at once` : `${name}: stopping at once (the run was already stopping: --max-failures was reached)`);
    flags.abortNow = true;
    return;
  }
  drain(session, 'signal');
  session.view.log(`${name}: no new work; waiting up to ${session.config.graceSeconds} s for the ${session.scheduler.inFlightItems} item(s) in flight. Press Ctrl-C again to stop at once.`);
}

/**
 * While hosts stop, the one message that still matters is a host's last (host_exit): a host that
 * someone else started counts as gone by it, and the sockets must stay open until it came, or the
 * shutdown command still on its way to that host would be lost with them.
 */
async function whileStopping(session: Session, stopped: Promise<void>): Promise<void> {
  let done = false;
  const ended = stopped.then(() => {
    done = true;
  });
  while (!done) {
    const event = await Promise.race([session.queue.next(), ended]);
    if (event?.type === 'message' && event.received.ok && event.received.event.kind === 'host_exit') routeMessage(session, event.received);
  }
}

async function stop(session: Session): Promise<void> {
  const { flags } = session;
  // A batch still running when --grace ran out is cut: its replica cannot take a stop message,
  // so waiting STOP_TIMEOUT_MS for a clean stop would only extend the grace.
  const cut = flags.draining && session.scheduler.inFlightItems > 0;
  const mode = flags.abortNow ? 'kill' : flags.fatal || cut ? 'terminate' : 'clean';
  session.feed.stop();
  try {
    await whileStopping(session, session.fleet.stopAll(mode, STOP_TIMEOUT_MS, session.clock.now()));
  } finally {
    for (const { stats } of session.devices) {
      stats.finishedAt ??= session.clock.now();
      // A run stopped by a fatal error, --max-failures or a signal did not finish its devices'
      // work: say so, not "done" (a signal is the user's doing: "interrupted").
      if (stats.state !== 'failed' && stats.state !== 'out') {
        stats.state = flags.fatal || flags.drainCause === 'max-failures' ? 'stopped' : flags.draining ? 'interrupted' : 'done';
      }
    }
    await session.view.stop();
    session.transport.close();
    session.journal.close();
  }
}
