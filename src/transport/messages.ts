/**
 * Message shapes on the wire, defined once for the TypeScript side.
 * The Python twin is python/gpu_orchestrate_worker/protocol.py; the cross-language test checks
 * that both agree. Everything the controller receives is validated here before it is used.
 */
import { z } from 'zod';

/** 2: take_back moved off the task socket to the run's take-back publisher. */
export const PROTOCOL_VERSION = 2;

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

export const eventSchema = z.discriminatedUnion('kind', [
  z.object({ ...replicaRef, kind: z.literal('ready'), pid: z.number().int(), generation }),
  z.object({
    ...replicaRef,
    kind: z.literal('result'),
    batch: z.number().int().nonnegative(),
    outcomes: z.array(outcome),
    // Set when the batch ran out of device memory and was split: the largest size that then ran.
    batch_size_hint: z.number().int().positive().nullable().optional(),
  }),
  z.object({ ...replicaRef, kind: z.literal('script_error'), pid: z.number().int(), error: errorInfo }),
  z.object({ ...replicaRef, kind: z.literal('setup_error'), pid: z.number().int(), error: errorInfo }),
  z.object({ ...replicaRef, kind: z.literal('replica_exit'), pid: z.number().int(), exitcode: z.number().int().nullable(), generation }),
  // The replica gave back a batch it had not started, as the controller asked: it never runs it.
  z.object({ ...replicaRef, kind: z.literal('taken_back'), batch: z.number().int().nonnegative() }),
  z.object({ v: z.literal(PROTOCOL_VERSION), kind: z.literal('heartbeat'), device, pid: z.number().int() }),
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

/** Controller -> replica, on its task socket. Batch ids on one task socket only grow (the replica relies on it). */
export type TaskMessage = { v: typeof PROTOCOL_VERSION; kind: 'batch'; batch: number; inputs: unknown[] } | { v: typeof PROTOCOL_VERSION; kind: 'stop' };

/** Controller -> replica, on the run's take-back publisher, under takeBackTopic(device, replica). */
export type TakeBackMessage = { v: typeof PROTOCOL_VERSION; kind: 'take_back'; batch: number };

export function batchMessage(batch: number, inputs: unknown[]): TaskMessage {
  return { v: PROTOCOL_VERSION, kind: 'batch', batch, inputs };
}

/** Give back this batch if it has not started (the replica confirms with `taken_back`, or its result follows). */
export function takeBackMessage(batch: number): TakeBackMessage {
  return { v: PROTOCOL_VERSION, kind: 'take_back', batch };
}

/** A replica's topic on the take-back publisher; the trailing slash keeps 1/1/ from matching 1/10/. */
export function takeBackTopic(device: number, replica: number): string {
  return `${device}/${replica}/`;
}

export const stopMessage: TaskMessage = { v: PROTOCOL_VERSION, kind: 'stop' };

/** Controller -> device host. */
export type HostCommand =
  | { v: typeof PROTOCOL_VERSION; kind: 'start'; replica: number; generation: number }
  | { v: typeof PROTOCOL_VERSION; kind: 'shutdown' };

export function startCommand(replica: number, generationNumber: number): HostCommand {
  return { v: PROTOCOL_VERSION, kind: 'start', replica, generation: generationNumber };
}

export const shutdownCommand: HostCommand = { v: PROTOCOL_VERSION, kind: 'shutdown' };

export type ParsedEvent = { ok: true; event: WorkerEvent } | { ok: false; reason: string };

/** Validate a decoded event; never throws, so a malformed message cannot stop the run. */
export function parseEvent(value: unknown): ParsedEvent {
  const parsed = eventSchema.safeParse(value);
  if (parsed.success) return { ok: true, event: parsed.data };
  const issue = parsed.error.issues[0];
  const where = issue && issue.path.length ? ` at ${issue.path.join('.')}` : '';
  return { ok: false, reason: `${issue?.message ?? 'invalid'}${where}` };
}
