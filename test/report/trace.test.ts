import { describe, expect, it } from 'vitest';
import { runScenario } from '../../src/machine/run.js';
import { toTraceEvents } from '../../src/report/trace.js';
import { small } from '../machine/scenarios.js';

describe('toTraceEvents()', () => {
  const r = runScenario(small(), { trace: { startNs: 20_000, endNs: 60_000 } });
  const doc = toTraceEvents(r, r.trace!);

  it('keeps the spans that end inside the window, each as a matched async begin/end pair', () => {
    expect(r.trace!.length).toBeGreaterThan(50);
    for (const t of r.trace!) {
      if (t.kind === 'prq') continue;
      expect(t.startNs + t.durNs).toBeGreaterThanOrEqual(20_000);
      expect(t.startNs + t.durNs).toBeLessThanOrEqual(60_000);
    }
    const begins = doc.traceEvents.filter((e) => e.ph === 'b');
    const ends = doc.traceEvents.filter((e) => e.ph === 'e');
    expect(begins.length).toBe(ends.length);
    const endById = new Map(ends.map((e) => [e.id, e]));
    for (const b of begins) {
      const e = endById.get(b.id)!;
      expect(e.name).toBe(b.name);
      expect(e.ts!).toBeGreaterThanOrEqual(b.ts!);
    }
  });

  it('names a track per latency kind and carries PRQ occupancy as a counter', () => {
    const names = doc.traceEvents.filter((e) => e.name === 'thread_name').map((e) => e.args!.name);
    expect(names).toContain('ats.translate');
    expect(names).toContain('prq.service');
    expect(doc.traceEvents.some((e) => e.ph === 'C' && e.name === 'PRQ occupancy')).toBe(true);
    expect(JSON.parse(JSON.stringify(doc)).displayTimeUnit).toBe('ns');
  });

  it('does not change the run: counters and histograms equal an untraced run', () => {
    const plain = runScenario(small());
    expect(r.totals).toEqual(plain.totals);
    expect(r.histograms).toEqual(plain.histograms);
  });
});
