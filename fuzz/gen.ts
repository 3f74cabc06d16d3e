/**
 * Input generators of the fuzzer, all drawing from the project's seeded `Rng`: edge values
 * (0, all ones, each single bit, the boundaries of each field), random values, wrong types,
 * wrong lengths and nested junk; valid qwords of a layout and valid typed values of a
 * structure, and the same with one thing spoiled.
 */

import type { Field, Layout } from '../src/layout/field.js';
import type { Rng } from '../src/sim/rng.js';

/** One element of `items`, uniformly. */
export function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.int(items.length)]!;
}

const MASK64 = (1n << 64n) - 1n;

/** Values of every wrong type and shape (a fresh object each call). */
export function junk(rng: Rng): unknown {
  switch (rng.int(30)) {
    case 0:
      return undefined;
    case 1:
      return null;
    case 2:
      return Number.NaN;
    case 3:
      return Number.POSITIVE_INFINITY;
    case 4:
      return Number.NEGATIVE_INFINITY;
    case 5:
      return -1;
    case 6:
      return -0;
    case 7:
      return 0.5;
    case 8:
      return 2 ** 53;
    case 9:
      return 2 ** 64;
    case 10:
      return '';
    case 11:
      return '1';
    case 12:
      return 'abc';
    case 13:
      return true;
    case 14:
      return false;
    case 15:
      return Symbol('junk');
    case 16:
      return {};
    case 17:
      return [];
    case 18:
      return [[], [null], { a: [1n] }];
    case 19:
      return { a: { b: { c: [undefined, Number.NaN] } } };
    case 20:
      return () => 0;
    case 21:
      return new Uint32Array(rng.int(20));
    case 22:
      return new BigUint64Array(4);
    case 23:
      return 1n;
    case 24:
      return -1n;
    case 25:
      return 1n << 64n;
    case 26:
      return Object.create(null);
    case 27:
      return new Map([[1, 2]]);
    case 28:
      return new Array(rng.int(8)); // holes
    default:
      return {
        toString() {
          throw new Error('junk toString called');
        },
        valueOf() {
          throw new Error('junk valueOf called');
        },
      };
  }
}

/** A random unsigned 64-bit value. */
export function u64(rng: Rng): bigint {
  return (BigInt(rng.nextU32()) << 32n) | BigInt(rng.nextU32());
}

/** 0, all ones, one bit, a few bits, or random. */
export function u64Edge(rng: Rng): bigint {
  switch (rng.int(6)) {
    case 0:
      return 0n;
    case 1:
      return MASK64;
    case 2:
      return 1n << BigInt(rng.int(64));
    case 3:
      return MASK64 ^ (1n << BigInt(rng.int(64)));
    case 4:
      return (1n << BigInt(rng.int(64))) | (1n << BigInt(rng.int(64)));
    default:
      return u64(rng);
  }
}

/** A 32-bit word: 0, all ones, one bit, boundaries of common fields, or random. */
export function u32Edge(rng: Rng): number {
  switch (rng.int(5)) {
    case 0:
      return pick(rng, [0, 0xffff_ffff, 1, 0x7fff_ffff, 0x8000_0000]);
    case 1:
      return 2 ** rng.int(32);
    case 2:
      return 2 ** rng.int(33) - 1; // every all-ones boundary: 0xffff, 0xf_ffff, 0x1f_ffff …
    case 3:
      return (2 ** rng.int(33)) >>> 0; // 2^16, 2^20, 2^21 … (0 for 2^32)
    default:
      return rng.nextU32();
  }
}

/** An integer in [0, limit): 0, limit − 1, one bit below the limit, or random (limit ≤ 2^53). */
export function intBelow(rng: Rng, limit: number): number {
  switch (rng.int(5)) {
    case 0:
      return 0;
    case 1:
      return limit - 1;
    case 2: {
      const bits = Math.max(1, Math.ceil(Math.log2(limit)));
      const v = 2 ** rng.int(bits);
      return v < limit ? v : 0;
    }
    default:
      return rng.int(limit);
  }
}

/** Something an integer field in [0, limit) must refuse. */
export function badInt(rng: Rng, limit: number): unknown {
  switch (rng.int(8)) {
    case 0:
      return limit;
    case 1:
      return limit + 2 ** rng.int(20);
    case 2:
      return -1;
    case 3:
      return 0.5;
    case 4:
      return 2 ** 64;
    case 5:
      return String(rng.int(10));
    case 6:
      return BigInt(rng.int(10));
    default:
      return junk(rng);
  }
}

/** The kind of one field of a typed value. */
export type FieldSchema =
  | { readonly kind: 'bool' }
  /** An integer in [0, limit), a multiple of `align`. */
  | { readonly kind: 'int'; readonly limit: number; readonly align: number }
  | { readonly kind: 'const'; readonly value: unknown }
  | { readonly kind: 'nested'; readonly schema: Schema };

/** The fields of a typed value. */
export type Schema = Readonly<Record<string, FieldSchema>>;

/**
 * The typed form of a layout: 1-bit fields are booleans, address fields byte addresses (a
 * multiple of 2^shift), other fields integers below 2^width; `omit` drops fields, `extra`
 * adds or replaces some.
 */
export function schemaOf(layout: Layout, omit: readonly string[] = [], extra: Schema = {}): Schema {
  const out: Record<string, FieldSchema> = {};
  for (const f of layout.fieldList) {
    if (omit.includes(f.name)) continue;
    out[f.name] = fieldSchema(f);
  }
  return { ...out, ...extra };
}

