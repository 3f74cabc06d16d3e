/**
 * The grid of a sweep (`svasim sweep`): axes of values at dotted paths of the scenario input,
 * their cartesian product in a fixed order, the seed of each point, and a point's scenario
 * input (the base scenario with the sweep's overrides and the point's params applied before
 * resolution, so each point is validated on its own).
 *
 * Point order (the sweep folder contract): the first axis varies slowest, the replicate
 * fastest: index = ((i0 · n1 + i1) · n2 + …) · seeds + replicate. A point's seed is the 32-bit
 * FNV-1a hash of the base seed, the canonical JSON of its params (keys sorted) and its
 * replicate, so it is the same whichever machine or shard runs the point.
 *
 * Not here: the folder (folder.ts), running a point (point.ts), which points a process runs
 * (select.ts).
 */

import { codedError } from '../errors.js';
import type { ScenarioInput } from '../scenario/types.js';

/** A value an axis takes: what a YAML/JSON scalar (or, from a sweep file, any value) holds. */
export type SweepValue = number | string | boolean | null | SweepValue[] | SweepObject;

/** An object value of an axis (from a sweep file). */
export interface SweepObject {
  [key: string]: SweepValue;
}

/** One axis: a dotted path of the scenario input and the values it takes, in order. */
export interface SweepAxis {
  path: string;
  values: SweepValue[];
}

/** One point of the grid, as the manifest and each point report carry it. */
export interface SweepPoint {
  index: number;
  /** The value of each axis at this point, keyed by path, in axis order. */
  params: Record<string, SweepValue>;
  /** Replicate 0..seeds − 1. */
  replicate: number;
  /** The scenario seed of this point (uint32). */
  seed: number;
}

/** Paths an axis or an override may not set: the seed is the sweep's, per point. */
const RESERVED_PATHS = new Set(['seed']);

/**
 * A `--vary` value as written: a number when it reads as one, `true`/`false` as booleans,
 * anything else as a string (so `2ms` stays a duration the scenario parser reads).
 */
export function parseValue(text: string): SweepValue {
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (text !== '' && text === text.trim() && /^[-+]?(\d|\.\d)/.test(text)) {
    const n = Number(text);
    if (Number.isFinite(n)) return n;
  }
  return text;
}

/**
 * The segments of a dotted path: `devices.0.engines` and `devices[0].engines` both give
 * `['devices', 0, 'engines']`. Throws `EINVAL` for an empty segment or the seed.
 */
export function pathSegments(path: string): (string | number)[] {
  const dotted = path.replace(/\[(\d+)\]/g, '.$1');
  const parts = dotted.split('.');
  if (parts.some((p) => p === '')) {
    throw codedError(
      'EINVAL',
      `bad path '${path}': expected dotted keys such as iommu.prqEntries or devices.0.engines`,
    );
  }
  if (RESERVED_PATHS.has(parts[0]!)) {
    throw codedError(
      'EINVAL',
      `the path '${path}' cannot be varied: each point gets its own seed from the base seed; ` +
        'use --seed for the base seed and --seeds N for replicates',
    );
  }
  return parts.map((p) => (/^\d+$/.test(p) ? Number(p) : p));
}

/**
 * Parses one `--vary PATH=V1,V2,…` into an axis. Throws `EINVAL` when the `=` or the values
 * are missing, or a value repeats.
 */
export function parseVary(arg: string): SweepAxis {
  const eq = arg.indexOf('=');
  if (eq <= 0 || eq === arg.length - 1) {
    throw codedError(
      'EINVAL',
      `--vary takes PATH=V1,V2,…, e.g. --vary iommu.prqEntries=128,512; got '${arg}'`,
    );
  }
  const path = arg.slice(0, eq).trim();
  return checkAxis({
    path,
    values: arg
      .slice(eq + 1)
      .split(',')
      .map(parseValue),
  });
}

/** Checks an axis: a good path, at least one value, no value twice; returns it. */
export function checkAxis(axis: SweepAxis): SweepAxis {
  pathSegments(axis.path);
  if (axis.values.length === 0) {
    throw codedError('EINVAL', `the axis ${axis.path} has no values`);
  }
  const seen = new Set<string>();
  for (const v of axis.values) {
    const key = canonicalJson(v);
    if (seen.has(key)) {
      throw codedError('EINVAL', `the axis ${axis.path} lists the value ${key} twice`);
    }
    seen.add(key);
  }
  return axis;
}

