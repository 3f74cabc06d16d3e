/**
 * Field-table machinery for VT-d bit layouts (house style "Bit layouts"; the model is QEMU
 * `hw/i386/intel_iommu_internal.h` and the Linux `pasid.h` accessors).
 *
 * A layout is declared once, as a table of named fields with absolute bit ranges [hi:lo] over
 * the whole descriptor (bit 0 = bit 0 of qword 0, bit 64 = bit 0 of qword 1, …). Every bit
 * that no field covers and that is not listed as ignored is reserved. From the table this
 * module precomputes, per field, its qword, its dword, its shift and its width, and, per
 * qword and per dword, the reserved-bit mask.
 *
 * Two ways to use a layout:
 * - at the edges (codecs, tests, debug printing): `encodeLayout` / `decodeLayout` /
 *   `reservedBits` on little-endian `bigint` qwords;
 * - on the data path: `getField` / `setField` / `reservedBitsU32` on a `Uint32Array` view of
 *   simulated memory or of a ring slot, where qword i is dword 2i (bits 31:0) and dword 2i+1
 *   (bits 63:32). No bigint, no allocation.
 *
 * Values are `number`s. A field declared with `{ shift: s }` holds an address: its logical
 * value is a byte address that must be a multiple of 2^s and is stored as address / 2^s
 * (shift 12 = a 4 KiB page number). Every 4 KiB-aligned 64-bit address is exactly a double
 * (it is pfn × 2^12 with pfn < 2^52), so the conversion uses multiplication and division.
 *
 * Rules checked when a layout is defined: a field lies inside one qword (it may straddle the
 * dword boundary inside it); plain fields are at most 53 bits wide so that every value is an
 * exact `number`; fields and ignored ranges never overlap.
 *
 * Not modelled: fields wider than 53 bits are allowed only as address fields; the data-path
 * accessors return raw values of such fields rounded like any `number` above 2^53 (the only
 * one is the 62-bit Invalidation Wait status address, whose real values are small).
 */

import { type CodedError, codedError, ErrorCode } from '../errors.js';

/** Options of one field: `shift` marks an address stored as address / 2^shift. */
export interface FieldOptions {
  readonly shift?: number;
}

/** One row of a field table: [hi, lo] or [hi, lo, options], absolute bit numbers. */
export type FieldSpec =
  | readonly [hi: number, lo: number]
  | readonly [hi: number, lo: number, options: FieldOptions];

/** A field table: field name → bit range. */
export type FieldSpecs = Readonly<Record<string, FieldSpec>>;

/** An absolute bit range [hi, lo], used for ignored bits. */
export type BitRange = readonly [hi: number, lo: number];

/** A field with everything the accessors need precomputed. */
export interface Field {
  /** Name of the layout the field belongs to (for error messages). */
  readonly layout: string;
  readonly name: string;
  /** Absolute bit range over the descriptor. */
  readonly hi: number;
  readonly lo: number;
  /** Number of stored bits. */
  readonly width: number;
  /** Index of the qword holding the field and bit position of `lo` inside it. */
  readonly qword: number;
  readonly qwordShift: number;
  /** Index of the dword holding bit `lo` and bit position of `lo` inside it. */
  readonly dword: number;
  readonly shift: number;
  /** True when the field continues into dword `dword + 1`. */
  readonly spans: boolean;
  /** Field bits inside dword `dword`, in place. */
  readonly loMask: number;
  /** Field bits inside dword `dword + 1`, from bit 0 (0 when the field does not span). */
  readonly hiMask: number;
  /** 2^(bits of the field held in dword `dword`): the weight of the high part. */
  readonly scale: number;
  /** 2^width: every raw value is below it. */
  readonly limit: number;
  /** Address shift (0 for a plain field): the logical value is raw × 2^addressShift. */
  readonly addressShift: number;
  /** (1 << width) − 1 as a bigint, for the codecs. */
  readonly mask: bigint;
}

/** A declared layout: its fields and its reserved-bit masks. */
export interface Layout<K extends string = string> {
  readonly name: string;
  readonly bits: number;
  readonly qwords: number;
  readonly dwords: number;
  readonly fields: { readonly [P in K]: Field };
  readonly fieldList: readonly Field[];
  /** Per qword: bits that are neither a field nor ignored. */
  readonly reserved: readonly bigint[];
  /** Per dword: the same masks split for the data path. */
  readonly reservedU32: Uint32Array;
}

/** Field values of a layout, as plain numbers (addresses as byte addresses). */
export type LayoutValues<K extends string> = { [P in K]: number };

const MASK64 = (1n << 64n) - 1n;

