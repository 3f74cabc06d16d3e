/**
 * Units written out in scenario files and on the command line (DESIGN §5): durations in
 * simulated time, sizes in bytes and rates per second, plus the inverse formatters used by
 * reports.
 *
 * Parsing is exact: a decimal such as `1.5ms` or `1.5KiB` is scaled with integer arithmetic
 * (bigint at this edge only), so a value is accepted only when it is a whole number of ns or
 * of bytes and stays a safe integer. Bad input throws an `Error` with `code: 'EINVAL'` whose
 * message quotes the input and lists the accepted forms.
 *
 * Not handled: negative values (nothing in a scenario is negative), exponent notation
 * (`1e6`), minutes or hours, bits (`Kb`), and the ambiguous bare multipliers `K` / `M` / `G`
 * for sizes.
 */

import { codedError, ErrorCode } from '../errors.js';

/** An `Error` raised for bad input, matched on `code`. */
export type InvalidInputError = Error & { code: 'EINVAL' };

/** Builds the `EINVAL` error every parser of this file throws. */
export function invalidInput(message: string): InvalidInputError {
  return codedError(ErrorCode.EINVAL, message);
}

/** Nanoseconds per duration unit; `us`, `µs` and `μs` are the same unit. */
export const DURATION_UNITS = {
  ns: 1,
  us: 1_000,
  µs: 1_000,
  μs: 1_000,
  ms: 1_000_000,
  s: 1_000_000_000,
} as const;

/** A duration unit name. */
export type DurationUnit = keyof typeof DURATION_UNITS;

/**
 * Bytes per size unit: `KiB`/`MiB`/`GiB`/`TiB` are powers of 1024; `kB`/`KB`/`MB`/`GB`/`TB` are
 * powers of 1000 (SI), as disk vendors use them. `B` is one byte.
 */
export const BYTE_UNITS = {
  B: 1,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  TiB: 1024 ** 4,
  kB: 1000,
  KB: 1000,
  MB: 1000 ** 2,
  GB: 1000 ** 3,
  TB: 1000 ** 4,
} as const;

/** A size unit name. */
export type ByteUnit = keyof typeof BYTE_UNITS;

/** Multipliers a rate may carry before `/s` (`k` and `K` are both 1000). */
export const RATE_MULTIPLIERS = { '': 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9 } as const;

/** A rate multiplier. */
export type RateMultiplier = keyof typeof RATE_MULTIPLIERS;

const DURATION_FORMS =
  'a whole number of nanoseconds, or a number followed by ns, us (µs), ms or s ' +
  '(e.g. 250ns, 500us, 1.5ms, 20ms, 1s)';
const BYTES_FORMS =
  'a whole number of bytes, or a number followed by B, KiB, MiB, GiB, TiB (powers of 1024) ' +
  'or kB/KB, MB, GB, TB (powers of 1000) (e.g. 64, 4KiB, 1MiB, 2GiB)';
const RATE_FORMS =
  'a number per second, optionally with a k, M or G multiplier, followed by /s ' +
  '(e.g. 500/s, 200k/s, 1.5M/s), or a plain number per second';

const QUANTITY_RE = /^\s*(\d+(?:\.\d*)?|\.\d+)\s*([^\s\d.]*)\s*$/;

/** Describes a value for an error message: strings quoted, other types named. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

/**
 * Scales the decimal `digits` to an exact integer times `multiplier`, or returns a reason why
 * it is not one (fractional result, beyond Number.MAX_SAFE_INTEGER).
 */
function scaleExact(digits: string, multiplier: number, unitName: string): number | string {
  const dot = digits.indexOf('.');
  const intPart = dot < 0 ? digits : digits.slice(0, dot);
  const fracPart = dot < 0 ? '' : digits.slice(dot + 1);
  const mantissa = BigInt(`${intPart}${fracPart}` || '0');
  const scaled = mantissa * BigInt(multiplier);
  const divisor = 10n ** BigInt(fracPart.length);
  if (scaled % divisor !== 0n) return `not a whole number of ${unitName}`;
  const value = scaled / divisor;
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) return 'too large';
  return Number(value);
}

