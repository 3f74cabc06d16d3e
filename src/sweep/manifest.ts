/**
 * The sweep manifest (`OUT/sweep.json`, the sweep folder contract): what a sweep is — the
 * scenario as given, the base seed, the overrides, the axes, the replicates — and every point
 * with its params and seed. Deterministic: no wall-clock time, no host name, keys in the
 * contract's order, so every machine and shard that computes the manifest of the same
 * command gets the same text, and a folder holding another sweep is recognised.
 *
 * Also the sweep file (`svasim sweep FILE.sweep.yaml`): the same grid written down.
 *
 * Not here: writing the folder (folder.ts).
 */

import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { codedError } from '../errors.js';
import { defaultScenario } from '../scenario/default-values.js';
import { loadScenario } from '../scenario/load.js';
import {
  checkAxis,
  expandGrid,
  pathSegments,
  type SweepAxis,
  type SweepPoint,
  type SweepValue,
} from './grid.js';

/** What a sweep is, before its points are listed. */
export interface SweepSpec {
  /** The scenario: a preset name or a file path, as given. */
  scenario: string;
  /** The scenario's seed after `--seed`. */
  baseSeed: number;
  /** Non-grid overrides at dotted paths of the input; `runtime` as a string is `--runtime`. */
  overrides: Record<string, SweepValue>;
  axes: SweepAxis[];
  /** Replicates per grid point, 1 or more. */
  seeds: number;
}

/** The manifest of the sweep folder contract. */
export interface SweepManifest extends SweepSpec {
  format: 'svasim-sweep';
  version: 1;
  points: SweepPoint[];
}

/** The most points one sweep may have (the folder names hold 4+ digits; this keeps it sane). */
export const MAX_POINTS = 1_000_000;

/** The manifest of `spec`, keys in the contract's order. */
export function buildManifest(spec: SweepSpec): SweepManifest {
  const size = spec.axes.reduce((n, a) => n * a.values.length, 1) * spec.seeds;
  if (size > MAX_POINTS) {
    throw codedError('EINVAL', `the grid has ${size} points; at most ${MAX_POINTS} are allowed`);
  }
  return {
    format: 'svasim-sweep',
    version: 1,
    scenario: spec.scenario,
    baseSeed: spec.baseSeed,
    overrides: spec.overrides,
    axes: spec.axes.map((a) => ({ path: a.path, values: a.values })),
    seeds: spec.seeds,
    points: expandGrid(spec.axes, spec.seeds, spec.baseSeed),
  };
}

/** The manifest as written: indented JSON with a final newline. */
export function manifestText(m: SweepManifest): string {
  return `${JSON.stringify(m, null, 2)}\n`;
}

/**
 * Reads a manifest back (from `file`, for messages), checking its format and shape. Throws
 * `EINVAL` for anything that is not a sweep manifest of this version.
 */
export function parseManifest(text: string, file: string): SweepManifest {
  let m: Partial<SweepManifest>;
  try {
    m = JSON.parse(text) as Partial<SweepManifest>;
  } catch (e) {
    throw codedError('EINVAL', `${file}: not JSON (${(e as Error).message})`);
  }
  if (m?.format !== 'svasim-sweep' || m.version !== 1) {
    throw codedError('EINVAL', `${file}: not a sweep manifest (format svasim-sweep, version 1)`);
  }
  if (
    typeof m.scenario !== 'string' ||
    !Number.isInteger(m.baseSeed) ||
    !Array.isArray(m.axes) ||
    !Number.isInteger(m.seeds) ||
    !Array.isArray(m.points)
  ) {
    throw codedError('EINVAL', `${file}: a sweep manifest with missing or malformed fields`);
  }
  return m as SweepManifest;
}

/** The seed a scenario's input gives (its `seed`, or the default's). */
export function scenarioSeed(scenario: string): number {
  return loadScenario(scenario).input.seed ?? defaultScenario.seed;
}

