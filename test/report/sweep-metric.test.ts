import { describe, expect, it } from 'vitest';
import { parseMetric } from '../../src/report/sweep-metric.js';

describe('parseMetric()', () => {
  it('reads latency statistics, counters and totals', () => {
    expect(parseMetric('prq.service.p99')).toMatchObject({ unit: 'ns', kind: 'prq.service' });
    expect(parseMetric('job.latency.count')).toMatchObject({ unit: 'count', kind: 'job.latency' });
    expect(parseMetric('prqOverflows')).toMatchObject({ unit: 'count' });
    expect(parseMetric('pageResponses.failure')).toMatchObject({ unit: 'count' });
    expect(parseMetric('requests.perSecond')).toMatchObject({ unit: 'perSecond' });
    expect(parseMetric('iotlb.hitRate')).toMatchObject({ unit: 'fraction' });
  });

  it('refuses an unknown metric with EINVAL saying what a metric may be', () => {
    expect(() => parseMetric('prq.service')).toThrow(
      expect.objectContaining({
        code: 'EINVAL',
        message:
          "metric 'prq.service': prq.service needs a statistic; give prq.service.<stat> with <stat> one of p50, p90, p99, p999, max, min, mean, count (e.g. prq.service.p99)",
      }),
    );
    expect(() => parseMetric('prq.service.p95')).toThrow(
      expect.objectContaining({
        code: 'EINVAL',
        message: expect.stringMatching(
          /^metric 'prq\.service\.p95': no statistic 'p95' of prq\.service;/,
        ),
      }),
    );
    expect(() => parseMetric('overflows')).toThrow(
      expect.objectContaining({
        code: 'EINVAL',
        message: expect.stringMatching(
          /^unknown metric 'overflows': give a latency kind and a statistic \(<kind>\.<stat>, kinds ats\.translate, .*\), a counter \(translations, .*prqOverflows.*\) or a total \(requests, requests\.perSecond/,
        ),
      }),
    );
  });
});
