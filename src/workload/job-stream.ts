/**
 * The device side of SVA clients: the job streams of the clients using one accelerator
 * (DESIGN §3: everything that touches a device lives with it, everything that touches a
 * process lives with the engine). A stream starts when its client's process has bound and
 * sends CLIENT_START (PASID and buffer addresses), submits jobs at offsets chosen by the
 * access pattern — keeping `queueDepth` outstanding (closed loop) or at a rate (open loop) —
 * and stops on CLIENT_STOP, answering CLIENT_IDLE
 * once its last job finished. A job that ends with a page-fault status (no block-on-fault)
 * is reported with CLIENT_FAULT — the faulting operands and the bytes left — and stays
 * outstanding; the client touches the pages on the CPU and answers CLIENT_RESUBMIT, and the
 * stream submits the rest of the job from the faulting page (idxd's partial completion: the
 * submitter resumes the descriptor where it stopped), ahead of new jobs. Every exchange with
 * the engine side is a message over a link of `pcieLatencyNs` (a portal write one way, a
 * completion record the client polls the other), so a threaded runtime can put the two sides
 * in different threads.
 */

import type { Accelerator } from '../device/accelerator.js';
import type { PasidSource } from '../device/adversary.js';
import { type JobOpCode, type JobSpec, JobStatus } from '../device/job.js';
import { codedError, ErrorCode } from '../errors.js';
import { ClientMsg, MsgKind, MW } from '../sim/message.js';
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
  /** Called at each open-loop arrival (the jobs offered). */
  readonly onArrival?: () => void;
  /** Called when a client's stream starts (its PASID is bound): the hostile stream wakes. */
  readonly onStart?: () => void;
}

/** Flag bits of a client's stream. */
const ACTIVE = 1;
/** In the queue of streams waiting for a work-queue entry. */
const WAITING = 2;
/** Started since the last stop marker. */
const STARTED = 4;

const T_ARRIVAL = 1;

/**
 * A first-in first-out queue of numbers in a growable ring of float64s: an open loop past
 * capacity keeps a time per job waiting, so taking the oldest must not move the rest. Also
 * holds the rests of faulted jobs waiting to be resubmitted, as (offset, length, issued)
 * triples.
 */
class Float64Fifo {
  private ring = new Float64Array(8);
  private head = 0;
  length = 0;

  push(t: number): void {
    if (this.length === this.ring.length) {
      const grown = new Float64Array(this.ring.length * 2);
      for (let i = 0; i < this.length; i++)
        grown[i] = this.ring[(this.head + i) % this.ring.length]!;
      this.ring = grown;
      this.head = 0;
    }
    this.ring[(this.head + this.length) % this.ring.length] = t;
    this.length++;
  }

  /** The oldest number (the queue must not be empty). */
  shift(): number {
    const t = this.ring[this.head]!;
    this.head = (this.head + 1) % this.ring.length;
    this.length--;
    return t;
  }
}

/**
 * The job streams of one accelerator.
 *
 * The state of each client's stream lives in typed arrays indexed by the order clients were
 * added (`s` below), not in an object per client: a run may have a hundred thousand
 * clients, and an object with thirteen fields and its boxed addresses cost ~160 bytes each.
 */
