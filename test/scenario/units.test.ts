import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatBytes,
  formatNs,
  formatRate,
  parseBytes,
  parseDuration,
  parseRate,
} from '../../src/scenario/index.js';

function errorOf(fn: () => unknown): (Error & { code?: string }) | undefined {
  try {
    fn();
  } catch (err) {
    return err as Error & { code?: string };
  }
  return undefined;
}

function expectEinval(fn: () => unknown, ...patterns: RegExp[]): void {
  const err = errorOf(fn);
  expect(err, 'expected a throw').toBeDefined();
  expect(err!.code).toBe('EINVAL');
  for (const p of patterns) expect(err!.message).toMatch(p);
}

describe('parseDuration()', () => {
  it('parses every unit into integer ns', () => {
    expect(parseDuration('250ns')).toBe(250);
    expect(parseDuration('500us')).toBe(500_000);
    expect(parseDuration('500µs')).toBe(500_000);
    expect(parseDuration('500μs')).toBe(500_000);
    expect(parseDuration('20ms')).toBe(20_000_000);
    expect(parseDuration('1s')).toBe(1_000_000_000);
  });

  it('accepts decimals that give whole ns, spaces, bare digits and numbers', () => {
    expect(parseDuration('1.5ms')).toBe(1_500_000);
    expect(parseDuration('4.56ms')).toBe(4_560_000);
    expect(parseDuration('0.001us')).toBe(1);
    expect(parseDuration('.5s')).toBe(500_000_000);
    expect(parseDuration(' 20 ms ')).toBe(20_000_000);
    expect(parseDuration('1000')).toBe(1000);
    expect(parseDuration(0)).toBe(0);
    expect(parseDuration(12_345)).toBe(12_345);
  });

  it('names the input and the accepted forms when it fails', () => {
    expectEinval(
      () => parseDuration('5 parsecs'),
      /"5 parsecs"/,
      /unknown unit "parsecs"/,
      /500us/,
    );
    expectEinval(() => parseDuration('20'.concat('MS')), /unknown unit "MS"/);
    expectEinval(() => parseDuration('ms'), /not a number with a unit/);
    expectEinval(() => parseDuration(''), /not a number with a unit/);
    expectEinval(() => parseDuration('-5ms'), /not a number with a unit/);
    expectEinval(() => parseDuration('1e6'), /unknown unit "e"|not a number/);
    expectEinval(() => parseDuration('1.5ns'), /not a whole number of nanoseconds/);
    expectEinval(() => parseDuration(1.5), /not a whole number of nanoseconds/);
    expectEinval(() => parseDuration(-1), /invalid duration -1: not a non-negative/);
    expectEinval(() => parseDuration(Number.NaN), /not a non-negative/);
    expectEinval(() => parseDuration(2 ** 60), /too large/);
    expectEinval(() => parseDuration('99999999999s'), /too large/);
    expectEinval(
      () => parseDuration(true as unknown as string),
      /invalid duration true: not a string/,
    );
  });
});

describe('parseBytes()', () => {
  it('parses binary and decimal units', () => {
    expect(parseBytes('64')).toBe(64);
    expect(parseBytes('64B')).toBe(64);
    expect(parseBytes('4KiB')).toBe(4096);
    expect(parseBytes('1MiB')).toBe(1 << 20);
    expect(parseBytes('2GiB')).toBe(2 * 2 ** 30);
    expect(parseBytes('1TiB')).toBe(2 ** 40);
    expect(parseBytes('4KB')).toBe(4000);
    expect(parseBytes('4kB')).toBe(4000);
    expect(parseBytes('1MB')).toBe(1_000_000);
    expect(parseBytes('2GB')).toBe(2_000_000_000);
    expect(parseBytes('1TB')).toBe(1e12);
    expect(parseBytes('1.5KiB')).toBe(1536);
    expect(parseBytes('4 KiB')).toBe(4096);
    expect(parseBytes(4096)).toBe(4096);
  });

  it('names the input and the accepted forms when it fails', () => {
    expectEinval(() => parseBytes('4kb'), /"4kb"/, /unknown unit "kb"/, /KiB/, /powers of 1000/);
    expectEinval(() => parseBytes('4K'), /unknown unit "K"/);
    expectEinval(() => parseBytes('0.5B'), /not a whole number of bytes/);
    expectEinval(() => parseBytes('1.0000001KiB'), /not a whole number of bytes/);
    expectEinval(() => parseBytes(-4096), /not a non-negative/);
    expectEinval(() => parseBytes(10.5), /not a whole number of bytes/);
    expectEinval(() => parseBytes('huge'), /not a number with a unit/);
    expectEinval(() => parseBytes('99999TiB'), /too large/);
    expectEinval(() => parseBytes({} as unknown as string), /invalid size an object/);
  });
});

