import type { InvLogEntry } from '../../src/engine/invalidation-queue.js';
import { createSystem, type SystemConfig } from '../../src/index.js';

/** A small system for kernel tests. */
export function smallSystem(config: SystemConfig = {}) {
  return createSystem({ memory: { frames: 2048 }, ...config });
}

/** Log entries as [type, qw0 hex, qw1 hex] for compact assertions on raw words. */
export function rawLog(log: readonly InvLogEntry[], from = 0): [string, string, string][] {
  return log.slice(from).map((e) => [e.type, e.raw[0]!.toString(16), e.raw[1]!.toString(16)]);
}

/** Expects `p` to reject with an error carrying `code`. */
export async function expectCode(p: Promise<unknown>, code: string): Promise<Error> {
  try {
    await p;
  } catch (e) {
    const err = e as Error & { code?: string };
    if (err.code !== code) throw new Error(`expected ${code}, got ${err.code}: ${err.message}`);
    return err;
  }
  throw new Error(`expected rejection with ${code}, but it resolved`);
}
