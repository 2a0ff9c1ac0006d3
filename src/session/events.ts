/**
 * Everything the session reacts to comes through one queue as one of these, and is handled one
 * at a time: socket events, process exits, timers and signals share no state between callbacks.
 */
import type { Received } from '../transport/sockets.js';
import type { HostExit } from '../workers/fleet.js';
import type { InputsEvent } from './feed.js';

export type LoopEvent =
  | InputsEvent
  | { type: 'message'; received: Received }
  | { type: 'host-exit'; exit: HostExit }
  | { type: 'signal'; name: NodeJS.Signals }
  | { type: 'tick' }
  | { type: 'output-failed' }
  | { type: 'restart-replica'; device: number; replica: number; incarnation: number }
  | { type: 'restart-host'; device: number; incarnation: number };
