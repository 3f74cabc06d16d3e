/**
 * Checks of what the public bus API of a device is given (DESIGN §6 `device.translate`,
 * `pageRequest`, `dmaRead`, `dmaWrite`): PASIDs, byte addresses, lengths, flags and PRG
 * indexes, each refused with `EINVAL` and a message saying what was expected, before any
 * message is built. A value the bus cannot carry must not be truncated into one it can: a
 * PASID of 2^32 + 1 written to a 32-bit message word would otherwise travel as PASID 1.
 *
 * What is checked is what a function can put on the link, not what the unit accepts: a PASID
 * within the function's PASID capability but beyond the unit's width, or an address beyond
 * the user half of the paging mode, stays a request and meets its architectural outcome at
 * the unit (SGN.10, SGN.1; spec §6.1 Table 30). The accelerator's own per-chunk path
 * (`post`, `openGroup`, `noteStopMarker`) builds messages from values it already owns and is
 * not checked here.
 */

import { codedError, describeValue as describe, ErrorCode } from '../errors.js';

/** Highest PRG index (9 bits, spec §4.2). */
export const PRG_INDEX_MAX = 511;

/** The widest byte-address space a system can have: 2^53, where `number` stops being exact. */
export const MAX_ADDRESS_LIMIT = 2 ** 53;

/** The address width a device's requests have (the CPU paging mode of the system). */
export interface AddressSpace {
  /** One past the highest byte address: 2^48 (4-level paging) or 2^53 (5-level, capped). */
  readonly limit: number;
  /** How to say the limit in a message. */
  readonly name: string;
}

/** The address space of 4-level or 5-level paging (DESIGN §6: addresses exact up to 2^53). */
export function addressSpace(la57: boolean): AddressSpace {
  return la57
    ? {
        limit: MAX_ADDRESS_LIMIT,
        name: '2^53 (5-level paging, within the exact range of a number)',
      }
    : { limit: 2 ** 48, name: '2^48 (4-level paging: 48-bit addresses)' };
}

function invalid(op: string, message: string): Error {
  return codedError(ErrorCode.EINVAL, `${op}: ${message}`);
}

/** The request object of a bus method, or EINVAL naming the fields it needs. */
export function checkRequest(op: string, req: unknown, fields: string): void {
  if (typeof req !== 'object' || req === null || Array.isArray(req)) {
    throw invalid(op, `expected a request object { ${fields} }, got ${describe(req)}`);
  }
}

/**
 * A PASID a function with a `pasidBits`-wide PASID capability can send (spec §1: the
 * function supports PASIDs below `pci_max_pasids` = 1 << width): an integer in
 * [0, 2^pasidBits). A function without the capability (pasidBits 0) sends no PASID at all,
 * and requests without PASID are not modelled.
 */
export function checkPasid(op: string, pasid: unknown, pasidBits: number, rid: number): void {
  if (pasidBits === 0) {
    throw invalid(
      op,
      `device rid 0x${rid.toString(16)} has no PASID capability (pasidBits 0), so it cannot send a PASID (got ${describe(pasid)}); add the device with pasidBits 1..20`,
    );
  }
  const limit = 2 ** pasidBits;
  if (typeof pasid !== 'number' || !Number.isInteger(pasid) || pasid < 0 || pasid >= limit) {
    throw invalid(
      op,
      `pasid must be an integer 0..${limit - 1} (device rid 0x${rid.toString(16)} has a ${pasidBits}-bit PASID capability), got ${describe(pasid)}`,
    );
  }
}

/**
 * A byte address and the `length` bytes from it inside the address space: integers,
 * `addr` ≥ 0, `length` ≥ 1 and `addr + length` ≤ the limit (nothing wraps past the width).
 */
export function checkRange(op: string, addr: unknown, length: number, space: AddressSpace): void {
  if (typeof addr !== 'number' || !Number.isInteger(addr) || addr < 0 || addr >= space.limit) {
    throw invalid(
      op,
      `addr must be an integer byte address from 0 to below ${space.name}, got ${describe(addr)}`,
    );
  }
  if (length > space.limit - addr) {
    throw invalid(
      op,
      `[0x${addr.toString(16)}, +${length}) runs past the end of the address space at ${space.name}`,
    );
  }
}

/** A flag: a boolean, or undefined unless `required`. */
export function checkFlag(op: string, name: string, value: unknown, required = false): void {
  if (typeof value === 'boolean' || (value === undefined && !required)) return;
  throw invalid(
    op,
    `${name} must be a boolean${required ? '' : ' or omitted'}, got ${describe(value)}`,
  );
}

/** A PRG index: an integer 0..511 (9 bits, spec §4.2). */
export function checkPrgIndex(op: string, prgIndex: unknown): void {
  if (
    typeof prgIndex !== 'number' ||
    !Number.isInteger(prgIndex) ||
    prgIndex < 0 ||
    prgIndex > PRG_INDEX_MAX
  ) {
    throw invalid(op, `prgIndex must be 0..${PRG_INDEX_MAX} (9 bits), got ${describe(prgIndex)}`);
  }
}

/** A DMA length: an integer number of bytes 1..`max` (the device's data buffer). */
export function checkLength(op: string, length: unknown, max: number): void {
  if (typeof length !== 'number' || !Number.isInteger(length) || length <= 0 || length > max) {
    throw invalid(op, `DMA length must be 1..${max} bytes, got ${describe(length)}`);
  }
}

/** DMA write data: a Uint8Array. */
export function checkData(op: string, data: unknown): void {
  if (!(data instanceof Uint8Array)) {
    throw invalid(op, `data must be a Uint8Array, got ${describe(data)}`);
  }
}