/** What a sweep file holds. */
export interface SweepFile {
  /** The scenario, a path relative to the sweep file made relative to the working folder. */
  scenario: string;
  axes: SweepAxis[];
  seeds?: number;
  seed?: number;
  overrides: Record<string, SweepValue>;
}

const SWEEP_FILE_KEYS = ['scenario', 'vary', 'seeds', 'seed', 'overrides'];

/** Whether `ref` names a sweep file: `*.sweep.yaml`, `*.sweep.yml` or `*.sweep.json`. */
export function isSweepFile(ref: string): boolean {
  return /\.sweep\.(ya?ml|json)$/i.test(ref);
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Reads a sweep file:
 *
 *     scenario: fault-storm          # a preset, or a file relative to this one
 *     vary:                          # axes in order: the first varies slowest
 *       iommu.prqEntries: [128, 512]
 *       devices.0.priCredits: [16, 32]
 *     seeds: 2                       # replicates (default 1)
 *     seed: 7                        # base seed (default: the scenario's)
 *     overrides: { duration: 2ms }   # applied to every point, at dotted paths
 *
 * Throws `EINVAL` naming the file and the key for anything else.
 */
export function loadSweepFile(file: string): SweepFile {
  let value: unknown;
  const text = readFileSync(file, 'utf8');
  try {
    value = /\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text, { uniqueKeys: true });
  } catch (e) {
    throw codedError('EINVAL', `${file}: ${(e as Error).message}`);
  }
  const bad = (what: string) => codedError('EINVAL', `${file}: ${what}`);
  if (!isObj(value)) throw bad('expected a mapping with scenario, vary, seeds, seed, overrides');
  for (const key of Object.keys(value)) {
    if (!SWEEP_FILE_KEYS.includes(key)) {
      throw bad(`unknown key '${key}'; expected one of ${SWEEP_FILE_KEYS.join(', ')}`);
    }
  }
  const { scenario, vary, seeds, seed, overrides } = value;
  if (typeof scenario !== 'string' || scenario === '') {
    throw bad('scenario: expected a preset name or a scenario file');
  }
  if (vary !== undefined && !isObj(vary)) {
    throw bad('vary: expected a mapping of paths to lists of values');
  }
  const axes: SweepAxis[] = [];
  for (const [path, values] of Object.entries(vary ?? {})) {
    if (!Array.isArray(values)) throw bad(`vary.${path}: expected a list of values`);
    try {
      axes.push(checkAxis({ path, values: values as SweepValue[] }));
    } catch (e) {
      throw bad(`vary.${path}: ${(e as Error).message}`);
    }
  }
  if (seeds !== undefined && !(Number.isInteger(seeds) && (seeds as number) >= 1)) {
    throw bad(`seeds: expected a whole number 1 or more, got ${JSON.stringify(seeds)}`);
  }
  if (
    seed !== undefined &&
    !(Number.isInteger(seed) && (seed as number) >= 0 && (seed as number) <= 0xffff_ffff)
  ) {
    throw bad(`seed: expected a whole number 0..4294967295, got ${JSON.stringify(seed)}`);
  }
  if (overrides !== undefined && !isObj(overrides)) {
    throw bad('overrides: expected a mapping of paths to values');
  }
  for (const path of Object.keys(overrides ?? {})) {
    try {
      pathSegments(path);
    } catch (e) {
      throw bad(`overrides.${path}: ${(e as Error).message}`);
    }
  }
  // a file scenario is relative to the sweep file; a preset name has no separator or extension
  const isPath = /[\\/]|\.(ya?ml|json)$/i.test(scenario);
  const ref = isPath && !isAbsolute(scenario) ? join(dirname(file), scenario) : scenario;
  return {
    scenario: ref,
    axes,
    ...(seeds !== undefined ? { seeds: seeds as number } : {}),
    ...(seed !== undefined ? { seed: seed as number } : {}),
    overrides: (overrides ?? {}) as Record<string, SweepValue>,
  };
}