/** A `RangeError` with `code: 'EINVAL'` (a value that does not fit, a misaligned address). */
export function rangeErrorEinval(message: string): RangeError & CodedError<'EINVAL'> {
  return Object.assign(new RangeError(message), { code: ErrorCode.EINVAL });
}

/** An `Error` with `code: 'EINVAL'` (a malformed descriptor). */
export function errorEinval(message: string): CodedError<'EINVAL'> {
  return codedError(ErrorCode.EINVAL, message);
}

/** Most entries {@link hexQwords} and {@link describeValue} print of an array. */
const PRINT_MAX_QWORDS = 8;

/**
 * Formats qwords as `[0x…, 0x…]` with 16 hex digits each, for error messages and logs. Safe
 * on anything: an entry that is not a 64-bit unsigned bigint is described instead, and at most
 * {@link PRINT_MAX_QWORDS} entries are printed (then `…`).
 */
export function hexQwords(qwords: readonly unknown[]): string {
  if (!Array.isArray(qwords)) return describeValue(qwords);
  const shown: string[] = [];
  const n = Math.min(qwords.length, PRINT_MAX_QWORDS);
  for (let i = 0; i < n; i++) {
    const q: unknown = qwords[i];
    shown.push(
      typeof q === 'bigint' && q >= 0n && q <= MASK64
        ? `0x${q.toString(16).padStart(16, '0')}`
        : describeValue(q),
    );
  }
  if (qwords.length > n) shown.push('…');
  return `[${shown.join(', ')}]`;
}

/**
 * Describes any value for an error message without running code of the value (no
 * `toString`, no getters): `null`, `the number 1`, `the bigint -0x1`, `the string "ab"`, `an
 * array of 3`, `a Uint32Array`, `an object`.
 */
export function describeValue(v: unknown): string {
  switch (typeof v) {
    case 'undefined':
      return 'undefined';
    case 'boolean':
      return String(v);
    case 'number':
      return `the number ${String(v)}`;
    case 'bigint':
      return `the bigint ${v < 0n ? '-' : ''}0x${(v < 0n ? -v : v).toString(16)}`;
    case 'string':
      return `the string ${JSON.stringify(v.length > 24 ? `${v.slice(0, 24)}…` : v)}`;
    case 'symbol':
      return 'a symbol';
    case 'function':
      return 'a function';
    default:
      if (v === null) return 'null';
      if (Array.isArray(v)) return `an array of ${v.length}`;
      if (ArrayBuffer.isView(v)) {
        // Object.prototype.toString reads the view's own tag: "[object Uint32Array]"
        return `a ${Object.prototype.toString.call(v).slice(8, -1)}`;
      }
      return 'an object';
  }
}

/** Formats a number as 0x-prefixed hex (anything else as {@link describeValue} does). */
function hex(n: number): string {
  return typeof n === 'number' && Number.isFinite(n) ? `0x${n.toString(16)}` : describeValue(n);
}

function rangeMask(hi: number, lo: number): bigint {
  return ((1n << BigInt(hi - lo + 1)) - 1n) << BigInt(lo);
}

function buildField(layout: string, name: string, spec: FieldSpec, bits: number): Field {
  const [hi, lo] = spec;
  const addressShift = spec[2]?.shift ?? 0;
  const where = `${layout}.${name} [${hi}:${lo}]`;
  if (!Number.isInteger(hi) || !Number.isInteger(lo) || lo < 0 || hi < lo || hi >= bits) {
    throw new Error(`${where}: bit range outside the ${bits}-bit layout`);
  }
  if (hi >> 6 !== lo >> 6) throw new Error(`${where}: a field must not straddle qwords`);
  const width = hi - lo + 1;
  if (!Number.isInteger(addressShift) || addressShift < 0 || addressShift + width > 64) {
    throw new Error(`${where}: bad address shift ${addressShift}`);
  }
  if (addressShift === 0 && width > 53) {
    throw new Error(`${where}: plain fields are at most 53 bits wide`);
  }
  const shift = lo & 31;
  const spans = shift + width > 32;
  const loBits = spans ? 32 - shift : width;
  const loMask = ((loBits === 32 ? 0xffff_ffff : 2 ** loBits - 1) * 2 ** shift) >>> 0;
  const hiBits = spans ? width - loBits : 0;
  const hiMask = hiBits === 32 ? 0xffff_ffff : 2 ** hiBits - 1;
  return {
    layout,
    name,
    hi,
    lo,
    width,
    qword: lo >> 6,
    qwordShift: lo & 63,
    dword: lo >> 5,
    shift,
    spans,
    loMask,
    hiMask,
    scale: 2 ** loBits,
    limit: 2 ** width,
    addressShift,
    mask: (1n << BigInt(width)) - 1n,
  };
}

