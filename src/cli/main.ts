/**
 * The `svasim` command. Until the scenario runner lands, it runs the built-in demo of the
 * v5.8 SVA binding semantics (`svasim demo`, also the default).
 */

import { runDemo } from './demo.js';

const USAGE = `usage: svasim [demo] [--help]

  demo    bind, share, fault, invalidate, exit and unbind on a small simulated machine,
          printing every invalidation descriptor the kernel submits (default)`;

/** Runs the command line; resolves to the exit status (0 ok, 2 bad usage). */
export async function runCli(argv: readonly string[]): Promise<number> {
  const [cmd = 'demo', ...rest] = argv;
  if (cmd === '--help' || cmd === '-h' || cmd === 'help') {
    console.log(USAGE);
    return 0;
  }
  if (cmd !== 'demo' || rest.length > 0) {
    console.error(`svasim: unknown command or argument: ${argv.join(' ')}\n${USAGE}`);
    return 2;
  }
  await runDemo((line) => console.log(line));
  return 0;
}
