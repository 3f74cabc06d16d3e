/**
 * The import rules of DESIGN §4 and STYLE.md, as data, and a checker over the import graph
 * of `src/`. Folders are the units of the rules: `src/engine/unit.ts` is in folder `engine`,
 * `src/kernel/v5.8/svm.ts` in folder `kernel` (its sub-folder `kernel/v5.8` is a profile
 * behind the seam); see {@link folderOf} for the two files at the top.
 */

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/** One import: from a file to a file, both relative to `src/`, with `/` separators. */
export interface ImportEdge {
  readonly from: string;
  readonly to: string;
}

/** Every relative import (static, re-export and dynamic) of the `.ts` files under `root`. */
export function readImports(root: string): ImportEdge[] {
  const edges: ImportEdge[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.ts')) {
        const text = readFileSync(path, 'utf8');
        const re = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm;
        for (const m of text.matchAll(re)) {
          const target = resolve(dirname(path), m[1]!).replace(/\.js$/, '.ts');
          edges.push({ from: norm(relative(root, path)), to: norm(relative(root, target)) });
        }
      }
    }
  };
  walk(root);
  return edges;
}

const norm = (p: string): string => p.split(sep).join('/');

/**
 * The folder a file belongs to for the rules: its first path segment; at the top,
 * `errors.ts` (the error catalogue, a leaf every folder may import) is `errors` and the
 * public API (`index.ts`) is `.`.
 */
export function folderOf(file: string): string {
  const i = file.indexOf('/');
  if (i >= 0) return file.slice(0, i);
  return file === 'errors.ts' ? 'errors' : '.';
}

/** A rule: files in `from` must not import files in any of `never`. */
interface Rule {
  readonly from: string;
  readonly never: readonly string[];
  readonly why: string;
}

/** The folders that run or present a simulation, above the model. */
const ABOVE_MODEL = ['machine', 'runtime', 'cli', 'report', 'scenario', 'sweep'];

/** Every folder of the model and what sits above it. */
const ALL = [
  'layout',
  'sim',
  'cache',
  'mem',
  'engine',
  'device',
  'kernel',
  'workload',
  'metrics',
  'ring',
  ...ABOVE_MODEL,
  '.',
];

const except = (...keep: string[]): string[] => ALL.filter((f) => !keep.includes(f));

/** The rules of DESIGN §4 / STYLE.md. */
export const RULES: readonly Rule[] = [
  {
    from: 'errors',
    never: ALL,
    why: 'the error catalogue is a leaf',
  },
  {
    from: 'layout',
    never: except('layout'),
    why: 'bit layouts import nothing of the model',
  },
  {
    from: 'sim',
    never: except('sim', 'layout'),
    why: 'sim/ is the ground floor every model part stands on',
  },
  {
    from: 'cache',
    never: except('cache', 'layout'),
    why: 'the cache machinery is a leaf both the unit and the devices use',
  },
  {
    from: 'engine',
    never: ['kernel', 'device', 'workload', ...ABOVE_MODEL, '.'],
    why: 'the VT-d unit is hardware: it never reaches into the kernel, a device or a runtime',
  },
  {
    from: 'device',
    never: ['engine', 'kernel', 'workload', ...ABOVE_MODEL, '.'],
    why: 'accelerators reach the unit only through ports, and keep their own function state',
  },
  {
    from: 'kernel',
    never: ['device', 'workload', ...ABOVE_MODEL, '.'],
    why: 'the kernel layer is model, not runtime or presentation',
  },
  {
    from: 'mem',
    never: except('mem', 'layout', 'sim'),
    why: 'memory and page tables sit under the unit and the kernel',
  },
  {
    from: 'workload',
    never: ['kernel', 'engine', ...ABOVE_MODEL, '.'],
    why: 'workload generators drive devices, not the kernel or a runtime',
  },
  {
    from: 'ring',
    never: except('ring', 'sim'),
    why: 'rings and the barrier are transport, independent of the model',
  },
  {
    from: 'metrics',
    never: except('metrics'),
    why: 'metrics are a leaf every layer may record into',
  },
  {
    from: 'report',
    never: ['machine', 'runtime', 'cli', 'engine', 'kernel', 'device', 'mem', 'ring', '.'],
    why: 'reports read a finished report, never the machine',
  },
  {
    from: 'machine',
    never: ['runtime', 'cli', 'ring', '.'],
    why: 'the machine runs inline; threads drive it from runtime/',
  },
  {
    from: 'sweep',
    never: ['cli', '.'],
    why: 'a sweep runs points of scenarios; the command line drives it, never the reverse',
  },
];

/** Files of one profile behind the kernel seam: only `src/kernel/` may import them. */
const PROFILE_DIR = /^kernel\/[^/]+\//;

/** The broken rules of an import graph, one line each (empty: the graph keeps every rule). */
export function checkImports(edges: readonly ImportEdge[]): string[] {
  const broken: string[] = [];
  for (const e of edges) {
    const a = folderOf(e.from);
    const b = folderOf(e.to);
    if (a === b) continue;
    for (const r of RULES) {
      if (r.from === a && r.never.includes(b)) {
        broken.push(`${e.from} imports ${e.to}: ${r.why}`);
      }
    }
    if (PROFILE_DIR.test(e.to) && a !== 'kernel') {
      broken.push(`${e.from} imports ${e.to}: profiles are reached through kernel/profile.ts`);
    }
  }
  broken.push(...folderCycles(edges));
  return broken;
}

/** Import cycles between folders, each as `a → b → … → a`. */
export function folderCycles(edges: readonly ImportEdge[]): string[] {
  const next = new Map<string, Set<string>>();
  for (const e of edges) {
    const a = folderOf(e.from);
    const b = folderOf(e.to);
    if (a === b) continue;
    if (!next.has(a)) next.set(a, new Set());
    next.get(a)!.add(b);
  }
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string): void => {
    state.set(f, 'open');
    stack.push(f);
    for (const g of [...(next.get(f) ?? [])].sort()) {
      if (state.get(g) === 'open') {
        cycles.push(
          `import cycle between folders: ${[...stack.slice(stack.indexOf(g)), g].join(' → ')}`,
        );
      } else if (!state.has(g)) visit(g);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of [...next.keys()].sort()) if (!state.has(f)) visit(f);
  return cycles;
}
