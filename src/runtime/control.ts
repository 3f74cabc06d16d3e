/**
 * The control plane of the threaded runtime, whole (DESIGN §3 "Planes"): what the main thread
 * may ask a worker while a run goes on, carried by comlink over a MessagePort, one command at
 * a time, every command answered; errors carry a string `code`. Data never travels here.
 *
 * A worker's simulation loop is synchronous, so it reads its MessagePort only when it lets
 * its event loop run. The main thread therefore counts every command it sends in the
 * worker's word of a small SharedArrayBuffer (`posted[p]`, Atomics.add after the
 * postMessage); the worker compares that word with the commands it has taken at every quantum
 * boundary — one Atomics.load — and, when they differ, lets its event loop run until it has
 * taken them all. Commands that act on the simulation (process lifecycle, bind, unbind) take
 * effect at that boundary, in simulated time: the agreed start of the next quantum, reported
 * back as `atNs`. Stop is not a command: it is a bit of the barrier's CONTROL word, so every
 * thread stops at the same boundary.
 *
 * No remote method is named `bind` or `then`: comlink never calls them (PLATFORM.md).
 */

import { type CodedError, codedError, ErrorCode } from '../errors.js';

/** Counters and time of one worker, as a snapshot. */
export interface PartitionStats {
  /** This worker's partition (0: the engine side). */
  readonly partition: number;
  /** Simulated time reached, ns. */
  readonly simulatedNs: number;
  /** Events run by this worker. */
  readonly events: number;
  /** Quanta run and records sent to other threads. */
  readonly quanta: number;
  readonly sentRecords: number;
}

/** What a worker's control endpoint offers. Methods marked "engine" need partition 0. */
export interface PartitionControl {
  /** A snapshot of this worker's counters and clocks. */
  stats(): PartitionStats;
  /** Engine: creates a process (an mm); resolves to its pid. */
  createProcess(): Promise<{ pid: number; atNs: number }>;
  /** Engine: maps `length` bytes in process `pid`; resolves to the base address. */
  mmap(pid: number, length: number, prot: 'r' | 'rw' | 'rx' | 'rwx'): Promise<{ addr: number }>;
  /** Engine: `svaBindDevice(device rid, process pid | null for supervisor, flags)`. */
  bindDevice(
    rid: number,
    pid: number | null,
    flags: number,
  ): Promise<{ handle: number; pasid: number; atNs: number }>;
  /** Engine: `svaGetPasid(handle)`. */
  getPasid(handle: number): Promise<number>;
  /** Engine: `svaUnbindDevice(handle)`; resolves when the unbind (and its drain) finished. */
  unbindDevice(handle: number): Promise<{ atNs: number }>;
  /** Engine: the process exits (release runs if it is still bound). */
  exitProcess(pid: number): Promise<{ atNs: number }>;
}

/** Names of the {@link PartitionControl} methods (for checks and tests). */
export const CONTROL_METHODS = [
  'stats',
  'createProcess',
  'mmap',
  'bindDevice',
  'getPasid',
  'unbindDevice',
  'exitProcess',
] as const;

/** Stable codes of control-plane errors. */
export const ControlErrorCode = {
  /** The command needs the engine's worker. */
  ENGINE_ONLY: ErrorCode.ERR_ENGINE_ONLY,
  /** The run has ended (or is ending): no quantum boundary is left to act at. */
  ENDED: ErrorCode.ERR_RUN_ENDED,
  /** No such process, device or handle. */
  ENOENT: ErrorCode.ENOENT,
} as const;

/** Builds a control-plane error with a stable `code`. */
export function controlError(
  code: (typeof ControlErrorCode)[keyof typeof ControlErrorCode],
  message: string,
): CodedError {
  return codedError(code, message);
}