function parseExact(
  input: unknown,
  kind: string,
  units: Readonly<Record<string, number>>,
  bareUnit: string,
  unitName: string,
  forms: string,
): number {
  const fail = (reason: string): never => {
    throw invalidInput(`invalid ${kind} ${describeValue(input)}: ${reason}; expected ${forms}`);
  };
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) return fail(`not a non-negative ${unitName} count`);
    if (!Number.isInteger(input)) return fail(`not a whole number of ${unitName}`);
    if (!Number.isSafeInteger(input)) return fail('too large');
    return input;
  }
  if (typeof input !== 'string') return fail('not a string or a number');
  const m = QUANTITY_RE.exec(input);
  if (m === null) return fail('not a number with a unit');
  const unit = m[2] === '' ? bareUnit : m[2]!;
  if (!Object.hasOwn(units, unit)) return fail(`unknown unit "${m[2]}"`);
  const r = scaleExact(m[1]!, units[unit]!, unitName);
  return typeof r === 'string' ? fail(r) : r;
}

/** Parses a duration (`'250ns'`, `'500us'`, `'1.5ms'`, `'1s'`, or a number of ns) into integer ns. */
export function parseDuration(input: string | number): number {
  return parseExact(input, 'duration', DURATION_UNITS, 'ns', 'nanoseconds', DURATION_FORMS);
}

/** Parses a size (`'64'`, `'4KiB'`, `'1MiB'`, `'2GiB'`, `'4KB'`, or a number) into bytes. */
export function parseBytes(input: string | number): number {
  return parseExact(input, 'size', BYTE_UNITS, 'B', 'bytes', BYTES_FORMS);
}

const RATE_RE = /^\s*(\d+(?:\.\d*)?|\.\d+)\s*(?:([kKMG]?)\s*\/\s*s)?\s*$/;

/** Parses a rate (`'500/s'`, `'200k/s'`, `'1.5M/s'`, or a number) into a count per second. */
export function parseRate(input: string | number): number {
  const fail = (reason: string): never => {
    throw invalidInput(`invalid rate ${describeValue(input)}: ${reason}; expected ${RATE_FORMS}`);
  };
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) return fail('not a non-negative finite number');
    return input;
  }
  if (typeof input !== 'string') return fail('not a string or a number');
  const m = RATE_RE.exec(input);
  if (m === null) return fail('not a number per second');
  const multiplier = RATE_MULTIPLIERS[(m[2] ?? '') as RateMultiplier];
  const value = Number(m[1]) * multiplier;
  if (!Number.isFinite(value)) return fail('too large');
  return value;
}

/**
 * Formats `value` in the smallest unit of `steps` in which its reading stays below the next
 * unit's ratio: readings below 1000 keep three significant digits (so 999.6ns reads `1000`
 * and moves up to `1us`), four-digit readings (1000–1023 B, or beyond the largest unit) are
 * rounded to an integer.
 */
function formatScaled(value: number, steps: readonly (readonly [string, number])[]): string {
  if (!Number.isFinite(value)) return String(value);
  const sign = value < 0 ? '-' : '';
  const abs = Math.abs(value);
  const last = steps.length - 1;
  for (let i = 0; ; i++) {
    const [suffix, scale] = steps[i]!;
    const v = abs / scale;
    const reading = v >= 1000 ? Math.round(v) : Number(v.toPrecision(3));
    if (i === last || reading < steps[i + 1]![1] / scale) return `${sign}${reading}${suffix}`;
  }
}

const NS_STEPS = [
  ['ns', 1],
  ['us', 1e3],
  ['ms', 1e6],
  ['s', 1e9],
] as const;
const BYTE_STEPS = [
  ['B', 1],
  ['KiB', 1024],
  ['MiB', 1024 ** 2],
  ['GiB', 1024 ** 3],
  ['TiB', 1024 ** 4],
] as const;
const RATE_STEPS = [
  ['/s', 1],
  ['k/s', 1e3],
  ['M/s', 1e6],
  ['G/s', 1e9],
] as const;

/** Formats ns of simulated time with three significant digits: `'850ns'`, `'12.3us'`, `'4.56ms'`, `'1s'`. */
export function formatNs(ns: number): string {
  return formatScaled(ns, NS_STEPS);
}

/** Formats a size in binary units with three significant digits: `'64B'`, `'4KiB'`, `'1.5MiB'`. */
export function formatBytes(bytes: number): string {
  return formatScaled(bytes, BYTE_STEPS);
}

/** Formats a rate per second with three significant digits: `'500/s'`, `'200k/s'`, `'1.5M/s'`. */
export function formatRate(perSec: number): string {
  return formatScaled(perSec, RATE_STEPS);
}
