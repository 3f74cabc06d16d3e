/**
 * The device side of SVA clients: the job streams of the clients using one accelerator
 * (DESIGN §3: everything that touches a device lives with it, everything that touches a
 * process lives with the engine). A stream starts when its client's process has bound and
 * sends CLIENT_START (PASID and buffer addresses), submits jobs at offsets chosen by the
 * access pattern — keeping `queueDepth` outstanding (closed loop) or at a rate (open loop) —
 * and stops on CLIENT_STOP, answering CLIENT_IDLE
 * once its last job finished. A job that ends with a page-fault status (no block-on-fault)
 * is reported with CLIENT_FAULT; the client touches the pages on the CPU and answers
 * CLIENT_RESUBMIT. Every exchange with the engine side is a message over a link of
 * `pcieLatencyNs` (a portal write one way, a completion record the client polls the other),
 * so a threaded runtime can put the two sides in different threads.
 */

import type { Accelerator, JobOpCode, JobSpec } from '../device/accelerator.js';
import { JobStatus } from '../device/accelerator.js';
import { MsgKind, MW } from '../sim/message.js';
import { Rng } from '../sim/rng.js';
import type { Endpoint, Simulator } from '../sim/simulator.js';
import { type AccessPattern, createPattern, type PatternSpec } from './patterns.js';

/** What every stream of a run shares. */
export interface JobStreamConfig {
  readonly seed: number;
  readonly op: JobOpCode;
  readonly jobBytes: number;
  readonly bufferBytes: number;
  readonly pattern: PatternSpec;
  /** Closed loop: jobs kept outstanding; 0 for open loop. */
  readonly queueDepth: number;
  /** Open loop: mean gap between arrivals in ns; 0 for closed loop. */
  readonly openGapNs: number;
  readonly pcieLatencyNs: number;
}

/** One client's stream. */
interface Stream {
  readonly client: number;
  /**
   * The access pattern and the arrival draws, made on first use: most clients of a large
   * run never submit (or never draw an arrival), and a fresh stream is the same whenever
   * it is made (it depends only on the seed and the client).
   */
  pattern: AccessPattern | null;
  rng: Rng | null;
  active: boolean;
  pasid: number;
  src: number;
  dst: number;
  outstanding: number;
  /** Jobs that ended, over every lifetime of the client. */
  completed: number;
  backlog: number;
  /** When the armed arrival timer is due (−1 none): other firings are stale. */
  arrivalDueNs: number;
  /** In the queue of streams waiting for a work-queue entry. */
  waiting: boolean;
  /** Started since the last stop marker. */
  started: boolean;
}

const T_ARRIVAL = 1;

/** The job streams of one accelerator. */
export class JobStream implements Endpoint {
  readonly id: number;
  private readonly sim: Simulator;
  private readonly accel: Accelerator;
  private readonly cfg: JobStreamConfig;
  private readonly streams = new Map<number, Stream>();
  private readonly spec: JobSpec = {
    op: 0,
    pasid: 0,
    src: 0,
    dst: 0,
    length: 0,
    pattern: 0,
    cookie: 0,
  };
  /** Where CLIENT_IDLE and CLIENT_FAULT go (the engine-side client manager). */
  private readonly owner: number;

  constructor(sim: Simulator, accel: Accelerator, cfg: JobStreamConfig, owner: number) {
    this.sim = sim;
    this.accel = accel;
    this.cfg = cfg;
    this.owner = owner;
    this.id = sim.register(this);
    // a bad pattern is a configuration error: report it now, not at a client's first job
    createPattern(cfg.pattern, cfg.bufferBytes / 4096, new Rng(cfg.seed, 0));
  }

  /** Registers client `client` with this stream (before the run). */
  addClient(client: number): void {
    this.streams.set(client, {
      client,
      pattern: null,
      rng: null,
      active: false,
      pasid: 0,
      src: 0,
      dst: 0,
      outstanding: 0,
      completed: 0,
      backlog: 0,
      arrivalDueNs: -1,
      waiting: false,
      started: false,
    });
  }

  /** Jobs of client `client` that ended so far (every lifetime). */
  completedJobs(client: number): number {
    return this.streams.get(client)?.completed ?? 0;
  }

  /** Control messages from the engine side, and the stream's timers. */
  handle(arg: number): void {
    if (arg < 0) {
      const st = this.streams.get((-1 - arg) >> 1)!;
      // an arrival timer armed in an earlier lifetime fires at another time than the one due
      if (!st.active || this.sim.nowNs !== st.arrivalDueNs) {
        this.sim.noop();
        return;
      }
      st.backlog++;
      this.armArrival(st);
      this.pump(st);
      return;
    }
    const pool = this.sim.pool;
    const w = pool.words;
    const b = pool.base(arg);
    const kind = w[b + MW.KIND]! & 0xff;
    const st = this.streams.get(w[b + MW.A]!)!;
    switch (kind) {
      case MsgKind.CLIENT_START:
        st.active = true;
        st.started = true;
        st.pasid = w[b + MW.A + 1]!;
        st.src = pool.getWide(b + MW.A + 2);
        st.dst = pool.getWide(b + MW.A + 4);
        pool.release(arg);
        if (this.cfg.queueDepth > 0) {
          st.backlog = this.cfg.queueDepth;
          this.pump(st);
        } else {
          this.armArrival(st);
        }
        return;
      case MsgKind.CLIENT_STOP:
        st.active = false;
        st.backlog = 0;
        pool.release(arg);
        if (st.outstanding === 0) this.goIdle(st);
        return;
      case MsgKind.CLIENT_RESUBMIT:
        pool.release(arg);
        if (!st.active) return;
        st.backlog++;
        this.pump(st);
        return;
      default:
        throw new Error(`job stream: unexpected message kind ${kind}`);
    }
  }

