/**
 * The fuzzer's core: feeds each target (a codec: a decoder and its encoder) with generated
 * inputs and reports what it found. `npm run fuzz` runs it in a worker under a watchdog
 * (`watchdog.ts`); `test/layout/fuzz.test.ts` runs a slice of it in-process.
 *
 * A case is one generated input, from a generator of its own, `new Rng(seed, stream)` with
 * the stream made of the target's name and the case index — so any case can be replayed
 * alone (`--target NAME --case I`). Even cases feed the decoder, odd cases the encoder, and a
 * target runs `count` of each (2 × `count` cases):
 *
 *   decoder case   decode(x): a throw is a refusal, which must carry a `code` in the
 *                  target's `codes`; a success must survive the round trip
 *                  decode(encode(decode(x))) = decode(x), encode and decode not throwing;
 *   encoder case   encode(v): the same rule for throws; a success must decode, and every
 *                  field v gives (not undefined) must come back equal.
 *
 * Findings: a throw without a code (a bare TypeError, RangeError or Error), a code the target
 * does not refuse with, a round-trip mismatch, a throw on the round trip, a slow case and (in
 * the worker) a hang. Synchronous code cannot be interrupted, so time is checked per batch of
 * {@link BATCH} cases: a batch slower than `caseLimitMs` is run again case by case, and a case
 * whose best of three runs is still over the limit is reported as slow. A case that never
 * returns is the watchdog's: it sees the heartbeat words stop moving and ends the worker.
 *
 * Decodes per second are decoder calls over the time spent in them (the first pass of each
 * batch, refusals included), not the generation or the checks.
 */

import { Rng } from '../src/sim/rng.js';

/** A codec the fuzzer drives. Inputs and values are whatever the target's functions take. */
export interface FuzzTarget {
  readonly name: string;
  /** Decodes one generated input; throws a coded error to refuse it. */
  decode(input: unknown): unknown;
  /** Encodes a value (a decoded one, or a generated encoder input) into a decoder input. */
  encode(value: unknown): unknown;
  /** The decoder input of a case: random, edge and malformed. */
  input(rng: Rng): unknown;
  /** The encoder input of a case: valid values and values with one field spoiled. */
  value(rng: Rng): unknown;
  /** Codes a refusal may carry (default `['EINVAL']`). */
  readonly codes?: readonly string[];
}

/** Options of {@link runFuzz}. */
export interface FuzzOptions {
  /** Run seed (default 1). */
  readonly seed?: number;
  /** Decoder cases per target, and as many encoder cases (default 1 000 000). */
  readonly count?: number;
  /** A case slower than this (best of three runs) is a finding (default 50 ms). */
  readonly caseLimitMs?: number;
  /** Only this case of each target (replaying a finding). */
  readonly onlyCase?: number;
  /** Start at this target index and, in it, this case (the watchdog's restart after a hang). */
  readonly startTarget?: number;
  readonly startCase?: number;
  /** Most findings kept per target (all are counted; default 20). */
  readonly keepFindings?: number;
  /**
   * Heartbeat words for a watchdog, over a SharedArrayBuffer: see {@link Heartbeat}. Written
   * with Atomics.store per case; the watchdog only reads them.
   */
  readonly heartbeat?: Int32Array;
  /** Per-target counters mirrored into shared memory, {@link STAT_FIELDS} per target. */
  readonly sharedStats?: Float64Array;
  /** Called with each finding kept, as it is found (the worker posts it at once). */
  readonly onFinding?: (f: Finding) => void;
}

/** Heartbeat word indices (Int32, written by the fuzzing thread only). */
export const Heartbeat = {
  /** Index of the target being fuzzed. */
  TARGET: 0,
  /** Index of the case being run. */
  CASE: 1,
  /** Bumped once per case run (also on re-runs): the watchdog's sign of progress. */
  BEAT: 2,
  /** 1 while fuzzing, 2 once done. */
  STATE: 3,
} as const;

/** Int32 words of the heartbeat. */
export const HEARTBEAT_WORDS = 4;

