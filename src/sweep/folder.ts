/**
 * The sweep folder (the sweep folder contract): `OUT/sweep.json`, the manifest, and
 * `OUT/points/<index>.json` per finished point (the `--json` report with `point` first) or
 * `OUT/points/<index>.error.json` per failed one. Every file is written atomically (a
 * `.<name>.tmp` beside it, then a rename), so a reader — `svasim merge`, a resumed sweep, a
 * shard on another machine — never sees half a file.
 *
 * A folder holds one sweep: a manifest that differs from the one a command computes is
 * refused, never mixed into. Not here: which points to run (select.ts).
 */

import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { codedError } from '../errors.js';
import type { JsonReport } from '../report/json.js';
import { pointFileName as pointStem } from '../report/sweep-folder.js';
import type { SweepPoint } from './grid.js';
import { manifestText, parseManifest, type SweepManifest } from './manifest.js';

/** The manifest's file in a sweep folder. */
export const MANIFEST_FILE = 'sweep.json';

/**
 * The file name of point `index`: its stem as the folder's reader names it (4 or more digits,
 * zero-padded), then `.json` or `.error.json`.
 */
export function pointFileName(index: number, error = false): string {
  return `${pointStem(index)}${error ? '.error.json' : '.json'}`;
}

/**
 * Writes `text` to `dir/name` atomically: `.<name>.tmp` in the same folder, then a rename.
 * With `shared` (a file several processes may write at once, the manifest) the temporary
 * name carries the process id as well.
 */
export function writeAtomic(dir: string, name: string, text: string, shared = false): void {
  const tmp = join(dir, shared ? `.${name}.${process.pid}.tmp` : `.${name}.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, join(dir, name));
}

/** Reads the manifest of the sweep folder `dir`, or undefined when it has none. */
export function readManifest(dir: string): SweepManifest | undefined {
  const file = join(dir, MANIFEST_FILE);
  if (!existsSync(file)) return undefined;
  return parseManifest(readFileSync(file, 'utf8'), file);
}

/** The first top-level key in which two manifests differ (for the refusal's message). */
function firstDifference(a: SweepManifest, b: SweepManifest): keyof SweepManifest {
  for (const key of Object.keys(a) as (keyof SweepManifest)[]) {
    if (JSON.stringify(a[key]) !== JSON.stringify(b[key])) return key;
  }
  return 'format';
}

/**
 * Makes `dir` the folder of the sweep `manifest`: creates it and `points/`, and writes the
 * manifest — or, when the folder already has one, checks that it is the same sweep. Throws
 * `EINVAL` when it holds another sweep (saying where they differ), `EEXIST`-like `EINVAL`
 * when `dir` is a file. Returns whether the folder already held this sweep.
 */
export function prepareFolder(dir: string, manifest: SweepManifest): boolean {
  const text = manifestText(manifest);
  const file = join(dir, MANIFEST_FILE);
  if (existsSync(file)) {
    const existing = readFileSync(file, 'utf8');
    if (existing !== text) {
      const other = parseManifest(existing, file);
      const key = firstDifference(manifest, other);
      throw codedError(
        'EINVAL',
        `${dir} holds another sweep (its ${MANIFEST_FILE} differs in '${key}': ` +
          `${JSON.stringify(other[key])} there, ${JSON.stringify(manifest[key])} here); ` +
          'give another --out, or remove that folder',
      );
    }
    mkdirSync(join(dir, 'points'), { recursive: true });
    return true;
  }
  try {
    mkdirSync(join(dir, 'points'), { recursive: true });
  } catch (e) {
    throw codedError('EINVAL', `cannot make the sweep folder ${dir}: ${(e as Error).message}`);
  }
  if (existsSync(file)) {
    // another shard wrote it in between: it must be the same sweep
    return prepareFolder(dir, manifest);
  }
  writeAtomic(dir, MANIFEST_FILE, text, true);
  return false;
}

/** Where each point of a sweep folder stands. */
export interface FolderStatus {
  /** Points with a report. */
  done: Set<number>;
  /** Points with an error file and no report. */
  failed: Set<number>;
}

/** The points of `dir` that have a report or an error file. */
export function folderStatus(dir: string): FolderStatus {
  const done = new Set<number>();
  const failed = new Set<number>();
  const pointsDir = join(dir, 'points');
  if (!existsSync(pointsDir)) return { done, failed };
  for (const name of readdirSync(pointsDir)) {
    const m = /^(\d{4,})(\.error)?\.json$/.exec(name);
    if (!m) continue;
    (m[2] ? failed : done).add(Number(m[1]));
  }
  for (const i of done) failed.delete(i);
  return { done, failed };
}

/** A point report: the run's `--json` document with `point` first. */
export type PointReport = { point: SweepPoint } & JsonReport;

/** Writes the report of `point` (and drops an error file a former attempt left). */
export function writePointReport(dir: string, point: SweepPoint, report: JsonReport): string {
  const doc: PointReport = { point, ...report };
  const pointsDir = join(dir, 'points');
  writeAtomic(pointsDir, pointFileName(point.index), `${JSON.stringify(doc, null, 2)}\n`);
  rmSync(join(pointsDir, pointFileName(point.index, true)), { force: true });
  return join(pointsDir, pointFileName(point.index));
}

/** What a failed point's error file holds. */
export interface PointError {
  point: SweepPoint;
  error: { code: string; message: string; exitStatus: number };
}

/** Writes the error file of a failed `point`; returns its path. */
export function writePointError(
  dir: string,
  point: SweepPoint,
  error: PointError['error'],
): string {
  const doc: PointError = {
    point,
    error: { code: error.code, message: error.message, exitStatus: error.exitStatus },
  };
  const pointsDir = join(dir, 'points');
  writeAtomic(pointsDir, pointFileName(point.index, true), `${JSON.stringify(doc, null, 2)}\n`);
  return join(pointsDir, pointFileName(point.index, true));
}

/** Reads the error file of point `index`, if there is one. */
export function readPointError(dir: string, index: number): PointError | undefined {
  const file = join(dir, 'points', pointFileName(index, true));
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as PointError;
}