export class JobStream implements Endpoint, PasidSource {
  readonly id: number;
  /** Clients whose stream is active now (between CLIENT_START and CLIENT_STOP). */
  activeClients = 0;
  private readonly sim: Simulator;
  private readonly accel: Accelerator;
  private readonly cfg: JobStreamConfig;
  /** Stream index of each client of this accelerator. */
  private readonly indexOf = new Map<number, number>();
  private count = 0;
  /** Per stream: its client, flags, PASID and buffers (while started), jobs in flight. */
  private client = new Int32Array(0);
  private flags = new Uint8Array(0);
  private pasid = new Int32Array(0);
  private src = new Float64Array(0);
  private dst = new Float64Array(0);
  private outstanding = new Int32Array(0);
  /** Jobs that ended, over every lifetime of the client. */
  private completed = new Float64Array(0);
  private backlog = new Float64Array(0);
  /** When the armed arrival timer is due (−1 none): other firings are stale. */
  private arrivalDueNs = new Float64Array(0);
  /**
   * The access pattern and the arrival draws of a stream, made on first use: most clients
   * of a large run never submit (or never draw an arrival), and a fresh one is the same
   * whenever it is made (it depends only on the seed and the client).
   */
  private readonly patterns = new Map<number, AccessPattern>();
  private readonly rngs = new Map<number, Rng>();
  private readonly spec: JobSpec = {
    op: 0,
    pasid: 0,
    src: 0,
    dst: 0,
    length: 0,
    pattern: 0,
    cookie: 0,
    issuedNs: 0,
  };
  /**
   * Open loop: the scheduled arrival times of each stream's backlog, oldest first (a job
   * waiting for a work-queue entry keeps its arrival time: its latency counts the wait).
   */
  private readonly arrivals = new Map<number, Float64Fifo>();
  /**
   * The rests of faulted jobs whose pages the client made present, waiting for a work-queue
   * entry: (offset in the buffers, bytes, when the job was first issued) triples, submitted
   * before new jobs.
   */
  private readonly resumes = new Map<number, Float64Fifo>();
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
    const s = this.count;
    if (s === this.client.length) this.grow(Math.max(16, s * 2));
    this.count++;
    this.indexOf.set(client, s);
    this.client[s] = client;
    this.arrivalDueNs[s] = -1;
  }

  private grow(n: number): void {
    const more = <T extends Int32Array | Uint8Array | Float64Array>(
      a: T,
      make: (n: number) => T,
    ): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    const i32 = (k: number) => new Int32Array(k);
    const f64 = (k: number) => new Float64Array(k);
    this.client = more(this.client, i32);
    this.flags = more(this.flags, (k) => new Uint8Array(k));
    this.pasid = more(this.pasid, i32);
    this.src = more(this.src, f64);
    this.dst = more(this.dst, f64);
    this.outstanding = more(this.outstanding, i32);
    this.completed = more(this.completed, f64);
    this.backlog = more(this.backlog, f64);
    this.arrivalDueNs = more(this.arrivalDueNs, f64);
  }

  /** Stream index of the `k`-th active client, in stream order (O(streams)). */
  private activeStream(k: number): number {
    let left = k;
    for (let s = 0; s < this.count; s++) {
      if (this.active(s) && left-- === 0) return s;
    }
    throw codedError(
      ErrorCode.ERR_INVARIANT,
      `job stream: no active client ${k} (${this.activeClients} active)`,
    );
  }

  /** PASID of the `k`-th active client (0 ≤ k < activeClients). */
  activePasid(k: number): number {
    return this.pasid[this.activeStream(k)]!;
  }

  /** First buffer (virtual address) of the `k`-th active client. */
  activeBuffer(k: number): number {
    return this.src[this.activeStream(k)]!;
  }

  /** True when an active client of this accelerator uses `pasid`. */
  hasActivePasid(pasid: number): boolean {
    for (let s = 0; s < this.count; s++) if (this.active(s) && this.pasid[s] === pasid) return true;
    return false;
  }

  /** Jobs of client `client` that ended so far (every lifetime). */
  completedJobs(client: number): number {
    const s = this.indexOf.get(client);
    return s === undefined ? 0 : this.completed[s]!;
  }

  private active(s: number): boolean {
    return (this.flags[s]! & ACTIVE) !== 0;
  }

  /**
   * Open loop: jobs that arrived on the clients' schedules and are not submitted yet (waiting
   * for a work-queue entry) — the backlog a load past capacity builds.
   */
  get backlogNow(): number {
    let n = 0;
    for (const due of this.arrivals.values()) n += due.length;
    return n;
  }

  /** Control messages from the engine side, and the stream's timers. */
  handle(arg: number): void {
    if (arg < 0) {
      const s = this.indexOf.get((-1 - arg) >> 1)!;
      // an arrival timer armed in an earlier lifetime fires at another time than the one due
      if (!this.active(s) || this.sim.nowNs !== this.arrivalDueNs[s]) {
        this.sim.noop();
        return;
      }
      this.backlog[s]!++;
      let due = this.arrivals.get(s);
      if (due === undefined) {
        due = new Float64Fifo();
        this.arrivals.set(s, due);
      }
      due.push(this.sim.nowNs);
      this.cfg.onArrival?.();
      this.armArrival(s);
      this.pump(s);
      return;
    }
    const pool = this.sim.pool;
    const w = pool.words;
    const b = pool.base(arg);
    const kind = w[b + MW.KIND]! & 0xff;
    const s = this.indexOf.get(w[b + ClientMsg.CLIENT]!);
    if (s === undefined) {
      throw codedError(
        ErrorCode.EINVAL,
        `job stream: message kind ${kind} for client ${w[b + ClientMsg.CLIENT]}, which is not ` +
          'one of this stream',
      );
    }
    switch (kind) {
      case MsgKind.CLIENT_START:
        if (!this.active(s)) this.activeClients++;
        this.flags[s] = this.flags[s]! | ACTIVE | STARTED;
        this.pasid[s] = w[b + ClientMsg.PASID]!;
        this.src[s] = pool.getWide(b + ClientMsg.SRC_WIDE);
        this.dst[s] = pool.getWide(b + ClientMsg.DST_WIDE);
        pool.release(arg);
        if (this.cfg.queueDepth > 0) {
          this.backlog[s] = this.cfg.queueDepth;
          this.pump(s);
        } else {
          this.armArrival(s);
        }
        this.cfg.onStart?.();
        return;
      case MsgKind.CLIENT_STOP:
        if (this.active(s)) this.activeClients--;
        this.flags[s] = this.flags[s]! & ~ACTIVE;
        this.backlog[s] = 0;
        this.arrivals.delete(s);
        this.resumes.delete(s);
        pool.release(arg);
        if (this.outstanding[s] === 0) this.goIdle(s);
        return;
      case MsgKind.CLIENT_RESUBMIT: {
        // the faulted job was outstanding until now
        this.outstanding[s]!--;
        const rest = w[b + ClientMsg.LENGTH]!;
        const off = pool.getWide(b + ClientMsg.SRC_WIDE) - this.src[s]!;
        const issued = pool.getWide(b + ClientMsg.ISSUED_NS_WIDE);
        pool.release(arg);
        if (!this.active(s)) {
          if (this.outstanding[s] === 0) this.goIdle(s);
          return;
        }
        if (rest > 0) {
          let q = this.resumes.get(s);
          if (q === undefined) {
            q = new Float64Fifo();
            this.resumes.set(s, q);
          }
          q.push(off);
          q.push(rest);
          q.push(issued);
        } else if (this.cfg.queueDepth === 0) {
          // the rest was dropped; an open loop's next job comes at its next arrival
          return;
        }
        // the rest, or (closed loop, the rest dropped) a new job in the faulted one's place
        this.backlog[s]!++;
        this.pump(s);
        return;
      }
      default:
        throw codedError(
          ErrorCode.EINVAL,
          `job stream: message kind ${kind} is none a stream receives (CLIENT_START, ` +
            'CLIENT_STOP, CLIENT_RESUBMIT)',
        );
    }
  }

  /**
   * The accelerator finished one of this stream's jobs, freeing a work-queue entry: streams
   * waiting for one go first, in the order they started waiting, then this stream.
   */
  jobDone(cookie: number, status: number, done: number, length: number, issuedNs: number): void {
    const s = this.indexOf.get(Math.floor(cookie / 65536))!;
    this.completed[s]!++;
    const fault = status === JobStatus.PAGE_FAULT && this.active(s);
    // a faulted job stays outstanding until the client answers CLIENT_RESUBMIT
    if (!fault) this.outstanding[s]!--;
    this.wakeWaiting();
    if (fault) {
      // the faulting operands and the bytes left: the client touches the pages on the CPU,
      // then the stream resubmits the rest from there
      const off = this.jobOffset[cookie % 65536]! + done;
      const src = this.src[s]! + off;
      this.reply(MsgKind.CLIENT_FAULT, s, src, this.dst[s]! + off, length - done, issuedNs);
    } else if (this.active(s) && this.cfg.queueDepth > 0) {
      this.backlog[s]!++;
      this.pump(s);
    }
    if (!this.active(s) && this.outstanding[s] === 0) this.goIdle(s);
  }

  /** The stream's last job is done after STOP: stop marker for its PASID, then CLIENT_IDLE. */
  private goIdle(s: number): void {
    if ((this.flags[s]! & STARTED) !== 0) {
      this.flags[s] = this.flags[s]! & ~STARTED;
      this.accel.sendStopMarker(this.pasid[s]!);
    }
    this.reply(MsgKind.CLIENT_IDLE, s, 0, 0, 0, 0);
  }

  /** Offset of each job slot's operands (by the low cookie bits). */
  private readonly jobOffset = new Float64Array(65536);
  private nextJob = 0;

  /**
   * Submits the stream's backlog while the work queue has room. A stream that finds it full
   * (or finds others already waiting for it) joins the queue of waiting streams and is woken
   * by the completion that frees an entry: no polling.
   */
  private pump(s: number): void {
    if ((this.flags[s]! & WAITING) !== 0) return;
    if (this.waitLen > 0) {
      if (this.active(s) && this.backlog[s]! > 0) this.wait(s);
      return;
    }
    this.submitBacklog(s);
  }

  private submitBacklog(s: number): void {
    while (this.active(s) && this.backlog[s]! > 0) {
      if (this.accel.space === 0) {
        this.wait(s);
        return;
      }
      this.submit(s);
      this.backlog[s]!--;
    }
  }

  /** Streams waiting for a work-queue entry, as a ring of stream indexes. */
  private waitRing = new Int32Array(16);
  private waitHead = 0;
  private waitLen = 0;

  private wait(s: number): void {
    if (this.waitLen === this.waitRing.length) {
      const bigger = new Int32Array(this.waitRing.length * 2);
      for (let i = 0; i < this.waitLen; i++) {
        bigger[i] = this.waitRing[(this.waitHead + i) % this.waitRing.length]!;
      }
      this.waitRing = bigger;
      this.waitHead = 0;
    }
    this.waitRing[(this.waitHead + this.waitLen) % this.waitRing.length] = s;
    this.waitLen++;
    this.flags[s] = this.flags[s]! | WAITING;
  }

  /** Hands free work-queue entries to the waiting streams, oldest first. */
  private wakeWaiting(): void {
    while (this.waitLen > 0 && this.accel.space > 0) {
      const s = this.waitRing[this.waitHead]!;
      this.waitHead = (this.waitHead + 1) % this.waitRing.length;
      this.waitLen--;
      this.flags[s] = this.flags[s]! & ~WAITING;
      this.submitBacklog(s);
    }
  }

  private armArrival(s: number): void {
    const client = this.client[s]!;
    let rng = this.rngs.get(s);
    if (rng === undefined) {
      rng = new Rng(this.cfg.seed, 20_000 + client);
      this.rngs.set(s, rng);
    }
    const gap = Math.max(1, Math.round(rng.exponential(this.cfg.openGapNs)));
    this.arrivalDueNs[s] = this.sim.nowNs + gap;
    this.sim.timer(gap, this.id, this.id, client * 2 + T_ARRIVAL);
  }

  /** Submits one job of the stream; the work queue has room. */
  private submit(s: number): void {
    const cfg = this.cfg;
    const client = this.client[s]!;
    let pattern = this.patterns.get(s);
    if (pattern === undefined) {
      pattern = createPattern(
        cfg.pattern,
        cfg.bufferBytes / 4096,
        new Rng(cfg.seed, 10_000 + client),
      );
      this.patterns.set(s, pattern);
    }
    // the rest of a faulted job first (issued when the job was), else the pattern's next
    // page: in an open loop issued at the oldest scheduled arrival not yet submitted, in a
    // closed loop now
    const resume = this.resumes.get(s);
    let off: number;
    let length: number;
    let issued: number;
    if (resume !== undefined && resume.length > 0) {
      off = resume.shift();
      length = resume.shift();
      issued = resume.shift();
    } else {
      off = Math.min(pattern.next() * 4096, cfg.bufferBytes - cfg.jobBytes);
      length = cfg.jobBytes;
      const due = this.arrivals.get(s);
      issued = due !== undefined && due.length > 0 ? due.shift() : this.sim.nowNs;
    }
    const job = this.nextJob;
    const spec = this.spec;
    spec.op = cfg.op;
    spec.pasid = this.pasid[s]!;
    spec.src = this.src[s]! + off;
    spec.dst = this.dst[s]! + off;
    spec.length = length;
    spec.pattern = client & 0xff;
    spec.cookie = client * 65536 + job;
    spec.issuedNs = issued;
    if (!this.accel.submit(spec))
      throw new Error('job stream: work queue full after checking its room');
    this.jobOffset[job] = off;
    this.nextJob = (job + 1) % 65536;
    this.outstanding[s]!++;
  }

  private reply(
    kind: number,
    s: number,
    a: number,
    b: number,
    length: number,
    issuedNs: number,
  ): void {
    const pool = this.sim.pool;
    const slot = pool.alloc();
    const mb = pool.base(slot);
    pool.words[mb + MW.KIND] = kind;
    pool.words[mb + MW.SRC] = this.id;
    pool.words[mb + ClientMsg.CLIENT] = this.client[s]!;
    pool.setWide(mb + ClientMsg.SRC_WIDE, a);
    pool.setWide(mb + ClientMsg.DST_WIDE, b);
    pool.words[mb + ClientMsg.LENGTH] = length;
    pool.setWide(mb + ClientMsg.ISSUED_NS_WIDE, issuedNs);
    this.sim.send(this.cfg.pcieLatencyNs, this.id, this.owner, slot);
  }
}
