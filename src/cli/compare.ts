/**
 * `svasim compare A.json B.json [...] [--html FILE]`: run reports (`svasim run --json`
 * documents or point reports of a sweep) side by side, each figure with its relative
 * difference against the first; `--html` adds the percentile curves of every latency kind
 * overlaid. A file that cannot be read or is not a run report is bad input (exit status 2,
 * through the command's error handling); 1 when the page could not be written.
 */

import type { Command } from 'commander';
import { formatCompare, readCompared } from '../report/compare.js';
import type { CliIo } from './main.js';

async function compareCommand(
  io: CliIo,
  files: readonly string[],
  f: { html?: string },
): Promise<number> {
  const list = readCompared(files);
  io.out(formatCompare(list, { color: io.color === true }));
  if (f.html === undefined) return 0;
  try {
    // vega loads in ~180 ms: only when asked for
    const { writeCompareHtml } = await import('../report/compare-html.js');
    await writeCompareHtml(f.html, list);
  } catch (e) {
    io.err(`svasim: could not write ${f.html}: ${(e as Error).message}`);
    return 1;
  }
  io.out(`\nwritten: ${f.html}`);
  return 0;
}

/** Adds `svasim compare` to the program; `setStatus` receives its exit status. */
export function addCompareCommand(
  program: Command,
  io: CliIo,
  setStatus: (status: number) => void,
): void {
  program
    .command('compare')
    .description(
      'show two or more run reports (--json files, or sweep point reports) side by side, with differences against the first',
    )
    .argument('<reports...>', 'two or more JSON reports')
    .option('--html <file>', 'write a self-contained HTML page with the percentile curves overlaid')
    .action(async (files: string[], flags: { html?: string }) => {
      if (files.length < 2) {
        io.err(`svasim: compare takes two or more reports, got ${files.length}`);
        setStatus(2);
        return;
      }
      setStatus(await compareCommand(io, files, flags));
    });
}