/** JSON with the keys of every object sorted: one text per value, whatever its key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const keys = Object.keys(value).sort();
    const rec = value as Record<string, unknown>;
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(rec[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** 32-bit FNV-1a of the UTF-8 bytes of `text`. */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The seed of the point with `params` and `replicate` in a sweep of base seed `baseSeed`. */
export function pointSeed(
  baseSeed: number,
  params: Record<string, SweepValue>,
  replicate: number,
): number {
  return fnv1a32(`${baseSeed}\n${canonicalJson(params)}\n${replicate}`);
}

/**
 * Every point of the grid, in the contract's order: the first axis slowest, the replicate
 * fastest. No axis gives `seeds` points of the base scenario.
 */
export function expandGrid(axes: readonly SweepAxis[], seeds: number, baseSeed: number) {
  const points: SweepPoint[] = [];
  const total = axes.reduce((n, a) => n * a.values.length, 1) * seeds;
  for (let index = 0; index < total; index++) {
    let rest = Math.floor(index / seeds);
    const at: number[] = [];
    for (let a = axes.length - 1; a >= 0; a--) {
      const n = axes[a]!.values.length;
      at[a] = rest % n;
      rest = Math.floor(rest / n);
    }
    const params: Record<string, SweepValue> = {};
    axes.forEach((axis, a) => {
      params[axis.path] = axis.values[at[a]!]!;
    });
    const replicate = index % seeds;
    points.push({ index, params, replicate, seed: pointSeed(baseSeed, params, replicate) });
  }
  return points;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Sets `value` at the dotted `path` of `input` (changing it): missing objects on the way are
 * created (an array where the next segment is an index). Throws `EINVAL` when the path goes
 * through a value that is not an object, or past the end of a list.
 */
export function setPath(input: Record<string, unknown>, path: string, value: unknown): void {
  const segs = pathSegments(path);
  let node: unknown = input;
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i]!;
    const last = i === segs.length - 1;
    const where = segs.slice(0, i).join('.') || '(scenario)';
    let container: Record<string | number, unknown>;
    if (Array.isArray(node)) {
      if (typeof seg !== 'number' || seg > node.length) {
        throw codedError(
          'EINVAL',
          `cannot set ${path}: ${where} is a list of ${node.length}; expected an index 0..${node.length}`,
        );
      }
      container = node as unknown as Record<number, unknown>;
    } else if (isObj(node)) {
      container = node;
    } else {
      throw codedError('EINVAL', `cannot set ${path}: ${where} is not a mapping`);
    }
    if (last) {
      container[seg] = value;
      return;
    }
    if (container[seg] === undefined) container[seg] = typeof segs[i + 1] === 'number' ? [] : {};
    node = container[seg];
  }
}

/**
 * The scenario input of a point: `base` with `overrides` (dotted paths; the `runtime` choice
 * excepted, see {@link runtimeOverride}) and the point's params applied, in that order, and
 * the point's seed. `base` is not changed.
 */
export function pointInput(
  base: ScenarioInput,
  overrides: Readonly<Record<string, SweepValue>>,
  point: SweepPoint,
): ScenarioInput {
  const input = structuredClone(base) as Record<string, unknown>;
  for (const [path, value] of Object.entries(overrides)) {
    if (path === 'runtime' && typeof value === 'string') continue;
    setPath(input, path, structuredClone(value));
  }
  for (const [path, value] of Object.entries(point.params)) {
    setPath(input, path, structuredClone(value));
  }
  input.seed = point.seed;
  return input as ScenarioInput;
}

/**
 * The runtime a sweep's points run in: the `runtime` override when it is a runtime name (the
 * command line's `--runtime`), else inline — a sweep spreads points over cores, not one
 * point over threads.
 */
export function runtimeOverride(
  overrides: Readonly<Record<string, SweepValue>>,
): 'auto' | 'inline' | 'threaded' {
  const r = overrides.runtime;
  return r === 'auto' || r === 'threaded' ? r : 'inline';
}

/** A point's params for a message: `iommu.prqEntries=64, duration=200us`, or `(base)`. */
export function formatParams(params: Readonly<Record<string, SweepValue>>): string {
  const parts = Object.entries(params).map(
    ([k, v]) => `${k}=${typeof v === 'string' ? v : canonicalJson(v)}`,
  );
  return parts.length === 0 ? '(base)' : parts.join(', ');
}

/** A point for a message: `point 3 (iommu.prqEntries=256, replicate 1)`. */
export function pointLabel(p: SweepPoint, seeds: number): string {
  return `point ${p.index} (${formatParams(p.params)}${seeds > 1 ? `, replicate ${p.replicate}` : ''})`;
}
