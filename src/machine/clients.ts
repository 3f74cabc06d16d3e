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
 */

import type { Device } from '../device/device.js';
import { codedError, ErrorCode } from '../errors.js';
import type { DeviceInfo } from '../kernel/iommu.js';
import type { Process } from '../mem/index.js';
import type { Scenario } from '../scenario/types.js';
import { Completion, type KThread, type KThreadResult, spawn } from '../sim/kthread.js';
import { ClientMsg, MsgKind, MW } from '../sim/message.js';
import { Rng } from '../sim/rng.js';
import type { Endpoint } from '../sim/simulator.js';
import type { JobStream } from '../workload/job-stream.js';
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
}

/** Timer code of the end of client `i`'s lifetime: `i * 2 + T_LIFETIME`. */
const T_LIFETIME = 0;

/** The client slots of a run: their lifetimes, binds and CPU-side work (see the header). */
export class ClientPool implements Endpoint {
  readonly id: number;
  private readonly sys: System;
  private readonly sc: Scenario;
  private readonly rng: Rng;
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
      const bond = yield* sva.bind(c.device.info, p, 0, newHandle);
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
      c.process = null;
      this.live--;
      this.onSlotDone();
    }
  }

  /** A new process for the slot, with its buffers mapped and prefaulted as configured. */
  private newProcess(c: Client): Process {
    const sc = this.sc;
    const size = sc.clients.buffers.size;
    const p = this.sys.createProcess();
    c.process = p;
    this.live++;
    // sized once: an array grown by push reserves room for 17 (a client holds it all life)
    c.buffers = new Array<number>(sc.clients.buffers.count);
    for (let b = 0; b < c.buffers.length; b++) c.buffers[b] = p.mmap({ length: size, prot: 'rw' });
    const pre = sc.clients.buffers.prefault;
    for (let b = 0; b < c.buffers.length; b++) {
      if (pre === 'all' || (pre === 'src' && b === 0)) fill(p, c.buffers[b]!, size, c.index);
    }
    return p;
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
      // idxd-style: touch the faulting pages on the CPU (cpuFaultNs), then resubmit
      const src = pool.getWide(b + ClientMsg.SRC_WIDE);
      const dst = pool.getWide(b + ClientMsg.DST_WIDE);
      if (c.process?.alive) {
        touch(c.process, src, false);
        touch(c.process, dst, true);
      }
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

/** A CPU touch of `addr`, as the client's fault handler does before resubmitting. */
function touch(p: Process, addr: number, write: boolean): void {
  const vma = p.findVma(addr);
  if (vma && (!write || vma.write)) p.handleMmFault(addr, { write });
}