/**
 * Declares a layout of `bits` bits (a multiple of 64) from its field table; `ignored` lists
 * bit ranges that are neither fields nor reserved.
 */
export function defineLayout<const F extends FieldSpecs>(
  name: string,
  bits: number,
  fields: F,
  options: { readonly ignored?: readonly BitRange[] } = {},
): Layout<Extract<keyof F, string>> {
  if (!Number.isInteger(bits) || bits <= 0 || bits % 64 !== 0) {
    throw new Error(`${name}: layout size ${bits} is not a multiple of 64 bits`);
  }
  const qwords = bits / 64;
  const covered: bigint[] = new Array<bigint>(qwords).fill(0n);
  const claim = (what: string, hi: number, lo: number): void => {
    for (let q = lo >> 6; q <= hi >> 6; q++) {
      const qlo = Math.max(lo, q * 64) - q * 64;
      const qhi = Math.min(hi, q * 64 + 63) - q * 64;
      const m = rangeMask(qhi, qlo);
      if ((covered[q]! & m) !== 0n) throw new Error(`${name}: ${what} overlaps another field`);
      covered[q] = covered[q]! | m;
    }
  };
  const byName: Record<string, Field> = {};
  const fieldList: Field[] = [];
  for (const [fieldName, spec] of Object.entries(fields)) {
    const field = buildField(name, fieldName, spec, bits);
    claim(`${fieldName} [${field.hi}:${field.lo}]`, field.hi, field.lo);
    byName[fieldName] = field;
    fieldList.push(field);
  }
  for (const [hi, lo] of options.ignored ?? []) {
    if (!Number.isInteger(hi) || !Number.isInteger(lo) || lo < 0 || hi < lo || hi >= bits) {
      throw new Error(`${name}: ignored range [${hi}:${lo}] outside the layout`);
    }
    claim(`ignored [${hi}:${lo}]`, hi, lo);
  }
  const reserved = covered.map((c) => ~c & MASK64);
  const reservedU32 = new Uint32Array(qwords * 2);
  reserved.forEach((r, q) => {
    reservedU32[2 * q] = Number(r & 0xffff_ffffn);
    reservedU32[2 * q + 1] = Number(r >> 32n);
  });
  return {
    name,
    bits,
    qwords,
    dwords: qwords * 2,
    fields: byName as { readonly [P in Extract<keyof F, string>]: Field },
    fieldList,
    reserved,
    reservedU32,
  };
}

/** `layout.field [hi:lo]`, for error messages. */
function fieldWhere(field: Field): string {
  return `${field.layout}.${field.name} [${field.hi}:${field.lo}]`;
}

/**
 * Raw stored value of a field for a logical value; throws `RangeError` EINVAL when the value
 * is not a non-negative integer, is misaligned (address fields) or does not fit.
 */
export function fieldRaw(field: Field, value: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw rangeErrorEinval(
      `${fieldWhere(field)}: expected a non-negative integer, got ${describeValue(value)}`,
    );
  }
  let raw = value;
  if (field.addressShift !== 0) {
    const unit = 2 ** field.addressShift;
    if (value % unit !== 0) {
      throw rangeErrorEinval(
        `${fieldWhere(field)}: address ${hex(value)} is not ${unit}-byte aligned`,
      );
    }
    raw = value / unit;
  }
  if (raw >= field.limit) {
    throw rangeErrorEinval(
      `${fieldWhere(field)}: ${hex(value)} does not fit in ${field.width} bits`,
    );
  }
  return raw;
}

/** What is wrong with the qwords a decoder was given. */
export interface QwordsProblem {
  /** `bad-length`: not an array, or not `count` entries; `bad-qword`: an entry is not a u64 bigint. */
  readonly kind: 'bad-length' | 'bad-qword';
  /** What was expected and what was given, prefixed with the structure's name. */
  readonly message: string;
}

/**
 * Why `qwords` is not an array of exactly `count` unsigned 64-bit `bigint`s, or `null` when it
 * is. Never throws, whatever `qwords` is; `name` prefixes the message (a layout name).
 */
