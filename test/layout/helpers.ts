/**
 * Shared test helpers for layouts: fast-check arbitraries of in-range field values and the
 * list of every layout the contract tests run against.
 */

import fc from 'fast-check';
import {
  CONTEXT_CACHE_INV,
  CONTEXT_ENTRY,
  DEVTLB_INV,
  FAULT_RECORD,
  type Field,
  IEC_INV,
  IOTLB_INV,
  type Layout,
  PAGE_GROUP_RESPONSE,
  PAGE_GROUP_RESPONSE_PRIV_DATA,
  PAGE_REQUEST,
  PAGE_REQUEST_PRIV_DATA,
  PASID_CACHE_INV,
  PASID_DIR_ENTRY,
  PASID_ENTRY,
  PDEVTLB_INV,
  PIOTLB_INV,
  ROOT_ENTRY,
  WAIT_DESC,
} from '../../src/layout/index.js';

/** Every layout declared in src/layout. */
export const ALL_LAYOUTS: readonly Layout[] = [
  PAGE_REQUEST,
  PAGE_REQUEST_PRIV_DATA,
  PAGE_GROUP_RESPONSE,
  PAGE_GROUP_RESPONSE_PRIV_DATA,
  CONTEXT_CACHE_INV,
  IOTLB_INV,
  DEVTLB_INV,
  IEC_INV,
  WAIT_DESC,
  PIOTLB_INV,
  PASID_CACHE_INV,
  PDEVTLB_INV,
  PASID_DIR_ENTRY,
  PASID_ENTRY,
  ROOT_ENTRY,
  CONTEXT_ENTRY,
  FAULT_RECORD,
];

const MAX_SAFE = 2n ** 53n - 1n;

/** Raw in-range values of a field (capped at 2^53 − 1 so that they are exact numbers). */
export function rawArb(field: Field): fc.Arbitrary<number> {
  const max = (1n << BigInt(field.width)) - 1n;
  return fc.bigInt({ min: 0n, max: max < MAX_SAFE ? max : MAX_SAFE }).map(Number);
}

/** Logical in-range values of a field: raw × 2^shift for address fields. */
export function valueArb(field: Field): fc.Arbitrary<number> {
  return rawArb(field).map((raw) => raw * 2 ** field.addressShift);
}

/** Logical in-range values of every field of a layout. */
export function valuesArb<K extends string>(layout: Layout<K>): fc.Arbitrary<Record<K, number>> {
  const record: Record<string, fc.Arbitrary<number>> = {};
  for (const field of layout.fieldList) record[field.name] = valueArb(field);
  return fc.record(record) as fc.Arbitrary<Record<K, number>>;
}

/** Any 64-bit unsigned qword. */
export const qwordArb: fc.Arbitrary<bigint> = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });

/** `n` arbitrary qwords. */
export function qwordsArb(n: number): fc.Arbitrary<bigint[]> {
  return fc.array(qwordArb, { minLength: n, maxLength: n });
}

/** The error `fn` throws; fails the test when it does not throw. */
export function thrown(fn: () => unknown): Error & { code?: unknown } {
  try {
    fn();
  } catch (e) {
    return e as Error & { code?: unknown };
  }
  throw new Error('expected a throw');
}
