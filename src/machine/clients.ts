/**
 * SVA clients and their churn, engine side (DESIGN §1 "Workload"): each client slot runs
 * successive processes, each bound to the slot's device for one lifetime.
 *
 * A client is a process with its buffers, bound to one device (client i → device i mod n).
 * Its job stream (workload/job-stream.ts) lives with the device and keeps `queueDepth` jobs
 * outstanding (closed loop) or submits at a rate (open loop). With churn, after its bind
 * lifetime (exponential with the given mean) the client stops its stream, optionally munmaps
 * or mprotects its destination buffer, waits for its jobs, then unbinds and exits — or exits
 * while still bound and unbinds after (release first, then teardown) — and a new process
 * takes the slot. Everything is drawn from the seed.
 *
 * The two halves of a client talk only through messages over a link of `pcieLatencyNs`, so
 * the threaded runtime can put them on different threads.
 *
 * Running out is an outcome, not a crash (machine/failures.ts logs each with its simulated
 * time). A bind that fails for want of a PASID or a frame (ENOSPC, ENOMEM) is retried by the
 * same process, its buffers kept, after an exponential backoff with jitter
 * ({@link RETRY_FIRST_NS} doubling up to {@link RETRY_MAX_NS}), the way a service waits for
 * another user to release the resource; every attempt is one failed bind. A process that
 * cannot be set up (no frame for its root table or a prefaulted page) exits at once — its
 * frames come back — and the slot starts a new one after the same backoff. A CPU touch after
 * a device fault that runs out of frames fails that job (`jobsFailed`) and the client goes on
 * with its next one. A run that stops while a client waits ends that client's slot.
 */

import type { Device } from '../device/device.js';
import { codedError, ErrorCode } from '../errors.js';
import type { DeviceInfo } from '../kernel/iommu.js';
import type { SvaBond } from '../kernel/sva.js';
import type { Process } from '../mem/index.js';
import { Counter } from '../metrics/counters.js';
import { FailureKind } from '../report/types.js';
import type { Scenario } from '../scenario/types.js';
import { Completion, type KThread, type KThreadResult, spawn } from '../sim/kthread.js';
import { ClientMsg, MsgKind, MW } from '../sim/message.js';
import { Rng } from '../sim/rng.js';
import type { Endpoint } from '../sim/simulator.js';
import type { JobStream } from '../workload/job-stream.js';
import { isAllocFailure } from './failures.js';
import type { System } from './system.js';

/** Engine-side state of one client slot (its job stream lives with its device). */
interface Client {
  readonly index: number;
  process: Process | null;
  buffers: number[];
  device: Device<DeviceInfo>;
  /** The device's job stream. */
  stream: JobStream;
  handle: object | null;
  /** Completes at the end of a lifetime or when the run stops. */
  readonly wake: Completion;
  /** Completes when the stream reports CLIENT_IDLE. */
  readonly idle: Completion;
  /** Failed attempts since the last successful bind (the backoff's exponent). */
  retries: number;
}

/**
 * Timer code of the end of client `i`'s lifetime or backoff: `i * 2 + T_LIFETIME` (both
 * complete the client's `wake`).
 */
const T_LIFETIME = 0;

/**
 * First backoff after a failed bind or process set-up, ns: a few binds' worth of kernel work
 * (a bind costs some µs of invalidation-queue waits), so a PASID freed meanwhile is found soon.
 */
export const RETRY_FIRST_NS = 10_000;

/**
 * Longest backoff, ns: well under a default bind lifetime (5 ms), so a waiting client finds a
 * PASID or frames within about 1 ms of another client leaving.
 */
export const RETRY_MAX_NS = 1_000_000;

/** The error code of a thrown value, if it has one. */
function codeOf(e: unknown): string | undefined {
  return (e as { code?: string } | null)?.code;
}

/** The client slots of a run: their lifetimes, binds and CPU-side work (see the header). */
export class ClientPool implements Endpoint {
  readonly id: number;
  private readonly sys: System;
  private readonly sc: Scenario;
  private readonly rng: Rng;
  /** Jitter of the backoffs (its own stream: a run that never fails draws nothing from it). */
  private readonly retryRng: Rng;
  private readonly clients: Client[] = [];
  /** Client processes alive now. */
  live = 0;
  /** Set once the run stops: no new lifetime starts. */
  stopping = false;
  /** Called when a client slot has ended for good (after a stop). */
  onSlotDone: () => void = () => {};

