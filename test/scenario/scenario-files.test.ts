import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  presetNames,
  presets,
  resolveScenario,
  resolveScenarioRef,
} from '../../src/scenario/index.js';

const dir = fileURLToPath(new URL('../../scenarios/', import.meta.url));
const files = readdirSync(dir).sort();

describe('scenarios/', () => {
  it('holds one YAML file per preset and nothing else', () => {
    expect(files).toEqual(
      presetNames()
        .map((n) => `${n}.yaml`)
        .sort(),
    );
  });

  it.each(files)('%s resolves', (file) => {
    expect(() => resolveScenarioRef(`${dir}${file}`)).not.toThrow();
  });

  it.each(presetNames())('%s.yaml resolves to the same scenario as the preset', (name) => {
    expect(resolveScenarioRef(`${dir}${name}.yaml`)).toEqual(
      resolveScenario(presets[name]!.scenario),
    );
  });

  it.each(files)('%s is commented and writes units out', (file) => {
    const text = readFileSync(`${dir}${file}`, 'utf8');
    expect(text.startsWith('# ')).toBe(true);
    // sizes and durations are written with a unit, never as bare byte or ns counts
    const quantities = [...text.matchAll(/\b(duration|size|bindLifetime|jobBytes): ([^,}\s]+)/g)];
    expect(quantities.length).toBeGreaterThan(0);
    for (const m of quantities) {
      expect(m[2], `${file}: ${m[1]}`).toMatch(/^\d+(\.\d+)?[a-zA-Z]+$/);
    }
  });
});
