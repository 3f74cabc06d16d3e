/**
 * Which points of a sweep one process runs, with no coordinator: every machine computes the
 * same grid and picks its own points.
 *
 * Precedence, first that applies:
 * 1. `--index N`: point N only;
 * 2. `--shard K/N` (K 0-based, 0 ≤ K < N): the points whose index ≡ K (mod N), so an array of
 *    N tasks covers a grid of any size with `--shard ${SLURM_ARRAY_TASK_ID}/N`;
 * 3. `JOB_COMPLETION_INDEX` (a Kubernetes Indexed Job) or else `SLURM_ARRAY_TASK_ID` (a Slurm
 *    job array) in the environment: that point only;
 * 4. every point.
 */

import { codedError } from '../errors.js';

/** A shard `K/N`: the points with index ≡ k (mod n). */
export interface Shard {
  k: number;
  n: number;
}

/** How a process's points were chosen, for messages. */
export type Selection =
  | { kind: 'all' }
  | {
      kind: 'index';
      index: number;
      from: '--index' | 'JOB_COMPLETION_INDEX' | 'SLURM_ARRAY_TASK_ID';
    }
  | { kind: 'shard'; shard: Shard };

/** The environment variables that name one point, in order of precedence. */
export const INDEX_VARIABLES = ['JOB_COMPLETION_INDEX', 'SLURM_ARRAY_TASK_ID'] as const;

/** Parses `--shard K/N` (K 0-based). Throws `EINVAL` unless 0 ≤ K < N. */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  if (!m || Number(m[2]) < 1 || Number(m[1]) >= Number(m[2])) {
    throw codedError(
      'EINVAL',
      `--shard takes K/N with 0 ≤ K < N (K counts from 0, as SLURM_ARRAY_TASK_ID does), got '${text}'`,
    );
  }
  return { k: Number(m[1]), n: Number(m[2]) };
}

/**
 * How this process picks its points, from `--index`, `--shard` and the environment (see the
 * file header). Throws `EINVAL` for both flags together or a malformed variable.
 */
export function selection(
  flags: { index?: number; shard?: Shard },
  env: NodeJS.ProcessEnv,
): Selection {
  if (flags.index !== undefined && flags.shard !== undefined) {
    throw codedError('EINVAL', '--index and --shard exclude each other: give one');
  }
  if (flags.index !== undefined) return { kind: 'index', index: flags.index, from: '--index' };
  if (flags.shard !== undefined) return { kind: 'shard', shard: flags.shard };
  for (const name of INDEX_VARIABLES) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    if (!/^\d+$/.test(v)) {
      throw codedError('EINVAL', `${name} must be a whole number to pick a point, got '${v}'`);
    }
    return { kind: 'index', index: Number(v), from: name };
  }
  return { kind: 'all' };
}

/** The indexes of `total` points a selection picks, ascending. Throws `EINVAL` past the end. */
export function selectedIndexes(sel: Selection, total: number): number[] {
  switch (sel.kind) {
    case 'all':
      return Array.from({ length: total }, (_, i) => i);
    case 'index':
      if (sel.index >= total) {
        throw codedError(
          'EINVAL',
          `${sel.from} ${sel.index} is past the sweep's last point (${total} points: 0..${total - 1})`,
        );
      }
      return [sel.index];
    case 'shard': {
      const out: number[] = [];
      for (let i = sel.shard.k; i < total; i += sel.shard.n) out.push(i);
      return out;
    }
  }
}
