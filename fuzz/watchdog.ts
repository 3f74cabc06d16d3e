/**
 * Runs the fuzzer in a worker thread and watches it, so that a decoder that never returns is
 * found instead of hanging the run. Synchronous code cannot be interrupted from inside: the
 * fuzzing thread bumps a heartbeat word before every case, and this (main) thread polls it;
 * when the word has not moved for `hangMs` while the run is in progress, the case named by the
 * heartbeat is reported as a hang, the worker is terminated, and a new one continues with the
 * next case. The counters live in shared memory, so they survive the restart.
 */

import { Worker } from 'node:worker_threads';
import {
  caseInput,
  describe,
  type Finding,
  type FuzzOptions,
  type FuzzReport,
  type FuzzTarget,
  HEARTBEAT_WORDS,
  Heartbeat,
  STAT_FIELDS,
  type TargetStats,
} from './core.js';

const BOOTSTRAP = new URL('../src/runtime/ts-bootstrap.mjs', import.meta.url);
const WORKER = new URL('./fuzz.worker.ts', import.meta.url).href;

/** Options of {@link runFuzzWatched}. */
export interface WatchedOptions
  extends Omit<FuzzOptions, 'heartbeat' | 'sharedStats' | 'onFinding'> {
  /** File URL of the module holding the targets. */
  readonly targetsModule: string;
  /** Name of its export: a function returning the targets. */
  readonly targetsExport: string;
  /** Only these targets (by name); all when absent. */
  readonly targetNames?: readonly string[];
  /** A case running this long without returning is a hang (default 5 000 ms). */
  readonly hangMs?: number;
  /** Called with each finding as it arrives. */
  readonly onFinding?: (f: Finding) => void;
  /** Called when a target has run all its cases. */
  readonly onTargetDone?: (s: TargetStats) => void;
}

/** Runs the targets in a worker under the watchdog; resolves with the whole run's report. */
export async function runFuzzWatched(options: WatchedOptions): Promise<FuzzReport> {
  const mod = (await import(options.targetsModule)) as Record<string, () => FuzzTarget[]>;
  const all = mod[options.targetsExport]!();
  const names = options.targetNames ?? null;
  const targets = names === null ? all : all.filter((t) => names.includes(t.name));
  const seed = options.seed ?? 1;
  const count = options.count ?? 1_000_000;
  const hangMs = options.hangMs ?? 5000;
  const keep = options.keepFindings ?? 20;
  const hb = new Int32Array(new SharedArrayBuffer(HEARTBEAT_WORDS * 4));
  const statsSab = new SharedArrayBuffer(targets.length * STAT_FIELDS.length * 8);
  const shared = new Float64Array(statsSab);
  const findings: Finding[] = [];
  const t0 = performance.now();
  let startTarget = 0;
  let startCase = 0;
  const announced = new Set<number>();
  const statsOf = (t: number): TargetStats => {
    const b = t * STAT_FIELDS.length;
    return {
      target: targets[t]!.name,
      cases: shared[b]!,
      decodes: shared[b + 1]!,
      decodeMs: shared[b + 2]!,
      refused: shared[b + 3]!,
      encodeRefused: shared[b + 4]!,
      findings: shared[b + 5]!,
    };
  };
  const announce = (upTo: number) => {
    for (let t = 0; t < upTo; t++) {
      if (announced.has(t)) continue;
      announced.add(t);
      options.onTargetDone?.(statsOf(t));
    }
  };

  for (;;) {
    Atomics.store(hb, Heartbeat.STATE, 0);
    const outcome = await runOnce({
      targetsModule: options.targetsModule,
      targetsExport: options.targetsExport,
      targetNames: names,
      options: {
        seed,
        count,
        caseLimitMs: options.caseLimitMs,
        keepFindings: keep,
        onlyCase: options.onlyCase,
        startTarget,
        startCase,
      },
      heartbeat: hb.buffer as SharedArrayBuffer,
      stats: statsSab,
      hangMs,
      onFinding: (f) => {
        findings.push(f);
        options.onFinding?.(f);
      },
      onPoll: () => announce(Atomics.load(hb, Heartbeat.TARGET)),
    });
    if (outcome.kind === 'done') break;
    // a hang: count the cases of the unfinished batch, report the case, go on after it
    const { target: t, case: i } = outcome;
    const b = t * STAT_FIELDS.length;
    shared[b] = shared[b]! + Math.max(0, i + 1 - Math.max(shared[b + 6]!, startCaseOf(t)));
    shared[b + 5] = shared[b + 5]! + 1;
    shared[b + 6] = i + 1;
    const target = targets[t]!;
    const finding: Finding = {
      target: target.name,
      case: i,
      kind: 'hang',
      message: `the case did not return within ${hangMs} ms; the worker was ended`,
      input: describe(caseInput(target, seed, i)),
    };
    if (shared[b + 5]! <= keep) {
      findings.push(finding);
      options.onFinding?.(finding);
    }
    if (options.onlyCase !== undefined || i + 1 >= 2 * count) {
      startTarget = t + 1;
      startCase = 0;
    } else {
      startTarget = t;
      startCase = i + 1;
    }
    if (startTarget >= targets.length) break;
  }
  announce(targets.length);

  function startCaseOf(t: number): number {
    return t === startTarget ? startCase : 0;
  }

  return {
    seed,
    count,
    stats: targets.map((_, t) => statsOf(t)),
    findings,
    elapsedMs: performance.now() - t0,
  };
}

