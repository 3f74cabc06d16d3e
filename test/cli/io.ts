import type { CliIo } from '../../src/cli/main.js';

/** A command-line IO that keeps what is written: stdout lines in `text()`, stderr in `errors()`. */
export function captureIo(color = false): CliIo & { text: () => string; errors: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out: (s) => void out.push(s),
    err: (s) => void err.push(s),
    isTTY: false,
    color,
    text: () => out.join('\n'),
    errors: () => err.join('\n'),
  };
}
