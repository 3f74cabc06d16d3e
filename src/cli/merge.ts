/**
 * `svasim merge DIR [--metric NAME] [--json [FILE]] [--html FILE]`: a sweep folder's point
 * reports merged per grid point (replicates: counters summed, HdrHistograms added), printed
 * as one table, and written as a deterministic JSON document and a self-contained HTML page.
 *
 * Points not run yet and failed points are listed, not fatal: a sweep still running, or run
 * on many machines and gathered in part, merges what it has. Exit status: 0, or 1 when an
 * output could not be written; a folder without `sweep.json` or an unknown metric is bad
 * input (2, through the command's error handling).
 */

import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { readSweepFolder } from '../report/sweep-folder.js';
import { formatMergeJson, mergeSweep } from '../report/sweep-merge.js';
import { DEFAULT_METRIC, parseMetric } from '../report/sweep-metric.js';
import { formatMergeTable } from '../report/sweep-text.js';
import type { CliIo } from './main.js';

interface MergeFlags {
  metric: string;
  json?: string | true;
  html?: string;
}

async function mergeCommand(io: CliIo, dir: string, f: MergeFlags): Promise<number> {
  // an unknown metric is refused before any file is read
  const metric = parseMetric(f.metric);
  const merged = mergeSweep(readSweepFolder(dir), metric);
  // `--json` alone or `--json -` puts the JSON on stdout: the table goes to stderr then
  const jsonToStdout = f.json === true || f.json === '-';
  const say = jsonToStdout ? (s: string) => io.err(s) : (s: string) => io.out(s);
  say(formatMergeTable(merged, { color: !jsonToStdout && io.color === true, dir }));
  const written: string[] = [];
  let unwritten = 0;
  const output = async (file: string, write: () => Promise<void>): Promise<void> => {
    try {
      await write();
      written.push(file);
    } catch (e) {
      unwritten++;
      io.err(`svasim: could not write ${file}: ${(e as Error).message}`);
    }
  };
  if (jsonToStdout) io.out(formatMergeJson(merged).trimEnd());
  else if (typeof f.json === 'string') {
    const file = f.json;
    await output(file, () => writeFile(file, formatMergeJson(merged)));
  }
  if (f.html !== undefined) {
    const file = f.html;
    await output(file, async () => {
      // vega loads in ~180 ms: only when asked for
      const { writeSweepHtml } = await import('../report/sweep-html.js');
      await writeSweepHtml(file, merged, dir);
    });
  }
  if (written.length > 0) say(`\nwritten: ${written.join(', ')}`);
  return unwritten > 0 ? 1 : 0;
}

/** Adds `svasim merge` to the program; `setStatus` receives its exit status. */
export function addMergeCommand(
  program: Command,
  io: CliIo,
  setStatus: (status: number) => void,
): void {
  program
    .command('merge')
    .description(
      'merge the replicates of a sweep folder per grid point and show a metric against the varied parameters',
    )
    .argument('<dir>', 'the sweep folder (the --out of svasim sweep)')
    .option(
      '--metric <name>',
      'what to show: <latency kind>.p50|p90|p99|p999|max|min|mean|count, a counter (prqOverflows, …) or a total (requests.perSecond, jobs.perSecond, iotlb.hitRate, …)',
      DEFAULT_METRIC,
    )
    .option(
      '--json [file]',
      "write the merged figures as JSON (no wall-clock figure: the same point reports give the same bytes); without FILE or '-', to stdout",
    )
    .option('--html <file>', 'write a self-contained HTML page with the plots and the table')
    .action(async (dir: string, flags: MergeFlags) => {
      setStatus(await mergeCommand(io, dir, flags));
    });
}
