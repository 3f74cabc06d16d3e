/** Test helpers for src/mem: catch an error and return its `code` (and message). */

/** Runs `fn` and returns the thrown error's `code`, or 'no error' when it did not throw. */
export function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return String((err as { code?: unknown }).code);
  }
  return 'no error';
}

/** Runs `fn` and returns the thrown error's message, or '' when it did not throw. */
export function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  return '';
}
