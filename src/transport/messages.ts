/**
 * Message shapes on the wire, defined once for the TypeScript side.
 * The Python twin is python/gpu_orchestrate_worker/protocol.py; the cross-language test checks
 * that both agree. Everything the controller receives is validated here before it is used.
 */
import { z } from 'zod';

/**
 * 2: take_back moved off the task socket to the run's take-back publisher.
 * 3: one controller socket (a ROUTER) for everything, addressed by routing ids (below); the
 *    controller sends each host a heartbeat; a host's heartbeat names its incarnation.
 * 4: bundles: several batches in one task message (`batches`), the results of several batches
 *    in one message (`results`, with each batch's busy seconds); large arrays as frames of their
 *    own (codec.ts); replica_exit names the batch that was running.
 */
export const PROTOCOL_VERSION = 4;

const errorInfo = z.object({ type: z.string(), message: z.string(), traceback: z.string() });
export type ErrorInfo = z.infer<typeof errorInfo>;

const outcome = z.union([
  z.object({ ok: z.literal(true), result: z.unknown(), seconds: z.number() }),
  // oom: the item ran out of device memory alone; the controller retries it, elsewhere if it can.
  z.object({ ok: z.literal(false), error: errorInfo, seconds: z.number(), oom: z.boolean().optional() }),
]);
export type Outcome = z.infer<typeof outcome>;

const device = z.number().int().nonnegative();
const replicaRef = { v: z.literal(PROTOCOL_VERSION), device, replica: z.number().int().nonnegative() };
const generation = z.number().int().nonnegative();
const bytes = z.number().nonnegative();
const batchId = z.number().int().nonnegative();

/** One finished batch in a `results` message. */
const resultEntry = z.object({
  batch: batchId,
  outcomes: z.array(outcome),
  // Set when the batch ran out of device memory and was split: the largest size that then ran.
  batch_size_hint: z.number().int().positive().nullable().optional(),
  // Seconds the replica spent on the batch (taken to result encoded, preprocess waits included):
  // what the scheduler sizes the replica's credit by (credit.ts).
  busy: z.number().nonnegative(),
});
export type ResultEntry = z.infer<typeof resultEntry>;

export const eventSchema = z.discriminatedUnion('kind', [
  z.object({ ...replicaRef, kind: z.literal('ready'), pid: z.number().int(), generation }),
  // Every batch the replica finished since its last send, in the order it ran them.
  z.object({ ...replicaRef, kind: z.literal('results'), results: z.array(resultEntry).min(1) }),
  z.object({ ...replicaRef, kind: z.literal('script_error'), pid: z.number().int(), error: errorInfo }),
  z.object({ ...replicaRef, kind: z.literal('setup_error'), pid: z.number().int(), error: errorInfo }),
  // running: the batch the replica had started and not finished when it exited (its host read
  // it from the replica's marker); null: none. The batches before it ran, but their results may
  // not have been sent: they run again, unpunished.
  z.object({ ...replicaRef, kind: z.literal('replica_exit'), pid: z.number().int(), exitcode: z.number().int().nullable(), generation, running: batchId.nullable() }),
  // The replica gave back a batch it had not started, as the controller asked: it never runs it.
  z.object({ ...replicaRef, kind: z.literal('taken_back'), batch: z.number().int().nonnegative() }),
  // A host's heartbeat names which start of the device's host it is (a remote host's pid means
  // nothing to the controller), so a replaced host's late heartbeats do not count.
  z.object({ v: z.literal(PROTOCOL_VERSION), kind: z.literal('heartbeat'), device, pid: z.number().int(), incarnation: z.number().int().nonnegative() }),
  // A host's last message, once its replicas have exited: how a host that someone else started
  // (--launcher external) is known to be gone.
  z.object({ v: z.literal(PROTOCOL_VERSION), kind: z.literal('host_exit'), device, pid: z.number().int(), incarnation: z.number().int().nonnegative(), exitcode: z.number().int() }),
  // From a device host every few seconds: its device's memory in bytes (see protocol.py for
  // what each source measures) and utilization in percent when the source knows it.
  z.object({
    v: z.literal(PROTOCOL_VERSION),
    kind: z.literal('telemetry'),
    device,
    pid: z.number().int(),
    memory_used: bytes,
    memory_free: bytes,
    memory_total: bytes,
    utilization: z.number().min(0).max(100).nullable(),
    source: z.string().max(32),
  }),
  // From a device host whose script's load_shared() failed (or returned what cannot be shared).
  z.object({ v: z.literal(PROTOCOL_VERSION), kind: z.literal('shared_error'), device, pid: z.number().int(), error: errorInfo }),
]);
export type WorkerEvent = z.infer<typeof eventSchema>;