/**
 * Counters per target in {@link FuzzOptions.sharedStats}, in this order; `next` is the first
 * case not yet counted (the counters are written once per batch).
 */
export const STAT_FIELDS = [
  'cases',
  'decodes',
  'decodeMs',
  'refused',
  'encodeRefused',
  'findings',
  'next',
] as const;

/** What the fuzzer found. */
export interface Finding {
  readonly target: string;
  /** The case index: replay with `--target <target> --case <case>` and the same seed. */
  readonly case: number;
  readonly kind:
    | 'uncoded-throw'
    | 'unexpected-code'
    | 'round-trip'
    | 'round-trip-throw'
    | 'encode-mismatch'
    | 'slow'
    | 'hang';
  /** What happened, with the error message when there was one. */
  readonly message: string;
  /** The case's input, printed. */
  readonly input: string;
}

/** Counters of one target. */
export interface TargetStats {
  readonly target: string;
  cases: number;
  /** Decoder calls (the first pass of decoder cases). */
  decodes: number;
  /** Time in those calls, ms. */
  decodeMs: number;
  /** Decoder cases refused with a coded error. */
  refused: number;
  /** Encoder cases refused with a coded error. */
  encodeRefused: number;
  /** Findings, all counted. */
  findings: number;
}

/** The result of a run. */
export interface FuzzReport {
  readonly seed: number;
  readonly count: number;
  readonly stats: TargetStats[];
  /** The findings kept (at most `keepFindings` per target). */
  readonly findings: Finding[];
  readonly elapsedMs: number;
}

/** Cases per batch: the unit of the time check. */
export const BATCH = 256;

/** The generator stream of case `i` of target `name` (a safe integer). */
export function caseStream(name: string, i: number): number {
  let h = 0x811c_9dc5; // FNV-1a over the name
  for (let k = 0; k < name.length; k++) h = Math.imul(h ^ name.charCodeAt(k), 0x0100_0193);
  return (h >>> 12) * 0x1_0000_0000 + i;
}

/** The generated input of case `i` of `target` (what the case feeds its decoder or encoder). */
export function caseInput(target: FuzzTarget, seed: number, i: number): unknown {
  const rng = new Rng(seed, caseStream(target.name, i));
  return i % 2 === 0 ? target.input(rng) : target.value(rng);
}

/** True for a thrown value carrying a non-empty string `code`. */
export function codeOf(e: unknown): string | null {
  if (typeof e !== 'object' || e === null) return null;
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && code.length > 0 ? code : null;
}

function errorText(e: unknown): string {
  if (e instanceof Error) return `${e.constructor.name}: ${e.message}`;
  return `a thrown ${describe(e, 1)}`;
}

/**
 * Prints any value for a finding: bigints as hex, typed arrays and arrays up to 24 entries,
 * objects up to 3 levels; never runs code of the value except array and typed-array reads.
 */
export function describe(v: unknown, depth = 3): string {
  switch (typeof v) {
    case 'bigint':
      return `${v < 0n ? '-' : ''}0x${(v < 0n ? -v : v).toString(16)}n`;
    case 'string':
      return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
    case 'symbol':
      return 'Symbol()';
    case 'function':
      return 'function';
    case 'number':
      return Object.is(v, -0) ? '-0' : String(v);
    case 'undefined':
    case 'boolean':
      return String(v);
  }
  if (v === null) return 'null';
  if (depth <= 0) return '…';
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
    const a = v as unknown as ArrayLike<number | bigint>;
    const shown = Array.from({ length: Math.min(a.length, 24) }, (_, i) =>
      typeof a[i] === 'bigint' ? describe(a[i]) : `0x${(a[i] as number).toString(16)}`,
    );
    const tag = Object.prototype.toString.call(v).slice(8, -1);
    return `${tag}(${a.length})[${shown.join(', ')}${a.length > 24 ? ', …' : ''}]`;
  }
  if (Array.isArray(v)) {
    const n = Math.min(v.length, 24);
    const shown: string[] = [];
    for (let i = 0; i < n; i++) shown.push(i in v ? describe(v[i], depth - 1) : '<hole>');
    return `[${shown.join(', ')}${v.length > n ? `, … (${v.length})` : ''}]`;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) {
    return Object.prototype.toString.call(v).slice(8, -1);
  }
  const entries = Object.keys(v as object).map(
    (k) => `${k}: ${describe((v as Record<string, unknown>)[k], depth - 1)}`,
  );
  return `{${entries.join(', ')}}`;
}

