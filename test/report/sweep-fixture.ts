/**
 * Sweep folders for the merge and compare tests, written the way the sweep folder format
 * lays them out: `sweep.json`, then `points/<index>.json` (a real run's `--json` document
 * with its `point` first) or `points/<index>.error.json`. Points run in the inline runtime,
 * one after another, with each point's seed.
 */

import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runScenario } from '../../src/machine/run.js';
import { toJsonReport } from '../../src/report/json.js';
import {
  type ParamValue,
  type PointReport,
  pointFileName,
  SWEEP_FORMAT,
  type SweepAxis,
  type SweepManifest,
  type SweepPoint,
} from '../../src/report/sweep-folder.js';
import { resolveScenario } from '../../src/scenario/defaults.js';
import { loadScenario } from '../../src/scenario/load.js';
import type { ScenarioInput } from '../../src/scenario/types.js';

/** What to sweep. */
export interface SweepSpec {
  /** A preset name or a scenario file. */
  readonly scenario: string;
  /** Top-level scenario fields set for every point (`duration: '200us'`). */
  readonly overrides?: ScenarioInput;
  readonly axes: readonly SweepAxis[];
  readonly seeds?: number;
  /** What becomes of each point: run it (default), leave it out, or write an error file. */
  readonly fate?: (p: SweepPoint) => 'run' | 'missing' | 'failed';
}

/** 32-bit FNV-1a of a string's UTF-16 code units. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

function canonical(params: Record<string, ParamValue>): string {
  const sorted: Record<string, ParamValue> = {};
  for (const k of Object.keys(params).sort()) sorted[k] = params[k]!;
  return JSON.stringify(sorted);
}

/** The manifest of a sweep: the cartesian product, first axis slowest, replicate fastest. */
export function manifestOf(spec: SweepSpec, baseSeed: number): SweepManifest {
  const seeds = spec.seeds ?? 1;
  const combos: Record<string, ParamValue>[] = [{}];
  for (const axis of spec.axes) {
    const next: Record<string, ParamValue>[] = [];
    for (const c of combos) for (const v of axis.values) next.push({ ...c, [axis.path]: v });
    combos.splice(0, combos.length, ...next);
  }
  const points: SweepPoint[] = [];
  for (const params of combos) {
    for (let replicate = 0; replicate < seeds; replicate++) {
      points.push({
        index: points.length,
        params,
        replicate,
        seed: fnv1a(`${baseSeed}|${canonical(params)}|${replicate}`),
      });
    }
  }
  return {
    format: SWEEP_FORMAT,
    version: 1,
    scenario: spec.scenario,
    baseSeed,
    overrides: (spec.overrides ?? {}) as Record<string, unknown>,
    axes: spec.axes,
    seeds,
    points,
  };
}

/** Sets `path` (dotted) in a scenario input, creating the objects on the way. */
function setPath(input: Record<string, unknown>, path: string, value: ParamValue): void {
  const parts = path.split('.');
  let o = input;
  for (const part of parts.slice(0, -1)) {
    const next = o[part];
    if (typeof next !== 'object' || next === null) o[part] = {};
    o = o[part] as Record<string, unknown>;
  }
  o[parts.at(-1)!] = value;
}

/** Runs one point of a sweep and returns its point report. */
export function runPoint(spec: SweepSpec, p: SweepPoint): PointReport {
  const input = {
    ...structuredClone(loadScenario(spec.scenario).input),
    ...structuredClone(spec.overrides ?? {}),
  } as Record<string, unknown>;
  for (const [path, v] of Object.entries(p.params)) setPath(input, path, v);
  input.seed = p.seed;
  const report = toJsonReport(runScenario(resolveScenario(input as ScenarioInput)));
  return { point: p, ...report };
}

/** Writes `text` to `file` the way the sweep does: a temporary file, then a rename. */
function writeAtomic(dir: string, name: string, text: string): void {
  const tmp = join(dir, `.${name}.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, join(dir, name));
}

/**
 * Writes the sweep folder of `spec` into `dir` (created) and returns its manifest; points
 * run in index order.
 */
export function writeSweepFolder(dir: string, spec: SweepSpec): SweepManifest {
  const base = { ...loadScenario(spec.scenario).input, ...spec.overrides };
  const baseSeed = resolveScenario(base).seed;
  const manifest = manifestOf(spec, baseSeed);
  const pointsDir = join(dir, 'points');
  mkdirSync(pointsDir, { recursive: true });
  writeFileSync(join(dir, 'sweep.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  for (const p of manifest.points) {
    const fate = spec.fate?.(p) ?? 'run';
    const name = pointFileName(p.index);
    if (fate === 'missing') continue;
    if (fate === 'failed') {
      const doc = {
        point: p,
        error: { code: 'EINVAL', message: `point ${p.index}: bad scenario`, exitStatus: 2 },
      };
      writeAtomic(pointsDir, `${name}.error.json`, `${JSON.stringify(doc, null, 2)}\n`);
      continue;
    }
    writeAtomic(pointsDir, `${name}.json`, `${JSON.stringify(runPoint(spec, p), null, 2)}\n`);
  }
  return manifest;
}