/** Limits what one event may weigh: a foreign sender cannot make the controller buffer gigabytes. */
export const MAX_EVENT_BYTES = 1 << 30;

/** One batch handed to a replica. */
export interface TaskBatch {
  batch: number;
  inputs: unknown[];
}

/**
 * Controller -> replica, on its task socket: every batch handed to that replica at once, in one
 * message. Batch ids on one task socket only grow, within a message and across messages (the
 * replica relies on it).
 */
export type TaskMessage = { v: typeof PROTOCOL_VERSION; kind: 'batches'; batches: TaskBatch[] } | { v: typeof PROTOCOL_VERSION; kind: 'stop' };

/** Controller -> replica, on its take-back socket. */
export type TakeBackMessage = { v: typeof PROTOCOL_VERSION; kind: 'take_back'; batch: number };

/** Batches for one replica, in the order of their ids. */
export function batchesMessage(batches: TaskBatch[]): TaskMessage {
  return { v: PROTOCOL_VERSION, kind: 'batches', batches };
}

/** Give back this batch if it has not started (the replica confirms with `taken_back`, or its result follows). */
export function takeBackMessage(batch: number): TakeBackMessage {
  return { v: PROTOCOL_VERSION, kind: 'take_back', batch };
}

export const stopMessage: TaskMessage = { v: PROTOCOL_VERSION, kind: 'stop' };

/** Controller -> device host. `heartbeat` every second: a host that hears nothing for its timeout stops. */
export type HostCommand =
  | { v: typeof PROTOCOL_VERSION; kind: 'start'; replica: number; generation: number }
  | { v: typeof PROTOCOL_VERSION; kind: 'shutdown' }
  | { v: typeof PROTOCOL_VERSION; kind: 'heartbeat' };

export function startCommand(replica: number, generationNumber: number): HostCommand {
  return { v: PROTOCOL_VERSION, kind: 'start', replica, generation: generationNumber };
}

export const shutdownCommand: HostCommand = { v: PROTOCOL_VERSION, kind: 'shutdown' };
export const heartbeatCommand: HostCommand = { v: PROTOCOL_VERSION, kind: 'heartbeat' };

/** One start of one replica: what the controller sends it is addressed to this generation only. */
export interface ReplicaPeer {
  device: number;
  replica: number;
  generation: number;
}

/** One start (incarnation) of a device's host. */
export interface HostPeer {
  device: number;
  incarnation: number;
}

/*
 * Routing ids: each socket a host or replica connects to the controller's ROUTER to be sent to
 * names itself with one (ZMQ_ROUTING_ID). A restart gets a new incarnation or generation, so a
 * new process never takes over the address of the one it replaces, and what was meant for the
 * old one cannot reach the new one. Python builds the same strings (protocol.py).
 */

/** A replica's task socket: batches and `stop`. */
export function taskRoute(peer: ReplicaPeer): string {
  return `t/${peer.device}/${peer.replica}/${peer.generation}`;
}

/** A replica's take-back socket, read by its own thread (a take-back must not wait behind the batch it asks back). */
export function takeBackRoute(peer: ReplicaPeer): string {
  return `b/${peer.device}/${peer.replica}/${peer.generation}`;
}

/** A device host's command socket. */
export function hostRoute(peer: HostPeer): string {
  return `h/${peer.device}/${peer.incarnation}`;
}

export type ParsedEvent = { ok: true; event: WorkerEvent } | { ok: false; reason: string };

/** Validate a decoded event; never throws, so a malformed message cannot stop the run. */
export function parseEvent(value: unknown): ParsedEvent {
  const parsed = eventSchema.safeParse(value);
  if (parsed.success) return { ok: true, event: parsed.data };
  const issue = parsed.error.issues[0];
  const where = issue && issue.path.length ? ` at ${issue.path.join('.')}` : '';
  return { ok: false, reason: `${issue?.message ?? 'invalid'}${where}` };
}
