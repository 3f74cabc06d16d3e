/**
 * Simulated physical memory, x86-64 page tables and processes (mm): the public pieces of
 * src/mem. See each file's header for what it models (spec §1, §3.2, §4.3, §5) and what not.
 */

export type { FaultAccess, FaultResult } from './demand-paging.js';
export { hex, invariantError, type MemError, MemErrorCode, memError } from './errors.js';
export {
  MM_NOTIFIER_CALLS_TLB_GATHER,
  MM_NOTIFIER_CALLS_V58,
  type MmNotifierCalls,
  type MmuNotifier,
  type PendingFlush,
} from './mmu-notifier.js';
export { type MapOptions, PageTable } from './page-table.js';
export type { LeafCallback } from './page-table-frames.js';
export type { LeafPerms } from './page-table-perms.js';
export {
  LEVEL_SPAN_PAGES,
  type LeafInfo,
  PAGES_PER_2M,
  type PageSize,
  type PagingLevels,
  PTE_PROTNONE,
  PTE_TABLE_FLAGS,
  pteIndex,
  pteWordIndex,
  vpnLimit,
  walkIndices,
} from './page-table-walk.js';
export {
  DEFAULT_FRAMES,
  PAGE_SHIFT,
  PAGE_SIZE,
  PAGE_WORDS,
  PhysicalMemory,
  type PhysicalMemoryOptions,
  pageOffset,
} from './physical-memory.js';
export { Process } from './process.js';
export {
  HUGE_PAGE_SIZE,
  MMAP_BASE,
  MMAP_MIN_ADDR,
  type MmapOptions,
  type Prot,
  type Vma,
} from './vma.js';
