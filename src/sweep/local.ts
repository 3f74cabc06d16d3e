/**
 * Running a sweep's points on local processes (`svasim sweep … -j N`): at most N point
 * processes at once, each `svasim sweep --out DIR --index I` (node on svasim's own entry
 * point), which reads the grid from the folder's manifest, runs the point and writes its
 * file. A point process that crashes takes only its point down: the runner writes its error
 * file and goes on.
 *
 * Signals: the point processes run in their own process group, so a terminal's Ctrl-C reaches
 * only this one. The first SIGINT (or SIGTERM) stops launching and sends SIGTERM to the running
 * points, which die without writing (a point is whole or pending, never partial; the resume
 * runs them again); the second sends SIGKILL and returns at once.
 *
 * Not here: the progress display (cli/sweep.ts), which points to run (select.ts).
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pointFileName, readPointError, writePointError } from './folder.js';
import { pointLabel, type SweepPoint } from './grid.js';
import type { SweepManifest } from './manifest.js';
import { POINT_FAILED } from './point.js';

/** How a point process ended. */
export interface PointExit {
  status: number | null;
  signal: NodeJS.Signals | null;
  /** The end of what it wrote on stderr. */
  stderr: string;
}

/** A running point process. */
export interface PointProcess {
  readonly exited: Promise<PointExit>;
  kill(signal: NodeJS.Signals): void;
}

/** Starts the process of point `index`. */
export type Launch = (index: number) => PointProcess;

/** What became of a point this run. */
export type PointResult =
  | { kind: 'done'; index: number; wallMs: number }
  | { kind: 'failed'; index: number; wallMs: number; code: string; message: string }
  | { kind: 'stopped'; index: number };

/** svasim's entry point (bin/svasim.mjs), two folders up from src/sweep/ and dist/sweep/. */
export function svasimBin(): string {
  return fileURLToPath(new URL('../../bin/svasim.mjs', import.meta.url));
}

const STDERR_KEEP = 4096;

/** Launches point processes `node bin/svasim.mjs sweep --out DIR --index I --quiet`. */
export function childLauncher(dir: string): Launch {
  return (index) => {
    const child: ChildProcess = spawn(
      process.execPath,
      [svasimBin(), 'sweep', '--out', dir, '--index', String(index), '--quiet'],
      // a group of its own: a terminal's Ctrl-C goes to the runner, which stops the points
      { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
    );
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (s: string) => {
      stderr = (stderr + s).slice(-STDERR_KEEP);
    });
    const exited = new Promise<PointExit>((resolve) => {
      child.once('error', (e) => resolve({ status: null, signal: null, stderr: e.message }));
      child.once('close', (status, signal) => resolve({ status, signal, stderr }));
    });
    return {
      exited,
      kill: (signal) => {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      },
    };
  };
}

/** What the runner tells its progress display. */
export interface RunnerEvents {
  started?(index: number, running: number): void;
  finished?(result: PointResult, running: number): void;
}

/** Options of {@link runLocal}. */
export interface LocalRunOptions {
  manifest: SweepManifest;
  dir: string;
  /** The points to run, in order. */
  indexes: readonly number[];
  jobs: number;
  launch: Launch;
  events?: RunnerEvents;
  /** Aborted: stop launching and stop the running points (SIGTERM). */
  stop?: AbortSignal;
  /** Aborted: kill the running points (SIGKILL) and return. */
  abandon?: AbortSignal;
}

/** Runs the points of `indexes` on at most `jobs` processes; resolves to each one's result. */
export function runLocal(o: LocalRunOptions): Promise<PointResult[]> {
  const queue = [...o.indexes];
  const running = new Map<number, PointProcess>();
  const results: PointResult[] = [];
  return new Promise((resolve) => {
    let finishedAll = false;
    const finish = (): void => {
      if (finishedAll) return;
      finishedAll = true;
      o.stop?.removeEventListener('abort', onStop);
      o.abandon?.removeEventListener('abort', onAbandon);
      resolve(results);
    };
    const onStop = (): void => {
      for (const p of running.values()) p.kill('SIGTERM');
      if (running.size === 0) finish();
    };
    const onAbandon = (): void => {
      for (const p of running.values()) p.kill('SIGKILL');
      for (const index of running.keys()) results.push({ kind: 'stopped', index });
      running.clear();
      finish();
    };
    o.stop?.addEventListener('abort', onStop, { once: true });
    o.abandon?.addEventListener('abort', onAbandon, { once: true });
    const next = (): void => {
      while (!o.stop?.aborted && running.size < o.jobs && queue.length > 0) {
        const index = queue.shift()!;
        const t0 = performance.now();
        const p = o.launch(index);
        running.set(index, p);
        o.events?.started?.(index, running.size);
        void p.exited.then((exit) => {
          if (finishedAll || !running.has(index)) return;
          running.delete(index);
          const r = settle(o.manifest, o.dir, index, exit, performance.now() - t0, o.stop);
          results.push(r);
          o.events?.finished?.(r, running.size);
          next();
        });
      }
      if (running.size === 0 && (queue.length === 0 || o.stop?.aborted)) finish();
    };
    if (o.stop?.aborted) finish();
    else next();
  });
}

/**
 * What an ended point process left: its report (done), its error file (failed), or nothing —
 * stopped when the runner stopped it or a signal of stopping ended it, else a crash, whose
 * error file the runner writes.
 */
function settle(
  m: SweepManifest,
  dir: string,
  index: number,
  exit: PointExit,
  wallMs: number,
  stop: AbortSignal | undefined,
): PointResult {
  if (existsSync(join(dir, 'points', pointFileName(index)))) return { kind: 'done', index, wallMs };
  const recorded = readPointError(dir, index);
  if (recorded) {
    return {
      kind: 'failed',
      index,
      wallMs,
      code: recorded.error.code,
      message: recorded.error.message,
    };
  }
  if (stop?.aborted || exit.signal === 'SIGTERM' || exit.signal === 'SIGINT') {
    return { kind: 'stopped', index };
  }
  const point = m.points[index] as SweepPoint;
  const how =
    exit.signal !== null
      ? `was killed by ${exit.signal}`
      : exit.status === null
        ? 'could not start'
        : `exited with status ${exit.status} and wrote no report`;
  const tail = exit.stderr.trim().split('\n').slice(-3).join(' | ');
  const message = `${pointLabel(point, m.seeds)}: the point process ${how}${tail ? `: ${tail}` : ''}`;
  const exitStatus = exit.status ?? 128 + signalNumber(exit.signal);
  writePointError(dir, point, { code: POINT_FAILED, message, exitStatus });
  return { kind: 'failed', index, wallMs, code: POINT_FAILED, message };
}

function signalNumber(signal: NodeJS.Signals | null): number {
  return signal === null ? 0 : (constants.signals[signal] ?? 0);
}