  /** Registers the pool's endpoint; call before the accelerators are added. */
  constructor(sys: System, sc: Scenario) {
    this.sys = sys;
    this.sc = sc;
    this.rng = new Rng(sc.seed, 7);
    this.retryRng = new Rng(sc.seed, 8);
    this.id = sys.sim.register(this);
  }

  /**
   * Creates the client slots over the devices' job streams; with `engineSide`, starts their
   * lives (the thread that runs the engine's partition owns the processes).
   */
  start(streams: readonly JobStream[], engineSide: boolean): void {
    const devices = this.sys.devices;
    for (let i = 0; i < this.sc.clients.count; i++) {
      const dev = devices[i % devices.length]!;
      const stream = streams[dev.index]!;
      stream.addClient(i);
      const c: Client = {
        index: i,
        process: null,
        buffers: [],
        device: dev,
        stream,
        handle: null,
        wake: new Completion(),
        idle: new Completion(),
        retries: 0,
      };
      this.clients.push(c);
      if (engineSide) {
        spawn(this.life(c), rethrow);
      }
    }
  }

  /** Ends every client's lifetime now (the wake-up is an event, inside the simulation). */
  stopAll(): void {
    this.stopping = true;
    const sim = this.sys.sim;
    for (const c of this.clients) sim.timer(0, this.id, this.id, c.index * 2 + T_LIFETIME);
  }

  /**
   * One client slot: successive client processes, each bound for one lifetime. The thread
   * body only sleeps; what it does between sleeps is in plain methods, so each of many
   * sleeping clients holds a small generator frame.
   */
  private *life(c: Client): KThread<void> {
    const sva = this.sys.sva;
    while (!this.stopping) {
      const p = this.newProcess(c);
      if (p === null) {
        // out of frames while setting up: the process is gone, a new one tries later
        yield* this.backoff(c);
        continue;
      }
      let bond: SvaBond | null = null;
      while (bond === null && !this.stopping) {
        try {
          bond = yield* sva.bind(c.device.info, p, 0, newHandle);
        } catch (e) {
          this.bindFailed(c, p, e);
          yield* this.backoff(c);
        }
      }
      if (bond === null) {
        // stopped while waiting for a PASID or frames: never bound, the process leaves
        this.leave(c, p);
        continue;
      }
      c.retries = 0;
      c.handle = bond.handle;
      c.wake.reinit();
      if (this.begin(c, bond.svm.pasid)) yield c.wake;
      // End of the lifetime: stop the stream (jobs may still be in flight), optionally take
      // part of the address space away, wait for the stream to go idle, then leave.
      this.end(c, p);
      yield c.idle;
      if (this.rng.next() < this.sc.clients.churn.exitWhileBound) {
        p.exit();
        yield* sva.unbind(c.handle);
      } else {
        yield* sva.unbind(c.handle);
        p.exit();
      }
      c.handle = null;
      this.left(c);
    }
  }

  /** The slot's process has exited: the slot is free (and, after a stop, done). */
  private left(c: Client): void {
    c.process = null;
    this.live--;
    this.onSlotDone();
  }

  /** An unbound process leaves: it exits (its frames come back) and the slot is free. */
  private leave(c: Client, p: Process): void {
    p.exit();
    this.left(c);
  }

  /**
   * Logs a failed bind of the client (the kernel layer counted it: system.ts) and rethrows
   * what is not a lack of PASIDs or frames — a scenario error or a bug, not an outcome.
   */
  private bindFailed(c: Client, p: Process, e: unknown): void {
    const code = codeOf(e);
    if (!isAllocFailure(code)) throw e;
    this.sys.failures.add({
      tNs: this.sys.sim.nowNs,
      kind: FailureKind.BIND,
      code: code!,
      message: (e as Error).message,
      rid: c.device.rid,
      pid: p.id,
      client: c.index,
    });
  }

