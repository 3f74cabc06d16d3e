/**
 * The building blocks of the scenario schema (DESIGN §5) in zod 4: field builders that word
 * every error as "expected <what is allowed>, got <value>", strict objects that name the
 * allowed keys, quantities with units written out (`500us`, `1MiB`, `200k/s`) parsed by the
 * parsers of units.ts, and the gate that lets a cross-field rule run only when the fields it
 * reads are clean, so one bad value is reported once, not again through every rule that
 * reads it.
 *
 * Not here: the scenario's sections (schema-sections.ts) and the whole scenario
 * (schema.ts).
 */

import { z } from 'zod';
import {
  BYTE_UNITS,
  DURATION_UNITS,
  describeValue,
  formatBytes,
  formatNs,
  formatRate,
  parseBytes,
  parseDuration,
  parseRate,
} from './units.js';

/** Upper bound of unbounded integer fields (printed as "≥ min"). */
export const INT_MAX = Number.MAX_SAFE_INTEGER;

/** Page size the buffer checks use, bytes. */
export const PAGE_BYTES = 4096;

// ---------------------------------------------------------------------------------------------
// Field builders: each words all of its errors as one "expected …, got …" message.

/** An issue as a check raises it (before zod fills in its path and message). */
export type RawIssue = z.core.$ZodRawIssue;
/** A path into the scenario, as zod reports it. */
export type Path = readonly PropertyKey[];

/** Error parameters that word every issue of a field as `expected <what>, got <input>`. */
export function expecting(what: string) {
  // abort: a value that fails one check is not also reported by the next (min, then max …)
  return {
    error: (iss: RawIssue) => `expected ${what}, got ${describeValue(iss.input)}`,
    abort: true,
  };
}

/** `n` as four hex digits: 0x0100. */
export function hex16(n: number): string {
  return `0x${n.toString(16).padStart(4, '0')}`;
}

function range(min: number, max: number, hex: boolean): string {
  const f = (n: number): string => (hex ? hex16(n) : String(n));
  return max >= INT_MAX ? `≥ ${f(min)}` : `${f(min)}..${f(max)}`;
}

/** An integer in `min..max` (hex ranges printed as 0x0000..0xffff). */
export function int(min: number, max: number, hex = false) {
  const e = expecting(`an integer ${range(min, max, hex)}`);
  const s = z.number(e).int(e).min(min, e);
  return max >= INT_MAX ? s : s.max(max, e);
}

/** A number in `min..max` worded as `what`. */
export function num(what: string, min: number, max = Number.POSITIVE_INFINITY) {
  const e = expecting(what);
  const s = z.number(e).min(min, e);
  return Number.isFinite(max) ? s.max(max, e) : s;
}

/** A boolean. */
export const bool = () => z.boolean(expecting('a boolean'));

/** One of the strings `values`. */
export function oneOf<const T extends readonly string[]>(values: T) {
  return z.enum(values, expecting(`one of ${values.join(', ')}`));
}

/** A unit kind: its parser, formatter and the string forms an editor may check. */
export interface UnitKind {
  parse: (input: string | number) => number;
  format: (n: number) => string;
  /** JSON Schema pattern of the string form. */
  pattern: string;
}

const NUMBER_RE = '\\s*(\\d+(\\.\\d*)?|\\.\\d+)\\s*';
/** Durations: `500us`, `20ms`, or ns. */
export const DURATION: UnitKind = {
  parse: parseDuration,
  format: formatNs,
  pattern: `^${NUMBER_RE}(${Object.keys(DURATION_UNITS).join('|')})?\\s*$`,
};
/** Sizes: `4KiB`, `1MiB`, or bytes. */
export const BYTES: UnitKind = {
  parse: parseBytes,
  format: formatBytes,
  pattern: `^${NUMBER_RE}(${Object.keys(BYTE_UNITS).join('|')})?\\s*$`,
};
/** Rates: `200k/s`, `1.5M/s`, or per second. */
export const RATE: UnitKind = {
  parse: parseRate,
  format: formatRate,
  pattern: `^${NUMBER_RE}([kKMG]?\\s*/\\s*s)?\\s*$`,
};

/** The parser's own message for a value it cannot read. */
function parseProblem(kind: UnitKind, input: unknown): string {
  try {
    kind.parse(input as string | number);
  } catch (err) {
    return (err as Error).message;
  }
  return `expected a string or a number, got ${describeValue(input)}`;
}

/**
 * A quantity with units written out (or a plain number in the base unit), parsed by `kind`,
 * greater than (`above`) or at least `min`; `extra` may add a rule on the parsed value.
 */
export function quantity(
  kind: UnitKind,
  min: number,
  above: boolean,
  extra?: (n: number, input: unknown) => string | null,
  missing?: string,
) {
  return z
    .union([z.string().meta({ pattern: kind.pattern }), z.number().meta({ minimum: 0 })], {
      error: (iss: RawIssue) =>
        iss.input === undefined && missing !== undefined ? missing : parseProblem(kind, iss.input),
    })
    .transform((v, ctx) => {
      let n: number;
      try {
        n = kind.parse(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message, input: v });
        return z.NEVER;
      }
      if (above ? n <= min : n < min) {
        ctx.addIssue({
          code: 'custom',
          message: `expected a value ${above ? '>' : '≥'} ${min}, got ${describeValue(v)}`,
          input: v,
        });
        return z.NEVER;
      }
      const bad = extra?.(n, v) ?? null;
      if (bad !== null) {
        ctx.addIssue({ code: 'custom', message: bad, input: v });
        return z.NEVER;
      }
      return n;
    });
}

/** The input form of a default quantity: written out when that reads back exactly. */
export function written(kind: UnitKind, n: number): string | number {
  const s = kind.format(n);
  try {
    return kind.parse(s) === n ? s : n;
  } catch {
    return n;
  }
}

/** Error parameters of an object: unknown keys list what is allowed (`hint`), else a type error. */
export function objectError(hint: string) {
  return {
    error: (iss: RawIssue) =>
      iss.code === 'unrecognized_keys' || iss.code === 'invalid_key'
        ? hint
        : `expected an object, got ${describeValue(iss.input)}`,
  };
}

/** A strict object: an unknown key is reported as `unknown key 'k'; allowed: <its keys>`. */
export function strict<T extends z.core.$ZodLooseShape>(shape: T) {
  return z.strictObject(shape, objectError(`allowed: ${Object.keys(shape).join(', ')}`));
}

// ---------------------------------------------------------------------------------------------
// Cross-field rules run only where the fields they read are clean.

/** The paths an issue covers, relative to the schema running the check. */
function issuePaths(iss: RawIssue): Path[] {
  const base = iss.path ?? [];
  if (iss.code === 'unrecognized_keys') return (iss.keys as string[]).map((k) => [...base, k]);
  return [base];
}

/** True when one path lies at or under the other. */
function overlaps(a: Path, b: Path): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** True when no issue of `issues` lies at, above or under any of `paths`. */
export function cleanAt(issues: readonly RawIssue[], paths: readonly Path[]): boolean {
  return issues.every((iss) => issuePaths(iss).every((p) => paths.every((q) => !overlaps(p, q))));
}

/** True for a plain object (not null, not an array). */
export function isObj(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Refinement parameters: run when the value is an object and `paths` are clean. */
export function whenClean(...paths: Path[]) {
  return { when: (p: z.core.ParsePayload) => isObj(p.value) && cleanAt(p.issues, paths) };
}
