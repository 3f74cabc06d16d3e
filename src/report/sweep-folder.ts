/**
 * A sweep folder as `svasim sweep` writes it (the sweep folder format): the manifest
 * (`sweep.json`: scenario, base seed, overrides, axes, seeds, every point with its parameters,
 * replicate and seed), the point reports (`points/<index>.json`, a run's `--json` document
 * with its `point` first) and the failed points (`points/<index>.error.json`), read and
 * checked against each other. `.<name>.tmp` files are points being written and are skipped.
 *
 * A folder without `sweep.json`, or whose `sweep.json` is not a manifest, is refused; a point
 * file that cannot be used (not JSON, of another sweep, a partial or interrupted run) is a
 * problem listed beside what was read, never a reason to stop. Not here: writing the folder
 * (the `sweep` command), merging (sweep-merge.ts).
 */

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type CodedError, codedError } from '../errors.js';
import { LATENCY_KINDS } from '../metrics/kinds.js';
import type { JsonReport } from './json.js';

/** The `format` of a sweep manifest. */
export const SWEEP_FORMAT = 'svasim-sweep';

/** The manifest version this reader understands. */
export const SWEEP_VERSION = 1;

/** A value of a varied parameter: numbers as numbers, true/false as booleans, else strings. */
export type ParamValue = number | string | boolean;

/** One varied parameter: a scenario-input path and its values, in `--vary` order. */
export interface SweepAxis {
  readonly path: string;
  readonly values: readonly ParamValue[];
}

/** One point of the sweep: a grid point's parameters, one replicate of it, and its seed. */
export interface SweepPoint {
  readonly index: number;
  readonly params: Readonly<Record<string, ParamValue>>;
  readonly replicate: number;
  readonly seed: number;
}

/** `sweep.json`. */
export interface SweepManifest {
  readonly format: typeof SWEEP_FORMAT;
  readonly version: number;
  /** The SCENARIO argument as given: a preset name or a file path. */
  readonly scenario: string;
  readonly baseSeed: number;
  /** Overrides of the command line that are not varied (duration, profile, …). */
  readonly overrides: Readonly<Record<string, unknown>>;
  readonly axes: readonly SweepAxis[];
  /** Replicates per grid point. */
  readonly seeds: number;
  readonly points: readonly SweepPoint[];
}

/** A point report: the run's `--json` document with the point it ran. */
export type PointReport = JsonReport & { readonly point: SweepPoint };

/** `points/<index>.error.json`: a point that did not produce a report. */
export interface PointFailure {
  readonly point: SweepPoint;
  readonly error: { readonly code: string; readonly message: string; readonly exitStatus?: number };
}

/** Something in the folder that could not be used, and why. */
export interface FolderProblem {
  /** The file, relative to the sweep folder (`points/0003.json`). */
  readonly file: string;
  /** The point the file is of, when its name says (`points/0003.json`: 3). */
  readonly index?: number;
  readonly problem: string;
}

/** A sweep folder as read: the manifest, the reports and failures by point index. */
export interface SweepFolder {
  readonly dir: string;
  readonly manifest: SweepManifest;
  readonly reports: ReadonlyMap<number, PointReport>;
  readonly failures: ReadonlyMap<number, PointFailure>;
  /** Files left out (unreadable, not matching the manifest), in file-name order. */
  readonly problems: readonly FolderProblem[];
}