  /**
   * Sleeps for the client's next backoff: {@link RETRY_FIRST_NS} doubling per failed attempt
   * up to {@link RETRY_MAX_NS}, half of it fixed and half drawn (equal jitter, so the waiting
   * clients spread out). A stop wakes it at once; after a stop it does not sleep.
   */
  private *backoff(c: Client): KThread<void> {
    if (this.stopping) return;
    const ceiling = Math.min(RETRY_MAX_NS, RETRY_FIRST_NS * 2 ** Math.min(c.retries, 30));
    c.retries++;
    const delay = Math.max(1, Math.round(ceiling / 2 + (this.retryRng.next() * ceiling) / 2));
    c.wake.reinit();
    this.sys.sim.timer(delay, this.id, this.id, c.index * 2 + T_LIFETIME);
    yield c.wake;
  }

  /**
   * A new process for the slot, with its buffers mapped and prefaulted as configured; null
   * when that ran out of frames (logged and counted; the process, if it was created, exited).
   */
  private newProcess(c: Client): Process | null {
    const sc = this.sc;
    const size = sc.clients.buffers.size;
    let p: Process;
    try {
      p = this.sys.createProcess();
    } catch (e) {
      this.setupFailed(c, null, FailureKind.PROCESS, e);
      return null;
    }
    c.process = p;
    this.live++;
    let stage: FailureKind = FailureKind.PROCESS;
    try {
      // sized once: an array grown by push reserves room for 17 (a client holds it all life)
      c.buffers = new Array<number>(sc.clients.buffers.count);
      for (let b = 0; b < c.buffers.length; b++) {
        c.buffers[b] = p.mmap({ length: size, prot: 'rw' });
      }
      stage = FailureKind.PREFAULT;
      const pre = sc.clients.buffers.prefault;
      for (let b = 0; b < c.buffers.length; b++) {
        if (pre === 'all' || (pre === 'src' && b === 0)) fill(p, c.buffers[b]!, size, c.index);
      }
    } catch (e) {
      this.setupFailed(c, p, stage, e);
      this.leave(c, p);
      return null;
    }
    return p;
  }

  /**
   * Counts and logs a process set-up that ran out (ENOMEM: a frame, or room in the address
   * space); rethrows anything else. No device is involved: the totals count it, no device.
   */
  private setupFailed(c: Client, p: Process | null, kind: FailureKind, e: unknown): void {
    const code = codeOf(e);
    if (!isAllocFailure(code)) throw e;
    this.sys.allocFailed(-1, {
      kind,
      code: code!,
      message: (e as Error).message,
      ...(p ? { pid: p.id } : {}),
      client: c.index,
    });
  }

  /**
   * The bound client starts its stream and, with churn, arms the end of its lifetime; false
   * when the run is stopping (the lifetime ends at once).
   */
  private begin(c: Client, pasid: number): boolean {
    if (this.stopping) return false;
    this.control(MsgKind.CLIENT_START, c, pasid, c.buffers[0]!, c.buffers[c.buffers.length - 1]!);
    const churn = this.sc.clients.churn;
    if (churn.enabled) {
      const life = Math.max(1, Math.round(this.rng.exponential(churn.bindLifetime)));
      this.sys.sim.timer(life, this.id, this.id, c.index * 2 + T_LIFETIME);
    }
    return true;
  }

  /** Stops the client's stream and, as the roll says, munmaps or mprotects its destination. */
  private end(c: Client, p: Process): void {
    const churn = this.sc.clients.churn;
    const size = this.sc.clients.buffers.size;
    c.idle.reinit();
    this.control(MsgKind.CLIENT_STOP, c, 0, 0, 0);
    const roll = this.rng.next();
    const dst = c.buffers[c.buffers.length - 1]!;
    if (roll < churn.munmapFraction) p.munmap(dst, size);
    else if (roll < churn.munmapFraction + churn.mprotectFraction) p.mprotect(dst, size, 'r');
  }

  /** Sends a control message to a client's job stream (one PCIe hop). */
  private control(kind: number, c: Client, pasid: number, src: number, dst: number): void {
    const pool = this.sys.sim.pool;
    const slot = pool.alloc();
    const b = pool.base(slot);
    pool.words[b + MW.KIND] = kind;
    pool.words[b + MW.SRC] = this.id;
    pool.words[b + ClientMsg.CLIENT] = c.index;
    pool.words[b + ClientMsg.PASID] = pasid;
    pool.setWide(b + ClientMsg.SRC_WIDE, src);
    pool.setWide(b + ClientMsg.DST_WIDE, dst);
    this.sys.sim.send(this.sys.cost.pcieLatencyNs, this.id, c.stream.id, slot);
  }