type Outcome = { kind: 'done' } | { kind: 'hang'; target: number; case: number };

/** Runs one worker until it is done or its heartbeat stops for `hangMs`. */
function runOnce(args: {
  targetsModule: string;
  targetsExport: string;
  targetNames: readonly string[] | null;
  options: FuzzOptions;
  heartbeat: SharedArrayBuffer;
  stats: SharedArrayBuffer;
  hangMs: number;
  onFinding: (f: Finding) => void;
  onPoll: () => void;
}): Promise<Outcome> {
  const hb = new Int32Array(args.heartbeat);
  const { hangMs, onFinding, onPoll, ...workerData } = args;
  const worker = new Worker(BOOTSTRAP, { workerData: { ...workerData, entry: WORKER } });
  return new Promise<Outcome>((resolve, reject) => {
    let lastBeat = -1;
    let lastChangeMs = performance.now();
    let settled = false;
    const finish = (f: () => void) => {
      if (settled) return;
      settled = true;
      clearInterval(timer);
      f();
    };
    const timer = setInterval(
      () => {
        onPoll();
        // Heartbeat words: written by the fuzzing thread only; SeqCst loads here.
        const beat = Atomics.load(hb, Heartbeat.BEAT);
        const now = performance.now();
        if (beat !== lastBeat) {
          lastBeat = beat;
          lastChangeMs = now;
          return;
        }
        if (Atomics.load(hb, Heartbeat.STATE) !== 1 || now - lastChangeMs < hangMs) return;
        const hang: Outcome = {
          kind: 'hang',
          target: Atomics.load(hb, Heartbeat.TARGET),
          case: Atomics.load(hb, Heartbeat.CASE),
        };
        finish(() => {
          void worker.terminate().then(() => resolve(hang), reject);
        });
      },
      Math.max(10, Math.min(250, hangMs / 4)),
    );
    worker.on('message', (m: { type: string; finding?: Finding }) => {
      if (m.type === 'finding') onFinding(m.finding!);
      else if (m.type === 'done') finish(() => resolve({ kind: 'done' }));
    });
    worker.on('error', (e) => finish(() => reject(e)));
    worker.on('exit', (code) => {
      finish(() => reject(new Error(`fuzz worker exited with code ${code} before it was done`)));
    });
  });
}
