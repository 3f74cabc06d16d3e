/**
 * Leaf permissions of an x86-64 page-table tree (Intel SDM vol. 3A §4.6: R/W, XD; P = 0 with
 * the protnone marker for PROT_NONE, as Linux's _PAGE_PROTNONE) and their change over a range,
 * as mprotect does it. A change reports whether a present leaf lost a permission, the case
 * where secondary TLBs must be invalidated (VTD 6.5.3.5 lets software skip pure upgrades;
 * when the mm notifies is its call policy, mmu-notifier.ts, spec §5.1.1).
 *
 * Not modelled: U/S changes (every leaf stays a user page), protection keys, changes to
 * upper-level entries (they always grant everything; the leaf decides).
 */

import { PTE_HI_XD, PTE_P, PTE_PER_TABLE, PTE_RW, ptePfn } from '../layout/pte.js';
import { hex, invariantError } from './errors.js';
import {
  ENTRY_LEAF,
  ENTRY_NONE,
  entryKind,
  LEVEL_SPAN_PAGES,
  PTE_PROTNONE,
} from './page-table-walk.js';
import { PAGE_WORDS } from './physical-memory.js';

/** Leaf permissions. `read: false` makes a PROT_NONE leaf (not present, frame kept). */
export interface LeafPerms {
  read?: boolean;
  write: boolean;
  exec: boolean;
}

/** Rewrites the R/W, XD and P/protnone bits of the leaf at word `w`; true when a present leaf lost a permission. */
export function applyPerms(u32: Uint32Array, w: number, perms: LeafPerms): boolean {
  let lo = u32[w]!;
  let hi = u32[w + 1]!;
  const read = perms.read ?? true;
  const wasPresent = (lo & PTE_P) !== 0;
  const downgraded =
    wasPresent &&
    (!read || ((lo & PTE_RW) !== 0 && !perms.write) || ((hi & PTE_HI_XD) === 0 && !perms.exec));
  if (read) {
    lo = (lo & ~PTE_PROTNONE) | PTE_P;
    lo = perms.write ? lo | PTE_RW : lo & ~PTE_RW;
    hi = perms.exec ? hi & ~PTE_HI_XD : hi | PTE_HI_XD;
  } else {
    lo = (lo & ~(PTE_P | PTE_RW)) | PTE_PROTNONE;
    hi = hi | PTE_HI_XD;
  }
  u32[w + 1] = hi >>> 0;
  u32[w] = lo >>> 0;
  return downgraded;
}

/**
 * Applies `perms` to every leaf in [startVpn, endVpn) under `table` (at `level`, covering from
 * `baseVpn`); true when a present leaf lost a permission. `changed`, when given, is widened
 * over every leaf that lost one (the span an x86 TLB gather collects, `pte_needs_flush`).
 * A 2 MiB leaf only partly inside the range is a broken invariant (callers split on 2 MiB
 * boundaries).
 */
export function protectTree(
  u32: Uint32Array,
  table: number,
  level: number,
  baseVpn: number,
  startVpn: number,
  endVpn: number,
  perms: LeafPerms,
  changed?: { startVpn: number; endVpn: number },
): boolean {
  const span = LEVEL_SPAN_PAGES[level]!;
  const first = Math.max(startVpn, baseVpn);
  const last = Math.min(endVpn, baseVpn + span * PTE_PER_TABLE);
  const i0 = Math.floor((first - baseVpn) / span);
  const i1 = Math.ceil((last - baseVpn) / span);
  let downgraded = false;
  for (let i = i0; i < i1; i++) {
    const w = table * PAGE_WORDS + i * 2;
    const kind = entryKind(u32[w]!, level);
    if (kind === ENTRY_NONE) continue;
    const entryVpn = baseVpn + i * span;
    if (kind === ENTRY_LEAF) {
      if (entryVpn < startVpn || entryVpn + span > endVpn) {
        throw invariantError(
          `protectRange [${hex(startVpn)}, ${hex(endVpn)}) splits the 2 MiB leaf at vpn ${hex(entryVpn)}`,
        );
      }
      if (applyPerms(u32, w, perms)) {
        downgraded = true;
        if (changed) {
          if (entryVpn < changed.startVpn) changed.startVpn = entryVpn;
          if (entryVpn + span > changed.endVpn) changed.endVpn = entryVpn + span;
        }
      }
      continue;
    }
    const child = ptePfn(u32[w]!, u32[w + 1]!);
    if (protectTree(u32, child, level - 1, entryVpn, startVpn, endVpn, perms, changed)) {
      downgraded = true;
    }
  }
  return downgraded;
}