/** Structural equality of decoded values: primitives, arrays, typed arrays, plain objects. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (ArrayBuffer.isView(a) || ArrayBuffer.isView(b)) {
    if (!ArrayBuffer.isView(a) || !ArrayBuffer.isView(b)) return false;
    const x = a as unknown as ArrayLike<unknown>;
    const y = b as unknown as ArrayLike<unknown>;
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
    return true;
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!Object.hasOwn(b, k)) return false;
    if (!deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) {
      return false;
    }
  }
  return true;
}

/**
 * True when every field `given` sets (not undefined) comes back equal in `got`, recursively
 * for nested objects: an encoder's input against what its output decodes to (fields left
 * out decode to their defaults and are not compared).
 */
export function fieldsMatch(given: unknown, got: unknown): boolean {
  if (
    typeof given !== 'object' ||
    given === null ||
    Array.isArray(given) ||
    ArrayBuffer.isView(given)
  ) {
    return deepEqual(given, got);
  }
  if (typeof got !== 'object' || got === null) return false;
  for (const k of Object.keys(given)) {
    const v = (given as Record<string, unknown>)[k];
    if (v === undefined) continue;
    if (!fieldsMatch(v, (got as Record<string, unknown>)[k])) return false;
  }
  return true;
}

/** What one case came to: nothing found, a refusal, or a finding. */
type Outcome =
  | { readonly kind: 'ok' }
  | { readonly kind: 'refused' }
  | { readonly kind: 'finding'; readonly finding: Omit<Finding, 'target' | 'case' | 'input'> };

const OK: Outcome = { kind: 'ok' };
const REFUSED: Outcome = { kind: 'refused' };

function thrownOutcome(target: FuzzTarget, what: string, e: unknown): Outcome {
  const code = codeOf(e);
  if (code === null) {
    return {
      kind: 'finding',
      finding: { kind: 'uncoded-throw', message: `${what} threw without a code: ${errorText(e)}` },
    };
  }
  if (!(target.codes ?? ['EINVAL']).includes(code)) {
    return {
      kind: 'finding',
      finding: {
        kind: 'unexpected-code',
        message: `${what} refused with ${code}: ${errorText(e)}`,
      },
    };
  }
  return REFUSED;
}

/** The checks after a successful decode of a decoder case: the round trip. */
function afterDecode(target: FuzzTarget, decoded: unknown): Outcome {
  let again: unknown;
  try {
    again = target.decode(target.encode(decoded));
  } catch (e) {
    return {
      kind: 'finding',
      finding: {
        kind: 'round-trip-throw',
        message: `encode(decode(x)) or its decode threw: ${errorText(e)}; decode(x) = ${describe(decoded)}`,
      },
    };
  }
  if (deepEqual(decoded, again)) return OK;
  return {
    kind: 'finding',
    finding: {
      kind: 'round-trip',
      message: `decode(encode(decode(x))) = ${describe(again)} ≠ decode(x) = ${describe(decoded)}`,
    },
  };
}

/** An encoder case, whole. */
function encoderCase(target: FuzzTarget, value: unknown): Outcome {
  let encoded: unknown;
  try {
    encoded = target.encode(value);
  } catch (e) {
    return thrownOutcome(target, 'encode', e);
  }
  let decoded: unknown;
  try {
    decoded = target.decode(encoded);
  } catch (e) {
    return {
      kind: 'finding',
      finding: {
        kind: 'round-trip-throw',
        message: `decode(encode(v)) threw: ${errorText(e)}; encode(v) = ${describe(encoded)}`,
      },
    };
  }
  if (fieldsMatch(value, decoded)) return OK;
  return {
    kind: 'finding',
    finding: {
      kind: 'encode-mismatch',
      message: `decode(encode(v)) = ${describe(decoded)} does not give back the fields of v`,
    },
  };
}

