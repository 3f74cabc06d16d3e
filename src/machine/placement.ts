/**
 * Placement of accelerators on the partitions (threads) of a partitioned run (DESIGN §3).
 * Partition 0 is the engine's: the VT-d units, the kernel layer and the processes.
 *
 * - `separate`: no accelerator on the engine's partition; the accelerators are dealt round
 *   robin over partitions 1 … n−1 (the pure shape).
 * - `balanced`: the engine's partition may host accelerators too, so every thread carries a
 *   similar share of the work. The engine side is counted as `engineWeight` accelerators'
 *   worth of work; the engine's partition gets the accelerators that bring it up to an even
 *   share, the others are dealt round robin over the remaining partitions.
 *
 * Placement never changes a result — messages keep their keys whichever thread runs their
 * endpoints — only how the work spreads over the cores.
 */

import { codedError, ErrorCode } from '../errors.js';
import { RuntimePlacement } from '../scenario/types.js';

/** How accelerators are put on threads (the scenario's `runtime.placement` values). */
export const Placement = RuntimePlacement;

/** One of the placements. */
export type Placement = RuntimePlacement;

/**
 * Engine-side work in accelerators' worth. Measured on the default scenario (8 accelerators,
 * 20 ms, CPU profiles of the two workers): ~400 ms of engine-side work against ~240 ms for
 * the 8 accelerators, so the engine weighs about 13 accelerators. Scenarios with fewer faults
 * weigh the engine less; the placement only moves work, never results.
 */
export const DEFAULT_ENGINE_WEIGHT = 13;

/** Returns the partition of each of `accelerators` accelerators over `partitions` partitions. */
export function placeAccelerators(
  accelerators: number,
  partitions: number,
  placement: Placement,
  engineWeight = DEFAULT_ENGINE_WEIGHT,
): number[] {
  if (!Number.isInteger(partitions) || partitions < 1) {
    throw codedError(ErrorCode.EINVAL, `partitions must be a positive integer, got ${partitions}`);
  }
  if (!Object.values(Placement).includes(placement)) {
    throw codedError(
      ErrorCode.EINVAL,
      `placement must be 'separate' or 'balanced', got '${String(placement)}'`,
    );
  }
  if (partitions === 1) return new Array<number>(accelerators).fill(0);
  const out: number[] = [];
  let onEngine = 0;
  if (placement === 'balanced') {
    const share = (engineWeight + accelerators) / partitions;
    onEngine = Math.max(0, Math.min(accelerators, Math.round(share - engineWeight)));
  }
  // the engine's accelerators are the last ones, so device partitions keep low indices
  const dealt = accelerators - onEngine;
  for (let i = 0; i < accelerators; i++) out.push(i < dealt ? 1 + (i % (partitions - 1)) : 0);
  return out;
}
