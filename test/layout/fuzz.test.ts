import { describe, expect, it } from 'vitest';
import {
  caseInput,
  type FuzzTarget,
  formatReport,
  runFuzz,
  type TargetStats,
} from '../../fuzz/core.js';
import { allTargets } from '../../fuzz/targets.js';
import { runFuzzWatched } from '../../fuzz/watchdog.js';
import { decodeContextEntry, encodeContextEntry } from '../../src/layout/index.js';
import { HANG_INPUT, hangingTargets } from './fuzz-broken-targets.js';

/** The counters that do not depend on the machine (everything but the time). */
const counts = (s: TargetStats) => ({ ...s, decodeMs: 0 });

/** A generous per-case limit: the slice checks the codecs, not the machine's speed. */
const CASE_LIMIT_MS = 1000;

describe('npm run fuzz, a fixed-seed slice', () => {
  it('finds nothing in 2 000 cases (1 000 decoder, 1 000 encoder) of every target', () => {
    const targets = allTargets();
    const report = runFuzz(targets, { seed: 1, count: 1000, caseLimitMs: CASE_LIMIT_MS });
    expect(report.findings).toEqual([]);
    expect(report.stats.map((s) => s.target)).toEqual([
      'page-request',
      'page-group-response',
      'inv-desc',
      'inv-desc-u32',
      'root-entry',
      'context-entry',
      'pasid-dir-entry',
      'pasid-entry',
      'fault-record',
      'pte',
      'dev-tlb-range',
      'message',
      'ring-record',
      'wide-value',
    ]);
    for (const s of report.stats) {
      expect(s.cases, s.target).toBe(2000);
      expect(s.decodes, s.target).toBe(1000);
      // both outcomes are exercised: some inputs decode (and round-trip), some are refused
      expect(s.refused, s.target).toBeGreaterThan(50);
      expect(s.refused, s.target).toBeLessThan(950);
      if (s.target !== 'ring-record') expect(s.encodeRefused, s.target).toBeGreaterThan(50);
    }
  });

  it('gives the same counters for the same seed, and other ones for another seed', () => {
    const run = (seed: number) =>
      runFuzz(allTargets(), { seed, count: 150, caseLimitMs: CASE_LIMIT_MS }).stats.map(counts);
    const a = run(7);
    expect(run(7)).toEqual(a);
    expect(run(8)).not.toEqual(a);
  });
});

describe('the fuzzer on deliberately broken codecs', () => {
  const contextEntry = allTargets().find((t) => t.name === 'context-entry')!;

  it('reports a decoder that throws a bare TypeError, with a case that replays it', () => {
    const broken: FuzzTarget = {
      ...contextEntry,
      name: 'context-entry-typeerror',
      decode(x) {
        // a decoder that dereferences what it was given without looking at it
        if (!Array.isArray(x)) return (x as { length: { n: number } }).length.n;
        return decodeContextEntry(x);
      },
    };
    const report = runFuzz([broken], { seed: 1, count: 200, caseLimitMs: CASE_LIMIT_MS });
    const uncoded = report.findings.filter((f) => f.kind === 'uncoded-throw');
    expect(uncoded.length).toBeGreaterThan(0);
    expect(report.stats[0]!.findings).toBeGreaterThanOrEqual(uncoded.length);
    const f = uncoded[0]!;
    expect(f.target).toBe('context-entry-typeerror');
    expect(f.message).toMatch(/^decode threw without a code: TypeError: /);
    // the case index and seed give the same input back
    expect(() => broken.decode(caseInput(broken, 1, f.case))).toThrow(TypeError);
    expect(formatReport(report, CASE_LIMIT_MS)).toContain(
      `replay: npm run fuzz -- --seed 1 --target context-entry-typeerror --case ${f.case}`,
    );
  });

  it('reports an encoder that breaks the round trip, on both kinds of case', () => {
    const broken: FuzzTarget = {
      ...contextEntry,
      name: 'context-entry-flips-fpd',
      // bit 1 (FPD) flipped on the way out
      encode: (v) => {
        const q = encodeContextEntry(v as never);
        q[0] = q[0]! ^ 2n;
        return q;
      },
    };
    const report = runFuzz([broken], { seed: 1, count: 100, caseLimitMs: CASE_LIMIT_MS });
    const kinds = new Set(report.findings.map((f) => f.kind));
    expect(kinds).toEqual(new Set(['round-trip', 'encode-mismatch']));
    const rt = report.findings.find((f) => f.kind === 'round-trip')!;
    expect(rt.message).toMatch(/^decode\(encode\(decode\(x\)\)\) = \{p: \w+, fpd: \w+, /);
  });

  it('reports a refusal with a code the codec must not use', () => {
    const broken: FuzzTarget = {
      ...contextEntry,
      name: 'context-entry-enomem',
      decode() {
        throw Object.assign(new Error('out of memory'), { code: 'ENOMEM' });
      },
    };
    const report = runFuzz([broken], { seed: 1, count: 5, caseLimitMs: CASE_LIMIT_MS });
    expect(report.findings[0]).toMatchObject({
      kind: 'unexpected-code',
      case: 0,
      message: 'decode refused with ENOMEM: Error: out of memory',
    });
  });

  it('reports a case slower than the limit, timing it alone', () => {
    const slow: FuzzTarget = {
      name: 'slow-on-zero',
      decode(x) {
        if (x === 0) {
          const until = performance.now() + 30;
          while (performance.now() < until) {}
        }
        return x;
      },
      encode: (v) => v,
      input: (rng) => rng.int(20),
      value: (rng) => 1 + rng.int(19),
    };
    const slowCases = Array.from({ length: 100 }, (_, i) => i).filter(
      (i) => i % 2 === 0 && caseInput(slow, 3, i) === 0,
    );
    expect(slowCases.length).toBeGreaterThan(0);
    const report = runFuzz([slow], { seed: 3, count: 50, caseLimitMs: 10 });
    const found = report.findings.filter((f) => f.kind === 'slow').map((f) => f.case);
    expect(found).toEqual(expect.arrayContaining(slowCases));
  });

  it('reports a decoder that never returns as a hang, and carries on after it', async () => {
    const seed = 5;
    const count = 60; // decoder cases, and as many encoder cases
    const hanging = hangingTargets()[0]!;
    const expected = Array.from({ length: 2 * count }, (_, i) => i).filter(
      (i) => i % 2 === 0 && caseInput(hanging, seed, i) === HANG_INPUT,
    );
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(4);
    const report = await runFuzzWatched({
      targetsModule: new URL('./fuzz-broken-targets.ts', import.meta.url).href,
      targetsExport: 'hangingTargets',
      seed,
      count,
      caseLimitMs: CASE_LIMIT_MS,
      hangMs: 1500,
    });
    const hangs = report.findings.filter((f) => f.kind === 'hang');
    expect(hangs.map((f) => f.case)).toEqual(expected);
    expect(hangs[0]).toMatchObject({
      target: 'hangs-on-zero',
      input: String(HANG_INPUT),
      message: 'the case did not return within 1500 ms; the worker was ended',
    });
    // every case was run: the ones after each hang by a new worker
    expect(report.stats[0]).toMatchObject({ cases: 2 * count, findings: expected.length });
  }, 60_000);
});