/** A decoder case, whole (the re-run of a slow batch). */
function decoderCase(target: FuzzTarget, input: unknown): Outcome {
  let decoded: unknown;
  try {
    decoded = target.decode(input);
  } catch (e) {
    return thrownOutcome(target, 'decode', e);
  }
  return afterDecode(target, decoded);
}

function newStats(target: string): TargetStats {
  return { target, cases: 0, decodes: 0, decodeMs: 0, refused: 0, encodeRefused: 0, findings: 0 };
}

/**
 * Runs every target for `count` decoder and `count` encoder cases (see the file header) and
 * returns the counters and findings. Synchronous; with a `heartbeat` a watchdog in another
 * thread can see it stall.
 */
export function runFuzz(targets: readonly FuzzTarget[], options: FuzzOptions = {}): FuzzReport {
  const seed = options.seed ?? 1;
  const count = options.count ?? 1_000_000;
  const limitMs = options.caseLimitMs ?? 50;
  const keep = options.keepFindings ?? 20;
  const hb = options.heartbeat;
  const shared = options.sharedStats;
  const t0 = performance.now();
  const stats: TargetStats[] = targets.map((t, i) => {
    const st = newStats(t.name);
    if (shared) {
      // a watchdog's restart continues the counters of the run before it
      const b = i * STAT_FIELDS.length;
      st.cases = shared[b]!;
      st.decodes = shared[b + 1]!;
      st.decodeMs = shared[b + 2]!;
      st.refused = shared[b + 3]!;
      st.encodeRefused = shared[b + 4]!;
      st.findings = shared[b + 5]!;
    }
    return st;
  });
  const findings: Finding[] = [];
  if (hb) Atomics.store(hb, Heartbeat.STATE, 1);
  const beat = (t: number, i: number): void => {
    if (!hb) return;
    // Heartbeat words: this thread is their only writer; the watchdog loads them. SeqCst
    // stores are enough (no ordering with other data is needed: a stale read only delays
    // the hang verdict by one poll).
    Atomics.store(hb, Heartbeat.TARGET, t);
    Atomics.store(hb, Heartbeat.CASE, i);
    Atomics.add(hb, Heartbeat.BEAT, 1);
  };

  for (let t = options.startTarget ?? 0; t < targets.length; t++) {
    const target = targets[t]!;
    const st = stats[t]!;
    const report = (i: number, input: unknown, f: Omit<Finding, 'target' | 'case' | 'input'>) => {
      st.findings++;
      const finding: Finding = { target: target.name, case: i, ...f, input: describe(input) };
      if (st.findings > keep) return;
      findings.push(finding);
      options.onFinding?.(finding);
    };
    const first = t === options.startTarget ? (options.startCase ?? 0) : 0;
    const only = options.onlyCase;
    const from = only ?? first;
    const to = only !== undefined ? only + 1 : 2 * count;
    const inputs: unknown[] = new Array(BATCH);
    const decoded: unknown[] = new Array(BATCH);
    const failed: unknown[] = new Array(BATCH);
    const threw = new Uint8Array(BATCH);
    for (let start = from; start < to; start += BATCH) {
      const n = Math.min(BATCH, to - start);
      for (let k = 0; k < n; k++) inputs[k] = caseInput(target, seed, start + k);
      const batchStart = performance.now();
      // Pass 1: the decoder cases' decode calls alone (what decodes/s measures).
      let decodes = 0;
      for (let k = (start & 1) === 0 ? 0 : 1; k < n; k += 2) {
        beat(t, start + k);
        decodes++;
        try {
          decoded[k] = target.decode(inputs[k]);
          threw[k] = 0;
        } catch (e) {
          failed[k] = e;
          threw[k] = 1;
        }
      }
      const decodeEnd = performance.now();
      st.decodes += decodes;
      st.decodeMs += decodeEnd - batchStart;
      // Pass 2: the checks of the decoder cases and the encoder cases, in case order.
      for (let k = 0; k < n; k++) {
        const i = start + k;
        let out: Outcome;
        if (i % 2 === 0) {
          beat(t, i);
          out =
            threw[k] === 1
              ? thrownOutcome(target, 'decode', failed[k])
              : afterDecode(target, decoded[k]);
          if (out.kind === 'refused') st.refused++;
        } else {
          beat(t, i);
          out = encoderCase(target, inputs[k]);
          if (out.kind === 'refused') st.encodeRefused++;
        }
        if (out.kind === 'finding') report(i, inputs[k], out.finding);
        decoded[k] = undefined;
        failed[k] = undefined;
      }
      st.cases += n;
      if (performance.now() - batchStart > limitMs) {
        // Too slow as a batch: time each case alone, best of three, to find the slow ones.
        for (let k = 0; k < n; k++) {
          const i = start + k;
          let best = Number.POSITIVE_INFINITY;
          for (let r = 0; r < 3 && best > limitMs; r++) {
            beat(t, i);
            const c0 = performance.now();
            if (i % 2 === 0) decoderCase(target, inputs[k]);
            else encoderCase(target, inputs[k]);
            best = Math.min(best, performance.now() - c0);
          }
          if (best > limitMs) {
            report(i, inputs[k], {
              kind: 'slow',
              message: `the case took ${best.toFixed(1)} ms at best of 3 runs (limit ${limitMs} ms)`,
            });
          }
        }
      }
      if (shared) {
        const s = t * STAT_FIELDS.length;
        shared[s] = st.cases;
        shared[s + 1] = st.decodes;
        shared[s + 2] = st.decodeMs;
        shared[s + 3] = st.refused;
        shared[s + 4] = st.encodeRefused;
        shared[s + 5] = st.findings;
        shared[s + 6] = start + n;
      }
      inputs.fill(undefined);
    }
  }
  if (hb) Atomics.store(hb, Heartbeat.STATE, 2);
  return { seed, count, stats, findings, elapsedMs: performance.now() - t0 };
}

