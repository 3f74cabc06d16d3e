/**
 * Placement of accelerators on the partitions (threads) of a partitioned run (DESIGN §3).
 * Partition 0 is the engine's: the VT-d units, the kernel layer and the processes.
 *
 * - `separate`: no accelerator on the engine's partition; the accelerators are dealt round
 *   robin over partitions 1 … n−1 (the pure shape).
 * - `balanced`: the engine's partition may host accelerators too, so every thread carries a
 *   similar share of the work. The engine side is counted as `engineWeight` accelerators'
 *   worth of work (default {@link ENGINE_WEIGHT_PER_ACCELERATOR} per accelerator); the engine's partition gets the accelerators that bring it up to an even
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
 * Engine-side work per accelerator, in accelerators' worth: the engine's partition (VT-d
 * units, kernel, processes) carries this much work for every accelerator's own. Measured with
 * 2 threads and every accelerator off the engine's thread (the threaded report's per-thread
 * work): a closed-loop 64-accelerator variant of dense-64 0.99 s of engine work against 0.58 s for
 * the accelerators,
 * 1.7; the default scenario (8 accelerators, CPU profiles of the two workers) ~400 ms against
 * ~240 ms, 1.67. The engine grows with the requests the accelerators send, so its weight is
 * per accelerator (a constant weight of 13 — the default scenario's — put 26 of dense-64's 64
 * accelerators on an engine thread that was already the busier one). At 1.7, `balanced` puts
 * accelerators on the engine's thread only below (1 + 1.7) / 1.7 ≈ 1.6 threads, so in these
 * scenarios it places as `separate` does; scenarios with fewer requests per accelerator weigh
 * the engine less (pass `engineWeight`). The placement only moves work, never results.
 */
export const ENGINE_WEIGHT_PER_ACCELERATOR = 1.7;

/** Returns the partition of each of `accelerators` accelerators over `partitions` partitions. */
export function placeAccelerators(
  accelerators: number,
  partitions: number,
  placement: Placement,
  engineWeight = ENGINE_WEIGHT_PER_ACCELERATOR * accelerators,
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
