import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  loadScenario,
  presetNames,
  presets,
  resolveScenario,
  resolveScenarioRef,
  type ScenarioError,
} from '../../src/scenario/index.js';

const fixture = (name: string): string =>
  fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

// A YAML syntax error cannot live in the repository: the formatter would reject the file.
const tmp = mkdtempSync(join(tmpdir(), 'svasim-load-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const syntaxError = join(tmp, 'syntax-error.yaml');
writeFileSync(
  syntaxError,
  [
    'name: syntax-error',
    'iommu:',
    '  units: 1',
    '  iotlb: { entries: 64, assoc: 4',
    'devices:',
    '  - count: 2',
    '',
  ].join('\n'),
);

function errorOf(
  fn: () => unknown,
): Error & { code?: string; problems?: ScenarioError['problems'] } {
  try {
    fn();
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected a throw');
}

describe('loadScenario()', () => {
  it('loads a preset by name, as a copy', () => {
    const a = loadScenario('fault-storm');
    expect(a.source).toBe('preset:fault-storm');
    expect(a.input).toEqual(presets['fault-storm']!.scenario);
    expect(a.input).not.toBe(presets['fault-storm']!.scenario);
    expect(Object.isFrozen(a.input)).toBe(false);
  });

  it('loads a YAML file as written, units as strings', () => {
    const { input, source } = loadScenario(fixture('bad-three.yaml'));
    expect(source).toBe(fixture('bad-three.yaml'));
    expect(input).toEqual({
      name: 'bad-three',
      devices: [{ count: 2, pasidBits: 24, ats: 'yes' }],
      workload: { pattern: 'random' },
    });
  });

  it('loads a JSON file', () => {
    const { input } = loadScenario(fixture('good.json'));
    expect(input.thresholds).toEqual({ 'prq.service.p99': '50us', prqOverflows: 0 });
  });

  it('reads an empty file as the empty scenario', () => {
    expect(loadScenario(fixture('empty.yaml')).input).toEqual({});
  });

  it('throws ENOENT listing the presets for a name that is neither a file nor a preset', () => {
    for (const ref of ['dsa', 'missing.yaml', fixture('missing.json')]) {
      const err = errorOf(() => loadScenario(ref));
      expect(err.code, ref).toBe('ENOENT');
      expect(err.message).toContain(`no scenario file or preset named '${ref}'`);
      expect(err.message).toContain(`presets: ${presetNames().join(', ')}`);
    }
  });

  it('throws EINVAL for a YAML syntax error, with file:line:col and the lines around it', () => {
    const file = syntaxError;
    const err = errorOf(() => loadScenario(file));
    expect(err.code).toBe('EINVAL');
    // the flow map opened on line 4 is not closed before line 5
    expect(err.message).toMatch(
      new RegExp(`^YAML syntax error in ${file}:5:1: Flow map in block collection .*end with a }`),
    );
    expect(err.message).toContain('iotlb: { entries: 64, assoc: 4');
  });

  it('throws EINVAL for duplicate YAML keys', () => {
    const err = errorOf(() => loadScenario(fixture('duplicate-key.yaml')));
    expect(err.code).toBe('EINVAL');
    expect(err.message).toMatch(/duplicate-key\.yaml:3:1: Map keys must be unique/);
  });

  it('throws EINVAL for a JSON syntax error, with file:line:col', () => {
    const file = fixture('bad.json');
    const err = errorOf(() => loadScenario(file));
    expect(err.code).toBe('EINVAL');
    // line 3 is `  "devices": [{ "count": 2, }]`: the property name expected at column 29
    expect(err.message).toMatch(new RegExp(`^JSON syntax error in ${file}:3:29: `));
  });

  it('throws EINVAL for a top level that is not a mapping', () => {
    const err = errorOf(() => loadScenario(fixture('list.yaml')));
    expect(err.code).toBe('EINVAL');
    expect(err.message).toMatch(
      /list\.yaml: expected a mapping of scenario fields at the top, got an array$/,
    );
  });

  it('throws EINVAL for a file of another kind and for a directory', () => {
    const toml = errorOf(() => loadScenario(fixture('wrong-ext.toml')));
    expect(toml.code).toBe('EINVAL');
    expect(toml.message).toMatch(/expected a \.yaml, \.yml or \.json file, got '\.toml'$/);
    const dir = errorOf(() => loadScenario(fixture('')));
    expect(dir.code).toBe('EINVAL');
    expect(dir.message).toMatch(/is a directory/);
  });
});

describe('resolveScenarioRef()', () => {
  it('resolves the default scenario without a reference, and presets by name', () => {
    expect(resolveScenarioRef()).toEqual(resolveScenario());
    expect(resolveScenarioRef('churn')).toEqual(resolveScenario(presets.churn!.scenario));
  });

  it('resolves a JSON file', () => {
    const s = resolveScenarioRef(fixture('good.json'));
    expect(s.name).toBe('good-json');
    expect(s.duration).toBe(1_000_000);
    expect(s.thresholds).toEqual({ 'prq.service.p99': 50_000, prqOverflows: 0 });
  });

  it('reports exactly the three problems of bad-three.yaml, with their lines', () => {
    const file = fixture('bad-three.yaml');
    const err = errorOf(() => resolveScenarioRef(file));
    expect(err.code).toBe('EINVAL');
    expect(err.problems).toEqual([
      {
        path: 'devices[0].pasidBits',
        message: 'expected an integer 1..20, got 24',
        line: 6,
        column: 5,
      },
      { path: 'devices[0].ats', message: 'expected a boolean, got "yes"', line: 7, column: 5 },
      {
        path: 'workload.pattern',
        message: 'expected one of sequential, strided, uniform, zipf, got "random"',
        line: 9,
        column: 3,
      },
    ]);
    expect(err.message).toBe(
      `invalid scenario ${file} (3 problems):\n` +
        `  ${file}:6:5: devices[0].pasidBits: expected an integer 1..20, got 24\n` +
        `  ${file}:7:5: devices[0].ats: expected a boolean, got "yes"\n` +
        `  ${file}:9:3: workload.pattern: expected one of sequential, strided, uniform, zipf, got "random"`,
    );
  });

  it('locates problems in JSON files too, listed in file order', () => {
    const err = errorOf(() => resolveScenarioRef(fixture('bad-values.json')));
    expect(err.code).toBe('EINVAL');
    expect(err.problems).toEqual([
      {
        path: 'runtime.threads',
        message: 'expected an integer 0..64, got 65',
        line: 3,
        column: 16,
      },
      {
        path: 'thresholds.jobsFailed',
        message: 'expected a count ≥ 0 (a plain number), got "5us"',
        line: 4,
        column: 19,
      },
    ]);
  });

  it('passes ENOENT through', () => {
    expect(errorOf(() => resolveScenarioRef('no-such-preset')).code).toBe('ENOENT');
  });
});
