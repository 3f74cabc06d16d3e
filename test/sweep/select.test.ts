import { describe, expect, it } from 'vitest';
import { parseShard, selectedIndexes, selection } from '../../src/sweep/select.js';

describe('parseShard()', () => {
  it('reads K/N with K from 0', () => {
    expect(parseShard('0/3')).toEqual({ k: 0, n: 3 });
    expect(parseShard('2/3')).toEqual({ k: 2, n: 3 });
  });

  it.each(['3/3', '1/0', '-1/2', '1', 'a/b', '1/2/3'])('refuses %s', (text) => {
    expect(() => parseShard(text)).toThrow(
      `--shard takes K/N with 0 ≤ K < N (K counts from 0, as SLURM_ARRAY_TASK_ID does), got '${text}'`,
    );
  });
});

describe('selection()', () => {
  const env = { SLURM_ARRAY_TASK_ID: '3', JOB_COMPLETION_INDEX: '5' };

  it('takes --index first, then --shard, then JOB_COMPLETION_INDEX, then SLURM_ARRAY_TASK_ID', () => {
    expect(selection({ index: 1 }, env)).toEqual({ kind: 'index', index: 1, from: '--index' });
    expect(selection({ shard: { k: 1, n: 4 } }, env)).toEqual({
      kind: 'shard',
      shard: { k: 1, n: 4 },
    });
    expect(selection({}, env)).toEqual({ kind: 'index', index: 5, from: 'JOB_COMPLETION_INDEX' });
    expect(selection({}, { SLURM_ARRAY_TASK_ID: '3' })).toEqual({
      kind: 'index',
      index: 3,
      from: 'SLURM_ARRAY_TASK_ID',
    });
    expect(selection({}, { SLURM_ARRAY_TASK_ID: '' })).toEqual({ kind: 'all' });
    expect(selection({}, {})).toEqual({ kind: 'all' });
  });

  it('refuses --index with --shard, and a variable that is not a whole number', () => {
    expect(() => selection({ index: 1, shard: { k: 0, n: 2 } }, {})).toThrow(
      '--index and --shard exclude each other',
    );
    expect(() => selection({}, { SLURM_ARRAY_TASK_ID: '2-3' })).toThrow(
      "SLURM_ARRAY_TASK_ID must be a whole number to pick a point, got '2-3'",
    );
  });
});

describe('selectedIndexes()', () => {
  it('gives every point, one point, or the points ≡ K (mod N)', () => {
    expect(selectedIndexes({ kind: 'all' }, 4)).toEqual([0, 1, 2, 3]);
    expect(selectedIndexes({ kind: 'index', index: 2, from: '--index' }, 4)).toEqual([2]);
    expect(selectedIndexes({ kind: 'shard', shard: { k: 1, n: 3 } }, 8)).toEqual([1, 4, 7]);
    expect(selectedIndexes({ kind: 'shard', shard: { k: 5, n: 6 } }, 4)).toEqual([]);
  });

  it('shards of an array of M tasks cover a grid of P points exactly once', () => {
    const covered = [0, 1, 2].flatMap((k) =>
      selectedIndexes({ kind: 'shard', shard: { k, n: 3 } }, 10),
    );
    expect(covered.sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
  });

  it('refuses an index past the last point, naming where it came from', () => {
    expect(() =>
      selectedIndexes({ kind: 'index', index: 8, from: 'SLURM_ARRAY_TASK_ID' }, 8),
    ).toThrow("SLURM_ARRAY_TASK_ID 8 is past the sweep's last point (8 points: 0..7)");
  });
});