  /**
   * The client's CPU touch of a faulting job's operands. Out of frames (ENOMEM) the fault
   * cannot be served: the job failed (`jobsFailed`, the device's too), the failure is counted
   * and logged, and the client goes on with its next job (the resubmission).
   */
  /** Touches the faulting operands; false when a page could not be made present. */
  private touchBoth(c: Client, p: Process, src: number, dst: number): boolean {
    try {
      return touch(p, src, false) && touch(p, dst, true);
    } catch (e) {
      const code = codeOf(e);
      if (code !== 'ENOMEM') throw e;
      const i = c.device.index;
      this.sys.allocFailed(i, {
        kind: FailureKind.CPU_FAULT,
        code,
        message: (e as Error).message,
        rid: c.device.rid,
        pid: p.id,
        client: c.index,
      });
      this.sys.counters.add(Counter.jobsFailed);
      this.sys.deviceCounters[i]!.add(Counter.jobsFailed);
      return false;
    }
  }

  /** Lifetime timers, and messages from the job streams (idle, fault). */
  handle(arg: number): void {
    const sim = this.sys.sim;
    if (arg < 0) {
      const c = this.clients[(-1 - arg) >> 1]!;
      // a lifetime timer that fires after the stop already ended that lifetime: nothing to do
      if (c.wake.done) sim.noop();
      else c.wake.complete();
      return;
    }
    const pool = sim.pool;
    const b = pool.base(arg);
    const kind = pool.words[b + MW.KIND]! & 0xff;
    const c = this.clients[pool.words[b + ClientMsg.CLIENT]!];
    if (c === undefined) {
      throw codedError(
        ErrorCode.EINVAL,
        `client pool: message kind ${kind} for client ${pool.words[b + ClientMsg.CLIENT]}, of ${this.clients.length}`,
      );
    }
    if (kind === MsgKind.CLIENT_IDLE) {
      pool.release(arg);
      c.idle.complete();
      return;
    }
    if (kind === MsgKind.CLIENT_FAULT) {
      // idxd-style: touch the faulting pages on the CPU (cpuFaultNs), then resubmit the rest
      // of the job from there; when a page cannot be made present the rest is dropped
      // (LENGTH 0) and the stream goes on with its next job
      const src = pool.getWide(b + ClientMsg.SRC_WIDE);
      const dst = pool.getWide(b + ClientMsg.DST_WIDE);
      const p = c.process;
      if (!(p?.alive && this.touchBoth(c, p, src, dst))) pool.words[b + ClientMsg.LENGTH] = 0;
      pool.words[b + MW.KIND] = MsgKind.CLIENT_RESUBMIT;
      pool.words[b + MW.SRC] = this.id;
      sim.send(this.sys.cost.cpuFaultNs + this.sys.cost.pcieLatencyNs, this.id, c.stream.id, arg);
      return;
    }
    throw codedError(ErrorCode.EINVAL, `client pool: unexpected message kind ${kind}`);
  }
}

/** A client's bond handle: only its identity matters, so it has no fields. */
class ClientHandle {}

/** The public handle of a new bond. */
function newHandle(): object {
  return new ClientHandle();
}

/** A client thread that failed fails the run. */
function rethrow(r: KThreadResult<void>): void {
  if (r.error !== undefined) throw r.error;
}

/** CPU-side prefault: writes byte `(seed + page) & 0xff` over every page of the buffer. */
function fill(p: Process, base: number, size: number, seed: number): void {
  p.fillPages(base, size, (page) => (seed + page) & 0xff);
}

/**
 * A CPU touch of `addr`, as the client's fault handler does before resubmitting; false when
 * the access is not allowed (no mapping, or a write to a read-only one).
 */
function touch(p: Process, addr: number, write: boolean): boolean {
  const vma = p.vmaAt(addr);
  if (!vma || (write && !vma.write)) return false;
  return p.serviceFault(addr, { write }) === 'ok';
}