export function qwordsProblem(name: string, count: number, qwords: unknown): QwordsProblem | null {
  if (!Array.isArray(qwords)) {
    return {
      kind: 'bad-length',
      message: `${name}: expected an array of ${count} qwords (bigint), got ${describeValue(qwords)}`,
    };
  }
  if (qwords.length !== count) {
    return {
      kind: 'bad-length',
      message: `${name}: expected ${count} qwords, got ${qwords.length} ${hexQwords(qwords)}`,
    };
  }
  for (let i = 0; i < count; i++) {
    const q: unknown = qwords[i];
    if (typeof q !== 'bigint') {
      return {
        kind: 'bad-qword',
        message: `${name}: qword ${i} must be a bigint in [0, 2^64), got ${describeValue(q)}`,
      };
    }
    if (q < 0n || q > MASK64) {
      return {
        kind: 'bad-qword',
        message: `${name}: qword ${i} must be in [0, 2^64), got ${describeValue(q)}`,
      };
    }
  }
  return null;
}

/** Throws EINVAL unless `qwords` is an array of `count` unsigned 64-bit bigints. */
export function checkQwords(name: string, count: number, qwords: unknown): void {
  const problem = qwordsProblem(name, count, qwords);
  if (problem === null) return;
  throw problem.kind === 'bad-length'
    ? rangeErrorEinval(problem.message)
    : errorEinval(problem.message);
}

/**
 * Throws EINVAL unless `input` is a plain object ({@link isPlainObject}) whose own enumerable
 * keys are all in `allowed`: what every encoder checks before reading fields, so that a typo
 * or a field of another structure is refused instead of silently dropped.
 */
export function checkInput(
  name: string,
  input: unknown,
  allowed: Readonly<Record<string, unknown>>,
): asserts input is Readonly<Record<string, unknown>> {
  if (!isPlainObject(input)) {
    throw errorEinval(`${name}: expected an object of field values, got ${describeValue(input)}`);
  }
  for (const key in input) {
    if (Object.hasOwn(input, key) && !Object.hasOwn(allowed, key)) {
      throw errorEinval(
        `${name}: no field named ${JSON.stringify(key)} (fields: ${Object.keys(allowed).join(', ')})`,
      );
    }
  }
}

/**
 * True for an object literal (or one made with `Object.create(null)`): not null, not an array,
 * not a typed array, `Map` or class instance, whose fields an encoder would not see.
 */
export function isPlainObject(v: unknown): v is Readonly<Record<string, unknown>> {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * A 1-bit field value for an encoder: 1 for true, 0 for false or missing; throws EINVAL for
 * anything else (a `1`, a `"true"`), which {@link bit} would silently take as false. The
 * message names `where.name`, built only when it throws.
 */
export function flagBit(where: string, name: string, value: unknown): number {
  if (value === true) return 1;
  if (value === false || value === undefined) return 0;
  throw errorEinval(`${where}.${name}: expected a boolean, got ${describeValue(value)}`);
}

/**
 * Encodes field values into little-endian qwords; missing fields are 0, address fields take
 * byte addresses. Never produces reserved bits. Throws `RangeError` EINVAL on a bad value.
 */
export function encodeLayout<K extends string>(
  layout: Layout<K>,
  values: Partial<Readonly<Record<K, number>>>,
): bigint[] {
  checkInput(layout.name, values, layout.fields);
  const qwords = new Array<bigint>(layout.qwords).fill(0n);
  const given = values as Readonly<Record<string, number | undefined>>;
  for (const field of layout.fieldList) {
    const value = given[field.name];
    if (value === undefined) continue;
    const raw = fieldRaw(field, value);
    qwords[field.qword] = qwords[field.qword]! | (BigInt(raw) << BigInt(field.qwordShift));
  }
  return qwords;
}

/**
 * Encodes field values into the `layout.dwords` dwords of a `Uint32Array` slot from dword
 * `baseDword`, which are zeroed first: the same bits {@link encodeLayout} gives as qwords
 * (qword i = dwords 2i, 2i + 1), checked the same way, without a bigint — for software that
 * builds descriptors on the data path (the kernel's invalidation descriptors).
 */
export function encodeLayoutU32<K extends string>(
  layout: Layout<K>,
  values: Partial<Readonly<Record<K, number>>>,
  u32: Uint32Array,
  baseDword: number,
): void {
  checkInput(layout.name, values, layout.fields);
  const given = values as Readonly<Record<string, number | undefined>>;
  const fields = layout.fieldList;
  // check every value before writing, so a bad one leaves the slot as it was
  for (let i = 0; i < fields.length; i++) {
    const value = given[fields[i]!.name];
    if (value !== undefined) fieldRaw(fields[i]!, value);
  }
  u32.fill(0, baseDword, baseDword + layout.dwords);
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i]!;
    const value = given[field.name];
    if (value !== undefined) setField(u32, baseDword, field, fieldRaw(field, value));
  }
}

