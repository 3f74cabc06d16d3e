import { describe, expect, it } from 'vitest';
import { exhaustionWarnings } from '../../src/machine/capacity.js';
import { createScenarioRun } from '../../src/machine/run.js';
import type { ScenarioInput } from '../../src/scenario/types.js';
import { small } from './scenarios.js';

function warnings(sc: ScenarioInput): string[] {
  const run = createScenarioRun(sc);
  return exhaustionWarnings(run.sys, run.sc);
}

describe('exhaustionWarnings()', () => {
  it('says nothing of a scenario that fits, and leaves the machine as it found it', () => {
    const run = createScenarioRun(small());
    const before = run.sys.memory.framesInUse;
    expect(exhaustionWarnings(run.sys, run.sc)).toEqual([]);
    expect(run.sys.memory.framesInUse).toBe(before);
    expect(run.sys.processes).toEqual([]);
  });

  it('is certain when the clients of devices of one width outnumber its PASIDs (PASID 0 reserved)', () => {
    // 2^2 − 1 = 3 PASIDs for 4 clients; 3 clients fit exactly
    expect(warnings(small({ iommu: { pasidBits: 2 }, clients: { count: 4 } }))).toEqual([
      'iommu.pasidBits 2 leaves 3 PASIDs (1..3; PASID 0 is reserved) for the 4 clients bound ' +
        'at once: binds will fail (ENOSPC) and those clients wait and retry; raise it to 3 or ' +
        'more, or lower clients.count',
    ]);
    expect(warnings(small({ iommu: { pasidBits: 2 }, clients: { count: 3 } }))).toEqual([]);
  });

  it('says "may" when only the narrower devices are short: the PASID space is shared', () => {
    // client i on device i mod 2: 2 clients on the 2-bit device (3 PASIDs), 4 clients in all
    const sc = small({
      devices: [
        { count: 1, pasidBits: 2 },
        { count: 1, pasidBits: 20 },
      ],
      clients: { count: 4 },
    });
    expect(warnings(sc)).toEqual([
      'devices[0].pasidBits 2 leaves 3 PASIDs and the 4 clients share one PASID space: clients ' +
        'of wider devices may hold the low PASIDs, so binds may fail (ENOSPC); raise it to 3 or more',
    ]);
  });

  it('measures the frames a client takes: buffers, page tables, the machine and PASID tables', () => {
    // 73 of the machine (with each device's first PASID leaf table, allocated at probe for its
    // RID2PASID entry, and v5.8's one-frame PRQ of 128 entries), 6 clients × 36 (32 of buffers,
    // 4 of page tables); PASIDs 1..6 lie in the leaf tables that exist
    const [w] = warnings(small({ memory: { frames: 285 } }));
    expect(w).toBe(
      'memory.frames 285 is below the peak once every buffer page is touched (289 frames: the ' +
        "machine's own 73, 6 clients × 36 (buffers and page tables)): page " +
        'faults will likely run out (ENOMEM) and fail their jobs; raise memory.frames to 290 or more',
    );
    expect(warnings(small({ memory: { frames: 290 } }))).toEqual([]);
  });
});
