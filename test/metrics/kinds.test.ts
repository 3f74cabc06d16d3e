import { describe, expect, it } from 'vitest';
import { LATENCY_KIND_COUNT, LATENCY_KINDS, LatencyKindIndex } from '../../src/metrics/kinds.js';

describe('LATENCY_KINDS', () => {
  it('is exactly the closed set of DESIGN §5', () => {
    expect([...LATENCY_KINDS]).toEqual([
      'ats.translate',
      'iommu.walk',
      'prq.service',
      'pri.roundtrip',
      'job.latency',
      'inv.iotlb',
      'inv.devtlb',
      'unbind.drain',
    ]);
    expect(LATENCY_KIND_COUNT).toBe(8);
  });

  it('LatencyKindIndex maps every kind, and only those, to its position', () => {
    expect(Object.keys(LatencyKindIndex)).toEqual([...LATENCY_KINDS]);
    for (const [i, k] of LATENCY_KINDS.entries()) expect(LatencyKindIndex[k]).toBe(i);
  });
});
