/**
 * Deliberately broken fuzz targets the watchdog test loads in the fuzzing worker (a worker
 * cannot receive functions, so they live in a module of their own).
 */

import type { FuzzTarget } from '../../fuzz/core.js';

/** The decoder input that never returns. */
export const HANG_INPUT = 0;

/** A target whose decoder loops forever on {@link HANG_INPUT} and is the identity otherwise. */
export function hangingTargets(): FuzzTarget[] {
  return [
    {
      name: 'hangs-on-zero',
      decode(x) {
        if (x === HANG_INPUT) for (;;) {}
        return x;
      },
      encode: (v) => v,
      input: (rng) => rng.int(40),
      value: (rng) => 1 + rng.int(39),
    },
  ];
}