/** Formats a report: one line per target, a total, then the findings kept. */
export function formatReport(r: FuzzReport, caseLimitMs: number): string {
  const lines = [
    `fuzz: seed ${r.seed}, ${r.count} decoder and ${r.count} encoder cases per target, case limit ${caseLimitMs} ms`,
    `${'target'.padEnd(22)}${'cases'.padStart(10)}${'decodes'.padStart(10)}${'decodes/s'.padStart(13)}${'refused'.padStart(10)}${'enc refused'.padStart(13)}${'findings'.padStart(10)}`,
  ];
  const rate = (n: number, ms: number) =>
    ms > 0 && n > 0 ? `${((n / ms) * 1000).toFixed(0).replace(/\B(?=(\d{3})+(?!\d))/g, ' ')}` : '-';
  const total = newStats('total');
  for (const s of [...r.stats, total]) {
    if (s !== total) {
      total.cases += s.cases;
      total.decodes += s.decodes;
      total.decodeMs += s.decodeMs;
      total.refused += s.refused;
      total.encodeRefused += s.encodeRefused;
      total.findings += s.findings;
    }
    lines.push(
      `${s.target.padEnd(22)}${String(s.cases).padStart(10)}${String(s.decodes).padStart(10)}${rate(s.decodes, s.decodeMs).padStart(13)}${String(s.refused).padStart(10)}${String(s.encodeRefused).padStart(13)}${String(s.findings).padStart(10)}`,
    );
  }
  lines.push(`${total.findings} finding(s) in ${(r.elapsedMs / 1000).toFixed(1)} s`);
  for (const f of r.findings) {
    lines.push(
      `- ${f.target} case ${f.case} (${f.kind}): ${f.message}\n    input: ${f.input}\n    replay: npm run fuzz -- --seed ${r.seed} --target ${f.target} --case ${f.case}`,
    );
  }
  return lines.join('\n');
}
