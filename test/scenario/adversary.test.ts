import { describe, expect, it } from 'vitest';
import { ADVERSARY_KINDS } from '../../src/device/adversary.js';
import {
  defaultAdversary,
  resolveScenario,
  type ScenarioError,
  type ScenarioInput,
  scenarioJsonSchema,
} from '../../src/scenario/index.js';

function problemsOf(input: unknown): ScenarioError {
  try {
    resolveScenario(input as ScenarioInput);
  } catch (err) {
    return err as ScenarioError;
  }
  throw new Error(`expected ${JSON.stringify(input)} to be rejected`);
}

describe('devices[].adversary', () => {
  it('is absent from an honest group, and takes 10k/s of every kind when given empty', () => {
    const sc = resolveScenario({ devices: [{ count: 2 }, { count: 1, adversary: {} }] });
    expect('adversary' in sc.devices[0]!).toBe(false);
    expect(sc.devices[1]!.adversary).toEqual({ rate: 10_000, kinds: [...ADVERSARY_KINDS] });
    expect(defaultAdversary).toEqual({ rate: 10_000, kinds: [...ADVERSARY_KINDS] });
  });

  it('takes a rate with units and a list of kinds, in the order written', () => {
    const sc = resolveScenario({
      devices: [{ adversary: { rate: '250k/s', kinds: ['translatedDma', 'noPasid'] } }],
    });
    expect(sc.devices[0]!.adversary).toEqual({
      rate: 250_000,
      kinds: ['translatedDma', 'noPasid'],
    });
  });

  it.each([
    [{ rate: 0 }, 'devices[0].adversary.rate', /expected a value > 0, got 0/],
    [{ rate: 'often' }, 'devices[0].adversary.rate', /invalid rate "often"/],
    [
      { kinds: ['dmaStorm'] },
      'devices[0].adversary.kinds[0]',
      /^expected one of foreignPasid, pasidOutOfRange, unmapped, nonCanonical, noPasid, prgReuse, lpigFlood, noAccess, translatedDma, got "dmaStorm"$/,
    ],
    [{ kinds: [] }, 'devices[0].adversary.kinds', /expected a non-empty list of foreignPasid/],
    [
      { kinds: ['noPasid', 'unmapped', 'noPasid'] },
      'devices[0].adversary.kinds[2]',
      /^noPasid is listed twice; list each kind once$/,
    ],
    [
      { kind: ['noPasid'] },
      'devices[0].adversary.kind',
      /^unknown key 'kind'; allowed: rate, kinds$/,
    ],
  ])('rejects %j at %s', (adversary, path, message) => {
    const err = problemsOf({ devices: [{ adversary }] });
    expect(err.code).toBe('EINVAL');
    expect(err.problems.map((p) => p.path)).toEqual([path]);
    expect(err.problems[0]!.message).toMatch(message);
  });

  it('is described in the JSON Schema with its kinds', () => {
    const text = JSON.stringify(scenarioJsonSchema());
    expect(text).toContain('Hostile transactions each accelerator sends besides its jobs');
    for (const k of ADVERSARY_KINDS) expect(text).toContain(`"${k}"`);
  });
});
