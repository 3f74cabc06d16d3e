/**
 * The problems of a scenario that failed to parse (DESIGN §5): one {@link ScenarioProblem} per
 * path, worded by the schema's own messages, an unknown-keys issue split into one problem per
 * key, and listed in the order the input was written (a file's order) when the input is
 * known, so `file:line:col` positions read top to bottom.
 *
 * Not here: the positions themselves (load.ts maps paths to YAML source positions).
 */

import type { z } from 'zod';
import { isObj, type Path } from './schema-fields.js';
import type { ScenarioProblem } from './types.js';

/** A zod issue path as the scenario writes it: `devices[0].pasidBits`. */
export function formatPath(path: Path): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out;
}

/**
 * Where `path` is in `input`, as the position of each key among its object's keys (or the
 * array index): sorting by it lists problems in the order the input was written. A key the
 * input does not have (a default, a missing field) sorts after the keys it has.
 */
function inputOrder(input: unknown, path: Path): number[] {
  const order: number[] = [];
  let node = input;
  for (const seg of path) {
    let i = Number.POSITIVE_INFINITY;
    if (Array.isArray(node) && typeof seg === 'number') i = seg;
    else if (isObj(node)) {
      const k = Object.keys(node).indexOf(String(seg));
      if (k >= 0) i = k;
    }
    order.push(i);
    node = Number.isFinite(i) ? (node as Record<PropertyKey, unknown>)[seg] : undefined;
  }
  return order;
}

/** Orders two {@link inputOrder} keys: element by element, a prefix first. */
function compareOrder(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  return a.length - b.length;
}

/**
 * The problems of a failed parse, one per path (an unknown-keys issue gives one per key).
 * With the parsed `input`, they are listed in the order it was written (a file's order);
 * without, in the schema's order (DESIGN §5's).
 */
export function scenarioProblems(
  issues: readonly z.core.$ZodIssue[],
  input?: unknown,
): ScenarioProblem[] {
  const found: { path: Path; message: string }[] = [];
  for (const iss of issues) {
    if (iss.code === 'unrecognized_keys') {
      for (const key of iss.keys) {
        found.push({ path: [...iss.path, key], message: `unknown key '${key}'; ${iss.message}` });
      }
    } else if (iss.code === 'invalid_key') {
      const key = String(iss.path[iss.path.length - 1]);
      found.push({ path: iss.path, message: `bad key '${key}'; ${iss.message}` });
    } else {
      found.push({ path: iss.path, message: iss.message });
    }
  }
  if (input !== undefined) {
    const keyed = found.map((f) => ({ f, order: inputOrder(input, f.path) }));
    keyed.sort((a, b) => compareOrder(a.order, b.order));
    found.splice(0, found.length, ...keyed.map((k) => k.f));
  }
  return found.map((f) => ({ path: formatPath(f.path), message: f.message }));
}
