/**
 * Loading a scenario by reference (DESIGN §5 `svasim run [SCENARIO]`, `svasim validate`): a
 * path to a `.yaml`/`.yml`/`.json` file, or the name of a preset. YAML is read with `yaml` 2
 * (YAML 1.2 core schema: `yes` is a string, not a boolean; duplicate keys are errors); JSON
 * with `JSON.parse`. Syntax errors name the file, line and column.
 *
 * Errors carry a `code`: `ENOENT` when the reference is neither a file nor a preset (the
 * message lists the presets), `EINVAL` for a file that cannot be read as a scenario (syntax,
 * top level not a mapping, wrong extension) and, from {@link resolveScenarioRef}, for a
 * scenario with problems — then each problem also carries the line and column of its value
 * in the file.
 *
 * Not handled: multi-document YAML (a second document is a syntax error), YAML merge keys
 * (`<<` is an unknown key), includes.
 */

import { readFileSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import { isMap, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { type CodedError, codedError } from '../errors.js';
import { formatProblem, resolveScenario, scenarioError } from './defaults.js';
import { presetNames, presets } from './presets.js';
import type { Scenario, ScenarioError, ScenarioInput, ScenarioProblem } from './types.js';
import { describeValue } from './units.js';

/** Where something is in a file: 1-based line and column. */
export interface SourcePosition {
  line: number;
  column: number;
}

/** A scenario as loaded, before resolution. */
export interface LoadedScenario {
  /** What the file or preset holds. */
  input: ScenarioInput;
  /** Where it came from: the file path as given, or `preset:<name>`. */
  source: string;
  /** Position of the value at a problem path (`devices[0].pasidBits`) in the file, if any. */
  locate?: (path: string) => SourcePosition | undefined;
}

const EXTENSIONS = ['.yaml', '.yml', '.json'];

function fail(code: 'EINVAL' | 'ENOENT', message: string): CodedError {
  return codedError(code, message);
}

function presetList(): string {
  return presetNames().join(', ');
}

/** Reads YAML `text` from `file`: the value and a locator, or an `EINVAL` with file:line:col. */
function parseYaml(text: string, file: string) {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: true, lineCounter, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const lines = doc.errors.map((e) => {
      const at = e.linePos?.[0];
      const [head = '', ...snippet] = e.message.split('\n');
      const what = head.replace(/ at line \d+, column \d+:?$/, '');
      const frame = snippet.filter((l) => l.trim() !== '').map((l) => `    ${l}`);
      return [`${file}:${at?.line ?? 1}:${at?.col ?? 1}: ${what}`, ...frame].join('\n');
    });
    throw fail('EINVAL', `YAML syntax error in ${lines.join('\n')}`);
  }
  const locate = (path: string): SourcePosition | undefined => {
    const offset = offsetOf(doc.contents, path);
    if (offset === undefined) return undefined;
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  return { value: doc.toJS() as unknown, locate };
}

/**
 * Start offset of the node a problem path names: the key of a mapping entry (where the line
 * reads), a sequence item, or the nearest enclosing node when the path goes further than the
 * file does. Keys may contain dots (`prq.service.p99`): the longest key that fits wins.
 */
function offsetOf(root: unknown, path: string): number | undefined {
  let node = root as Node | null | undefined;
  let at = node?.range?.[0];
  let rest = path;
  while (rest !== '' && node) {
    if (rest.startsWith('.')) rest = rest.slice(1);
    const index = /^\[(\d+)\]/.exec(rest);
    if (index && isSeq(node)) {
      const item = node.items[Number(index[1])] as Node | undefined;
      if (!item) break;
      node = item;
      at = item.range?.[0] ?? at;
      rest = rest.slice(index[0].length);
      continue;
    }
    if (!isMap(node)) break;
    let best: { key: string; pair: (typeof node.items)[number] } | undefined;
    for (const pair of node.items) {
      const key = String((pair.key as { value?: unknown } | null)?.value ?? pair.key);
      const fits = rest === key || rest.startsWith(`${key}.`) || rest.startsWith(`${key}[`);
      if (fits && (!best || key.length > best.key.length)) best = { key, pair };
    }
    if (!best) break;
    at = (best.pair.key as Node | null)?.range?.[0] ?? at;
    node = best.pair.value as Node | null;
    rest = rest.slice(best.key.length);
  }
  return at;
}

/** Reads JSON `text` from `file`: the value and a locator, or an `EINVAL` with file:line:col. */
function parseJson(text: string, file: string) {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    const m = /at position (\d+)/.exec(message);
    const offset = m ? Number(m[1]) : text.length;
    const before = text.slice(0, offset).split('\n');
    const line = before.length;
    const column = (before[before.length - 1]?.length ?? 0) + 1;
    throw fail('EINVAL', `JSON syntax error in ${file}:${line}:${column}: ${message}`);
  }
  // JSON is YAML: the YAML reader gives positions for the problems, when it agrees
  let locate: ((path: string) => SourcePosition | undefined) | undefined;
  try {
    locate = parseYaml(text, file).locate;
  } catch {
    locate = undefined;
  }
  return { value, locate };
}

function isObj(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Loads the scenario `ref` names. A ref with a `.yaml`/`.yml`/`.json` extension or a path
 * separator is a file; any other ref is a preset name (presets have neither). Throws `ENOENT`
 * when the file or preset does not exist (the message lists the presets) and `EINVAL` when
 * the file does not parse (with file:line:col), is not a scenario file, or its top level is
 * not a mapping. An empty file is the empty scenario (every default). The result is not
 * validated: see {@link resolveScenarioRef}.
 */
export function loadScenario(ref: string): LoadedScenario {
  const ext = extname(ref).toLowerCase();
  const isPath = EXTENSIONS.includes(ext) || /[\\/]/.test(ref);
  if (!isPath && Object.hasOwn(presets, ref)) {
    return { input: structuredClone(presets[ref]!.scenario), source: `preset:${ref}` };
  }
  const st = statSync(ref, { throwIfNoEntry: false });
  if (st === undefined) {
    throw fail(
      'ENOENT',
      `no scenario file or preset named '${ref}'; give a .yaml, .yml or .json file, or one ` +
        `of the presets: ${presetList()}`,
    );
  }
  if (st.isDirectory()) {
    throw fail('EINVAL', `${ref} is a directory; expected a .yaml, .yml or .json file`);
  }
  if (!EXTENSIONS.includes(ext)) {
    throw fail(
      'EINVAL',
      `${ref}: expected a .yaml, .yml or .json file, got '${ext || 'no extension'}'`,
    );
  }
  const text = readFileSync(ref, 'utf8');
  const { value, locate } = ext === '.json' ? parseJson(text, ref) : parseYaml(text, ref);
  if (value === null || value === undefined) return { input: {}, source: ref, locate };
  if (!isObj(value)) {
    throw fail(
      'EINVAL',
      `${ref}: expected a mapping of scenario fields at the top, got ${describeValue(value)}`,
    );
  }
  return { input: value as ScenarioInput, source: ref, locate };
}

/**
 * Loads and resolves the scenario `ref` names (a file or a preset); without `ref`, the
 * default scenario. `overrides` replace top-level fields before resolving (so defaults that
 * follow another field, such as the PRQ size the profile gives, follow the override). A
 * scenario with problems throws `EINVAL` whose `problems` carry the line and column of each
 * value in the file, and whose message names the file.
 */
export function resolveScenarioRef(ref?: string, overrides: ScenarioInput = {}): Scenario {
  if (ref === undefined) return resolveScenario(overrides);
  const loaded = loadScenario(ref);
  try {
    return resolveScenario({ ...loaded.input, ...overrides });
  } catch (err) {
    const problems = (err as Partial<ScenarioError>).problems;
    if ((err as { code?: string }).code !== 'EINVAL' || !problems) throw err;
    const located: ScenarioProblem[] = problems.map((p) => {
      const at = loaded.locate?.(p.path);
      return at ? { ...p, line: at.line, column: at.column } : p;
    });
    throw scenarioError(located, `invalid scenario ${loaded.source}`, (p) =>
      p.line === undefined
        ? formatProblem(p)
        : `${loaded.source}:${p.line}:${p.column}: ${formatProblem(p)}`,
    );
  }
}