/**
 * Decodes every field of a layout from little-endian qwords (address fields → byte address).
 * Reserved bits are not checked here: see `reservedBits`. Throws EINVAL, saying what was
 * given, unless `qwords` is an array of `layout.qwords` unsigned 64-bit bigints, and when a
 * field wider than 53 bits holds a value no `number` represents exactly. Every decoder of a
 * structure goes through here.
 */
export function decodeLayout<K extends string>(
  layout: Layout<K>,
  qwords: readonly bigint[],
): LayoutValues<K> {
  checkQwords(layout.name, layout.qwords, qwords);
  const out: Record<string, number> = {};
  for (const field of layout.fieldList) {
    const raw = (qwords[field.qword]! >> BigInt(field.qwordShift)) & field.mask;
    const value = Number(raw);
    if (BigInt(value) !== raw) {
      throw rangeErrorEinval(
        `${layout.name}.${field.name}: 0x${raw.toString(16)} is not exactly representable`,
      );
    }
    out[field.name] = value * 2 ** field.addressShift;
  }
  return out as LayoutValues<K>;
}

/** Reserved bits that are set, per qword, or `null` when the descriptor is clean. */
export function reservedBits(layout: Layout, qwords: readonly bigint[]): bigint[] | null {
  checkQwords(layout.name, layout.qwords, qwords);
  const bad = qwords.map((q, i) => q & layout.reserved[i]!);
  return bad.some((b) => b !== 0n) ? bad : null;
}

/**
 * Raw value of a field read from a `Uint32Array` slot starting at dword `baseDword`; for an
 * address field this is the stored page number (no shift applied). Allocation-free.
 */
export function getField(u32: Uint32Array, baseDword: number, field: Field): number {
  const i = baseDword + field.dword;
  const low = (u32[i]! & field.loMask) >>> field.shift;
  if (!field.spans) return low;
  return ((u32[i + 1]! & field.hiMask) >>> 0) * field.scale + low;
}

/**
 * Writes the raw value of a field into a `Uint32Array` slot starting at dword `baseDword`;
 * for an address field `value` is the page number (no shift applied). Other bits are kept.
 * Throws `RangeError` EINVAL when the value does not fit. Allocation-free when it fits.
 */
export function setField(u32: Uint32Array, baseDword: number, field: Field, value: number): void {
  if (!(Number.isInteger(value) && value >= 0 && value < field.limit)) {
    throw rangeErrorEinval(
      `${field.layout}.${field.name} [${field.hi}:${field.lo}]: raw ${hex(value)} does not fit in ${field.width} bits`,
    );
  }
  // The bits in dword `i` are below 2^(32 − shift) and stay inside the dword once shifted, so
  // `<<` gives exactly them (as an int32 the store converts back); `%` on a double would be a
  // slow fmod call in V8, and this runs for every field of every message.
  const i = baseDword + field.dword;
  if (!field.spans) {
    u32[i] = (u32[i]! & ~field.loMask) | (value << field.shift);
    return;
  }
  const high = Math.floor(value / field.scale); // exact: scale is a power of two
  const low = value - high * field.scale;
  u32[i] = (u32[i]! & ~field.loMask) | (low << field.shift);
  u32[i + 1] = (u32[i + 1]! & ~field.hiMask) | high;
}

/** True when any reserved bit of `layout` is set in the slot starting at dword `baseDword`. */
export function reservedBitsU32(layout: Layout, u32: Uint32Array, baseDword: number): boolean {
  const mask = layout.reservedU32;
  for (let d = 0; d < mask.length; d++) {
    if ((u32[baseDword + d]! & mask[d]!) !== 0) return true;
  }
  return false;
}

/** Copies qwords into a `Uint32Array` as little-endian dword pairs from dword `baseDword`. */
export function writeQwords(u32: Uint32Array, baseDword: number, qwords: readonly bigint[]): void {
  qwords.forEach((q, i) => {
    u32[baseDword + 2 * i] = Number(q & 0xffff_ffffn);
    u32[baseDword + 2 * i + 1] = Number((q >> 32n) & 0xffff_ffffn);
  });
}

/** Reads `count` qwords stored as little-endian dword pairs from dword `baseDword`. */
export function readQwords(u32: Uint32Array, baseDword: number, count: number): bigint[] {
  const out: bigint[] = [];
  for (let i = 0; i < count; i++) {
    const lo = BigInt(u32[baseDword + 2 * i]!);
    const hi = BigInt(u32[baseDword + 2 * i + 1]!);
    out.push((hi << 32n) | lo);
  }
  return out;
}

/** 1 for true, 0 for false or missing: a boolean flag as a 1-bit field value. */
export function bit(flag: boolean | undefined): number {
  return flag === true ? 1 : 0;
}
