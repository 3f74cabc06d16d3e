import { describe, expect, it } from 'vitest';
import { createSystem } from '../../src/index.js';
import { runScenario } from '../../src/machine/run.js';
import { small } from './scenarios.js';

describe('System.processes', () => {
  it('holds a process until its mm is freed, in creation order, findable by pid', async () => {
    const s = createSystem({ memory: { frames: 2048 } });
    const d = s.addDevice({ rid: 0x100 });
    const [a, b, c] = [s.createProcess(), s.createProcess(), s.createProcess()];
    expect(s.processes).toEqual([a, b, c]);
    expect(s.processById(b.id)).toBe(b);
    // an exited process whose mm nothing holds is gone at once
    b.exit();
    expect(s.processes).toEqual([a, c]);
    expect(s.processById(b.id)).toBeUndefined();
    // a bond holds the mm (mm_count) after exit: the process stays until the unbind
    const h = await s.svaBindDevice(d, a);
    a.exit();
    expect(s.processes).toEqual([a, c]);
    await s.svaUnbindDevice(h);
    expect(s.processes).toEqual([c]);
    expect(s.processById(a.id)).toBeUndefined();
  });

  it('is empty at the end of a churning run: it does not grow with the processes created', () => {
    let sys: ReturnType<typeof createSystem> | undefined;
    const r = runScenario(small(), { onSystem: (x) => (sys = x) });
    expect(r.totals.binds).toBeGreaterThan(6); // several lifetimes per client slot
    expect(r.invariants.violations).toEqual([]);
    expect(sys!.processes).toEqual([]);
  });
});
