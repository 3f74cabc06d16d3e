import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main as drain } from '../examples/drain-on-unbind.js';
import { main as isolation } from '../examples/isolation-same-va.js';
import { main as storm } from '../examples/prq-overflow-storm.js';

async function lines(main: (print: (line: string) => void) => Promise<void>): Promise<string[]> {
  const out: string[] = [];
  await main((l) => out.push(l));
  return out;
}

describe('examples/', () => {
  it('prq-overflow-storm: nine hardware Success answers, three software ones, PRO set then clear', async () => {
    const out = await lines(storm);
    expect(out[0]).toBe('PRGI  sent(ns)  queued  answered(ns)  by        RC');
    const rows = out.slice(1, 13).map((l) => l.trim().split(/\s+/));
    expect(rows.map((r) => r[1])).toEqual(Array(12).fill('0')); // all sent at once
    expect(rows.map((r) => r[4])).toEqual([
      ...Array(3).fill('software'),
      ...Array(9).fill('hardware'),
    ]);
    expect(out.slice(13)).toEqual([
      'overflows 9, hardware answers 9, software answers 3',
      'after the storm: page 0 writable, page 11 not present (its Success came from the overflow)',
      'PRO during the storm: set; at the end: PRO clear, head 3 = tail 3',
    ]);
  });

  it('drain-on-unbind: the unbind resolves after the last answer, its drain descriptors after every answer', async () => {
    const out = await lines(drain);
    const what = out.map((l) => l.replace(/^\s*\d+ ns\s+/, '').trim());
    const called = what.indexOf('svaUnbindDevice called');
    const answers = what.flatMap((w, i) =>
      w.startsWith('PRGI') && w.includes('answered') ? [i] : [],
    );
    expect(answers).toHaveLength(4);
    expect(Math.min(...answers)).toBeGreaterThan(called);
    expect(what.slice(called + 1, called + 4)).toEqual([
      'descriptor pasid-cache',
      'descriptor piotlb',
      'descriptor devtlb',
    ]);
    expect(what.indexOf('descriptor pdevtlb')).toBeGreaterThan(Math.max(...answers));
    expect(what.at(-2)).toBe('svaUnbindDevice resolved');
    expect(out.at(-1)).toMatch(
      /^the unbind resolved \d+ ns after the last answer reached the device$/,
    );
  });

  it('isolation-same-va: each PASID sees its own process at the same address', async () => {
    expect(await lines(isolation)).toEqual([
      'alice: PASID 1, bob: PASID 2, both mapped at 0x7f0000000000',
      'DMA read at 0x7f0000000000: PASID 1 sees "alice", PASID 2 sees "bob!!"',
      'ATS translation: PASID 1 -> 0x2b000, PASID 2 -> 0x2f000',
      'after a DMA write through PASID 1: alice has "ALICE", bob still "bob!!"',
      'alice unmapped the page: PASID 1 no longer translates, PASID 2 still translates to 0x2f000',
    ]);
  });

  it('runs as a script (npx tsx examples/<name>.ts) with the same output', async () => {
    const file = fileURLToPath(new URL('../examples/isolation-same-va.ts', import.meta.url));
    const stdout = execFileSync(process.execPath, ['--import', 'tsx', file], { encoding: 'utf8' });
    expect(stdout.trimEnd().split('\n')).toEqual(await lines(isolation));
  });
});