  /**
   * The accelerator finished one of this stream's jobs, freeing a work-queue entry: streams
   * waiting for one go first, in the order they started waiting, then this stream.
   */
  jobDone(cookie: number, status: number, done: number): void {
    const st = this.streams.get(Math.floor(cookie / 65536))!;
    st.outstanding--;
    st.completed++;
    this.wakeWaiting();
    if (status === JobStatus.PAGE_FAULT && st.active) {
      // the faulting operands: the client touches them on the CPU, then resubmits
      const off = this.jobOffset[cookie % 65536]! + done;
      this.reply(MsgKind.CLIENT_FAULT, st, st.src + off, st.dst + off);
    } else if (st.active && this.cfg.queueDepth > 0) {
      st.backlog++;
      this.pump(st);
    }
    if (!st.active && st.outstanding === 0) this.goIdle(st);
  }

  /** The stream's last job is done after STOP: stop marker for its PASID, then CLIENT_IDLE. */
  private goIdle(st: Stream): void {
    if (st.started) {
      st.started = false;
      this.accel.sendStopMarker(st.pasid);
    }
    this.reply(MsgKind.CLIENT_IDLE, st, 0, 0);
  }

  /** Offset of each job slot's operands (by the low cookie bits). */
  private readonly jobOffset = new Float64Array(65536);
  private nextJob = 0;

  /**
   * Submits the stream's backlog while the work queue has room. A stream that finds it full
   * (or finds others already waiting for it) joins the queue of waiting streams and is woken
   * by the completion that frees an entry: no polling.
   */
  private pump(st: Stream): void {
    if (st.waiting) return;
    if (this.waitLen > 0) {
      if (st.active && st.backlog > 0) this.wait(st);
      return;
    }
    this.submitBacklog(st);
  }

  private submitBacklog(st: Stream): void {
    while (st.active && st.backlog > 0) {
      if (this.accel.space === 0) {
        this.wait(st);
        return;
      }
      this.submit(st);
      st.backlog--;
    }
  }

  /** Streams waiting for a work-queue entry, as a ring of client ids. */
  private waitRing = new Int32Array(16);
  private waitHead = 0;
  private waitLen = 0;

  private wait(st: Stream): void {
    if (this.waitLen === this.waitRing.length) {
      const bigger = new Int32Array(this.waitRing.length * 2);
      for (let i = 0; i < this.waitLen; i++) {
        bigger[i] = this.waitRing[(this.waitHead + i) % this.waitRing.length]!;
      }
      this.waitRing = bigger;
      this.waitHead = 0;
    }
    this.waitRing[(this.waitHead + this.waitLen) % this.waitRing.length] = st.client;
    this.waitLen++;
    st.waiting = true;
  }

  /** Hands free work-queue entries to the waiting streams, oldest first. */
  private wakeWaiting(): void {
    while (this.waitLen > 0 && this.accel.space > 0) {
      const st = this.streams.get(this.waitRing[this.waitHead]!)!;
      this.waitHead = (this.waitHead + 1) % this.waitRing.length;
      this.waitLen--;
      st.waiting = false;
      this.submitBacklog(st);
    }
  }

  private armArrival(st: Stream): void {
    st.rng ??= new Rng(this.cfg.seed, 20_000 + st.client);
    const gap = Math.max(1, Math.round(st.rng.exponential(this.cfg.openGapNs)));
    st.arrivalDueNs = this.sim.nowNs + gap;
    this.sim.timer(gap, this.id, this.id, st.client * 2 + T_ARRIVAL);
  }

  /** Submits one job of the stream; the work queue has room. */
  private submit(st: Stream): void {
    const cfg = this.cfg;
    st.pattern ??= createPattern(
      cfg.pattern,
      cfg.bufferBytes / 4096,
      new Rng(cfg.seed, 10_000 + st.client),
    );
    const page = st.pattern.next();
    const off = Math.min(page * 4096, cfg.bufferBytes - cfg.jobBytes);
    const job = this.nextJob;
    const s = this.spec;
    s.op = cfg.op;
    s.pasid = st.pasid;
    s.src = st.src + off;
    s.dst = st.dst + off;
    s.length = cfg.jobBytes;
    s.pattern = st.client & 0xff;
    s.cookie = st.client * 65536 + job;
    if (!this.accel.submit(s))
      throw new Error('job stream: work queue full after checking its room');
    this.jobOffset[job] = off;
    this.nextJob = (job + 1) % 65536;
    st.outstanding++;
  }

  private reply(kind: number, st: Stream, a: number, b: number): void {
    const pool = this.sim.pool;
    const slot = pool.alloc();
    const mb = pool.base(slot);
    pool.words[mb + MW.KIND] = kind;
    pool.words[mb + MW.SRC] = this.id;
    pool.words[mb + MW.A] = st.client;
    pool.setWide(mb + MW.A + 2, a);
    pool.setWide(mb + MW.A + 4, b);
    this.sim.send(this.cfg.pcieLatencyNs, this.id, this.owner, slot);
  }
}