function fieldSchema(f: Field): FieldSchema {
  if (f.width === 1 && f.addressShift === 0) return { kind: 'bool' };
  const align = 2 ** f.addressShift;
  return { kind: 'int', limit: Math.min(f.limit * align, 2 ** 64), align };
}

/** A valid value of a field. */
export function validField(rng: Rng, s: FieldSchema): unknown {
  switch (s.kind) {
    case 'bool':
      return rng.int(2) === 1;
    case 'const':
      return s.value;
    case 'nested':
      return validValue(rng, s.schema);
    case 'int': {
      const units = s.limit / s.align;
      // units may exceed 2^53 for wide address fields: draw below 2^53 then, exact
      return intBelow(rng, Math.min(units, 2 ** 53)) * s.align;
    }
  }
}

/** A value of a field that its encoder must refuse. */
export function badField(rng: Rng, s: FieldSchema): unknown {
  switch (s.kind) {
    case 'bool':
      return pick(rng, [1, 0, 'true', 'false', null, Number.NaN, {}, [true]]);
    case 'const':
      return rng.int(2) === 0 ? junk(rng) : `${String(s.value)}x`;
    case 'nested':
      return rng.int(2) === 0 ? junk(rng) : spoiledValue(rng, s.schema);
    case 'int':
      if (s.align > 1 && rng.int(3) === 0) {
        return (validField(rng, s) as number) + 2 ** rng.int(Math.log2(s.align)); // misaligned
      }
      return badInt(rng, s.limit);
  }
}

/** A valid typed value: every field drawn valid, now and then one left out (its default). */
export function validValue(rng: Rng, schema: Schema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(schema)) {
    if (s.kind !== 'const' && rng.int(16) === 0) continue;
    out[name] = validField(rng, s);
  }
  return out;
}

/** A typed value with one thing wrong: a field, an unknown key, or the whole of it. */
export function spoiledValue(rng: Rng, schema: Schema): unknown {
  const v = validValue(rng, schema);
  const names = Object.keys(schema);
  switch (rng.int(6)) {
    case 0:
      return junk(rng);
    case 1:
      v[`${pick(rng, names)}X`] = validField(rng, { kind: 'bool' });
      return v;
    default: {
      const name = pick(rng, names);
      v[name] = badField(rng, schema[name]!);
      return v;
    }
  }
}

/** Sets field `f` of little-endian qwords to raw value `raw`. */
export function setRaw(q: bigint[], f: Field, raw: bigint): void {
  const shift = BigInt(f.qwordShift);
  q[f.qword] = (q[f.qword]! & ~(f.mask << shift)) | ((raw & f.mask) << shift);
}

/** Raw edge values of a field: 0, all ones, one bit, or random within its width. */
function rawEdge(rng: Rng, f: Field): bigint {
  switch (rng.int(4)) {
    case 0:
      return 0n;
    case 1:
      return f.mask;
    case 2:
      return 1n << BigInt(rng.int(f.width));
    default:
      return u64(rng) & f.mask;
  }
}

/**
 * Qwords for a layout's decoder: mostly well-formed (no reserved bit, `fix` setting the type
 * fields) so that decoding succeeds and the round trip is exercised, with one field at an
 * edge, one bit flipped anywhere, all zeros or all ones, fully random qwords; and malformed
 * arrays (wrong length, entries that are no u64 bigint, no array at all).
 */
export function layoutQwords(
  rng: Rng,
  layout: Layout,
  fix: (q: bigint[], rng: Rng) => void = () => {},
): unknown {
  const n = layout.qwords;
  const roll = rng.int(100);
  if (roll < 15) return malformedQwords(rng, n);
  let q: bigint[];
  if (roll < 22) {
    q = Array.from({ length: n }, () => u64Edge(rng));
  } else if (roll < 27) {
    const all = rng.int(2) === 0 ? 0n : MASK64;
    q = new Array<bigint>(n).fill(all);
  } else {
    q = Array.from({ length: n }, (_, i) => u64(rng) & ~layout.reserved[i]!);
    if (rng.int(3) === 0) {
      for (const f of layout.fieldList) if (rng.int(2) === 0) setRaw(q, f, 0n);
    }
    if (rng.int(3) === 0) {
      const f = pick(rng, layout.fieldList);
      setRaw(q, f, rawEdge(rng, f));
    }
    fix(q, rng);
  }
  if (rng.int(4) === 0) {
    const bitIndex = rng.int(n * 64);
    const i = bitIndex >> 6;
    q[i] = q[i]! ^ (1n << BigInt(bitIndex & 63));
  }
  return q;
}

/** Something that is not `n` u64 bigints. */
export function malformedQwords(rng: Rng, n: number): unknown {
  switch (rng.int(7)) {
    case 0:
      return junk(rng);
    case 1:
      return Array.from({ length: pick(rng, [0, n - 1, n + 1, n * 2]) }, () => u64(rng));
    case 2:
      return new Array(pick(rng, [n, 2 ** 32 - 1])); // holes; the longest array (sparse, cheap)
    case 3: {
      const q: unknown[] = Array.from({ length: n }, () => u64(rng));
      q[rng.int(n)] = pick(rng, [-1n, 1n << 64n, -(1n << 63n), (1n << 64n) + 5n]);
      return q;
    }
    case 4: {
      const q: unknown[] = Array.from({ length: n }, () => u64(rng));
      q[rng.int(n)] = junk(rng);
      return q;
    }
    case 5:
      return Array.from({ length: n }, () => rng.nextU32()); // numbers, not bigints
    default:
      return { length: n, 0: 0n }; // array-like, not an array
  }
}