function bad(message: string): CodedError {
  return codedError('EINVAL', message);
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isUint(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= 0;
}

function isParamValue(x: unknown): x is ParamValue {
  return typeof x === 'number' || typeof x === 'string' || typeof x === 'boolean';
}

/** Canonical JSON of a point's parameters (keys sorted), for comparing two of them. */
export function canonicalParams(params: Readonly<Record<string, ParamValue>>): string {
  return JSON.stringify(
    Object.keys(params)
      .sort()
      .map((k) => [k, params[k]]),
  );
}

/** What is wrong with `x` as a point (`undefined` when it is one). */
function pointProblem(x: unknown): string | undefined {
  if (!isObject(x)) return 'not an object';
  if (!isUint(x.index)) return 'index is not a whole number';
  if (!isObject(x.params) || !Object.values(x.params).every(isParamValue)) {
    return 'params is not an object of numbers, strings and booleans';
  }
  if (!isUint(x.replicate)) return 'replicate is not a whole number';
  if (!isUint(x.seed)) return 'seed is not a whole number';
  return undefined;
}

/** Checks a parsed `sweep.json`; throws `EINVAL` naming the first thing wrong. */
function checkManifest(x: unknown, file: string): SweepManifest {
  const fail = (what: string): never => {
    throw bad(`${file}: ${what}; it is not a manifest \`svasim sweep\` wrote`);
  };
  if (!isObject(x)) return fail('the top level is not an object');
  if (x.format !== SWEEP_FORMAT) {
    return fail(`format is ${JSON.stringify(x.format)}, expected "${SWEEP_FORMAT}"`);
  }
  if (x.version !== SWEEP_VERSION) {
    throw bad(
      `${file}: version ${JSON.stringify(x.version)}; this svasim reads sweep folders of version ${SWEEP_VERSION}`,
    );
  }
  if (typeof x.scenario !== 'string') fail('scenario is not a string');
  if (!isUint(x.baseSeed)) fail('baseSeed is not a whole number');
  if (!isObject(x.overrides)) fail('overrides is not an object');
  if (!Array.isArray(x.axes)) return fail('axes is not an array');
  for (const [i, a] of x.axes.entries()) {
    if (!isObject(a) || typeof a.path !== 'string' || !Array.isArray(a.values)) {
      fail(`axes[${i}] is not { path, values }`);
    } else if (a.values.length === 0 || !a.values.every(isParamValue)) {
      fail(
        `axes[${i}] (${a.path}) has no values, or values that are not numbers, strings or booleans`,
      );
    }
  }
  if (!isUint(x.seeds) || x.seeds < 1) fail('seeds is not a whole number of 1 or more');
  if (!Array.isArray(x.points)) return fail('points is not an array');
  for (const [i, p] of x.points.entries()) {
    const problem = pointProblem(p);
    if (problem !== undefined) fail(`points[${i}]: ${problem}`);
    if ((p as SweepPoint).index !== i) fail(`points[${i}] has index ${(p as SweepPoint).index}`);
  }
  return x as unknown as SweepManifest;
}

/** What is wrong with a parsed point report (`undefined` when it can be merged). */
function reportProblem(x: Record<string, unknown>): string | undefined {
  if (!isObject(x.totals)) return 'no totals: not a run report';
  if (!isObject(x.latency)) return 'no latency: not a run report';
  if (!isObject(x.histograms)) return 'no histograms: not a run report';
  for (const k of LATENCY_KINDS) {
    if (typeof x.histograms[k] !== 'string') return `no histogram of ${k}`;
  }
  if (typeof x.simulatedNs !== 'number') return 'no simulatedNs: not a run report';
  // figures of part of a run would pass for a whole one's in the merge
  if (x.partial === true) return 'a partial report (a worker failed): run the point again';
  if (x.interrupted === true) {
    return 'the run was stopped before the end of its window: run the point again';
  }
  return undefined;
}

const POINT_FILE = /^(\d{4,})\.json$/;
const ERROR_FILE = /^(\d{4,})\.error\.json$/;

/**
 * Reads the sweep folder `dir`. Throws `ENOENT` when there is no such folder or no
 * `sweep.json` in it, `EINVAL` when `sweep.json` is not a manifest; anything wrong with a
 * point file is a problem listed in the result, and the point counts as not run.
 */
export function readSweepFolder(dir: string): SweepFolder {
  const st = statSync(dir, { throwIfNoEntry: false });
  if (st === undefined) throw codedError('ENOENT', `no folder ${dir}`);
  if (!st.isDirectory()) {
    throw bad(`${dir} is a file; give the sweep folder (the --out of \`svasim sweep\`)`);
  }
  const manifestFile = join(dir, 'sweep.json');
  let text: string;
  try {
    text = readFileSync(manifestFile, 'utf8');
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') {
      throw codedError(
        'ENOENT',
        `${dir} has no sweep.json: it is not a sweep folder (\`svasim sweep --out ${dir}\` writes ` +
          'sweep.json before any point runs)',
      );
    }
    throw e;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw bad(`${manifestFile}: not JSON (${(e as Error).message})`);
  }
  const manifest = checkManifest(parsed, manifestFile);

  const reports = new Map<number, PointReport>();
  const failures = new Map<number, PointFailure>();
  const problems: FolderProblem[] = [];
  const pointsDir = join(dir, 'points');
  const names = statSync(pointsDir, { throwIfNoEntry: false })?.isDirectory()
    ? readdirSync(pointsDir).sort()
    : [];
  for (const name of names) {
    // `.<name>.tmp`: a point being written (the rename has not happened yet)
    if (name.startsWith('.')) continue;
    const file = `points/${name}`;
    const m = POINT_FILE.exec(name) ?? ERROR_FILE.exec(name);
    if (m === null) {
      problems.push({ file, problem: 'not a point file (<index>.json or <index>.error.json)' });
      continue;
    }
    const index = Number(m[1]);
    const expected = manifest.points[index];
    if (expected === undefined) {
      problems.push({ file, problem: `sweep.json has no point ${index}` });
      continue;
    }
    let doc: unknown;
    try {
      doc = JSON.parse(readFileSync(join(pointsDir, name), 'utf8'));
    } catch (e) {
      problems.push({ file, index, problem: `unreadable: ${(e as Error).message}` });
      continue;
    }
    if (!isObject(doc)) {
      problems.push({ file, index, problem: 'the top level is not an object' });
      continue;
    }
    const pp = pointProblem(doc.point);
    if (pp !== undefined) {
      problems.push({ file, index, problem: `point: ${pp}` });
      continue;
    }
    const point = doc.point as SweepPoint;
    if (
      point.index !== index ||
      point.replicate !== expected.replicate ||
      point.seed !== expected.seed ||
      canonicalParams(point.params) !== canonicalParams(expected.params)
    ) {
      problems.push({
        file,
        index,
        problem: `its point ${JSON.stringify(point)} is not point ${index} of sweep.json (${JSON.stringify(expected)}): a file of another sweep?`,
      });
      continue;
    }
    if (name.endsWith('.error.json')) {
      const err = doc.error;
      if (!isObject(err) || typeof err.code !== 'string' || typeof err.message !== 'string') {
        problems.push({ file, index, problem: 'error is not { code, message }' });
        continue;
      }
      failures.set(index, {
        point,
        error: {
          code: err.code,
          message: err.message,
          ...(typeof err.exitStatus === 'number' ? { exitStatus: err.exitStatus } : {}),
        },
      });
    } else {
      const rp = reportProblem(doc);
      if (rp !== undefined) {
        problems.push({ file, index, problem: rp });
        continue;
      }
      reports.set(index, doc as unknown as PointReport);
    }
  }
  // a point that ran again after failing: its report stands, the old error does not
  for (const index of reports.keys()) {
    if (failures.delete(index)) {
      problems.push({
        file: `points/${pointFileName(index)}.error.json`,
        problem: 'the point has a report too: the error is of an earlier attempt, left out',
      });
    }
  }
  problems.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  return { dir, manifest, reports, failures, problems };
}

/** The file name of point `index` without extension (`0007`). */
export function pointFileName(index: number): string {
  return String(index).padStart(4, '0');
}