describe('parseRate()', () => {
  it('parses per-second rates with multipliers', () => {
    expect(parseRate('500/s')).toBe(500);
    expect(parseRate('200k/s')).toBe(200_000);
    expect(parseRate('200K/s')).toBe(200_000);
    expect(parseRate('1.5M/s')).toBe(1_500_000);
    expect(parseRate('2G/s')).toBe(2e9);
    expect(parseRate('0.5/s')).toBe(0.5);
    expect(parseRate('200 k / s')).toBe(200_000);
    expect(parseRate('750')).toBe(750);
    expect(parseRate(1234.5)).toBe(1234.5);
  });

  it('names the input and the accepted forms when it fails', () => {
    expectEinval(() => parseRate('200k'), /"200k"/, /not a number per second/, /200k\/s/);
    expectEinval(() => parseRate('200m/s'), /not a number per second/);
    expectEinval(() => parseRate('fast'), /not a number per second/);
    expectEinval(() => parseRate('5/ms'), /not a number per second/);
    expectEinval(() => parseRate(-1), /not a non-negative finite number/);
    expectEinval(() => parseRate(Number.POSITIVE_INFINITY), /not a non-negative finite/);
    expectEinval(() => parseRate(null as unknown as string), /invalid rate null/);
  });
});

describe('formatNs()', () => {
  it('prints three significant digits in the largest fitting unit', () => {
    expect(formatNs(0)).toBe('0ns');
    expect(formatNs(850)).toBe('850ns');
    expect(formatNs(12.34)).toBe('12.3ns');
    expect(formatNs(12_345)).toBe('12.3us');
    expect(formatNs(4_561_000)).toBe('4.56ms');
    expect(formatNs(20_000_000)).toBe('20ms');
    expect(formatNs(1_000_000_000)).toBe('1s');
    expect(formatNs(999.6)).toBe('1us');
    expect(formatNs(999_600)).toBe('1ms');
    expect(formatNs(3_600_000_000_000)).toBe('3600s');
    expect(formatNs(-1500)).toBe('-1.5us');
    expect(formatNs(Number.NaN)).toBe('NaN');
  });

  it('round-trips through parseDuration for durations it prints exactly', () => {
    for (const s of ['250ns', '500us', '20ms', '1s', '1.5ms', '12.5us']) {
      expect(formatNs(parseDuration(s))).toBe(s);
    }
  });
});

describe('formatBytes()', () => {
  it('prints binary units with three significant digits', () => {
    expect(formatBytes(64)).toBe('64B');
    expect(formatBytes(1023)).toBe('1023B');
    expect(formatBytes(4096)).toBe('4KiB');
    expect(formatBytes(1536)).toBe('1.5KiB');
    expect(formatBytes(1 << 20)).toBe('1MiB');
    expect(formatBytes(2 ** 31)).toBe('2GiB');
    expect(formatBytes(5 * 2 ** 40)).toBe('5TiB');
    expect(formatBytes(1023.6 * 1024)).toBe('1MiB');
  });

  it('round-trips sizes of whole units', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 999 }),
        fc.constantFrom('B', 'KiB', 'MiB', 'GiB'),
        (n, u) => {
          expect(formatBytes(parseBytes(`${n}${u}`))).toBe(`${n}${u}`);
        },
      ),
    );
  });
});

describe('formatRate()', () => {
  it('prints per-second rates with k, M and G', () => {
    expect(formatRate(0.5)).toBe('0.5/s');
    expect(formatRate(500)).toBe('500/s');
    expect(formatRate(200_000)).toBe('200k/s');
    expect(formatRate(1_500_000)).toBe('1.5M/s');
    expect(formatRate(2.345e9)).toBe('2.35G/s');
    expect(formatRate(parseRate('1.5M/s'))).toBe('1.5M/s');
  });
});
