import { describe, expect, it } from 'vitest';
import { createSystem, type Device, type SystemConfig } from '../../src/index.js';
import { expectCode } from '../kernel/helpers.js';

/** A bound device with 16 writable pages: what most cases start from. */
async function bench(config: SystemConfig = {}) {
  const system = createSystem({ memory: { frames: 4096 }, ...config });
  const device = system.addDevice({ rid: 0x6a01 });
  const p = system.createProcess();
  const h = await system.svaBindDevice(device, p);
  const pasid = system.svaGetPasid(h);
  const buf = p.mmap({ length: 16 * 4096, prot: 'rw' });
  return { system, device, p, h, pasid, buf };
}

/** Twelve LPIG=1 write requests, one page each, PRG indexes 0..11, all issued in one turn. */
function twelve(device: Device, pasid: number, buf: number) {
  return Promise.all(
    Array.from({ length: 12 }, (_, i) =>
      device.pageRequest({ pasid, addr: buf + i * 4096, write: true, lpig: true, prgIndex: i }),
    ),
  );
}

describe.each(['v5.8', 'current'] as const)('the testbench, profile %s', (profile) => {
  it('overlaps twelve pageRequest calls on a 4-entry PRQ: overflow, hardware Success, software answers, PRO clear at the end', async () => {
    const { system, device, pasid, buf } = await bench({ profile, iommu: { prqEntries: 4 } });
    const t0 = system.nowNs;
    const responses = await twelve(device, pasid, buf);
    // every request answered Success: three by software, nine by the unit on overflow
    expect(responses.map((r) => r?.code)).toEqual(Array(12).fill(0));
    expect(device.pageRequests.map((e) => e.sentNs)).toEqual(Array(12).fill(t0));
    // a 4-entry ring holds 3 (full when tail + 1 = head): PRGI 0..2 queued, 3..11 overflowed
    expect(device.pageRequests.map((e) => e.overflowed)).toEqual([
      ...Array(3).fill(false),
      ...Array(9).fill(true),
    ]);
    expect(device.pageRequests.map((e) => e.autoResponse)).toEqual([
      ...Array(3).fill(null),
      ...Array(9).fill(0),
    ]);
    const from = (i: number) => device.responses.find((r) => r.prgIndex === i)?.from;
    expect([0, 1, 2].map(from)).toEqual(['software', 'software', 'software']);
    expect([3, 11].map(from)).toEqual(['hardware', 'hardware']);
    // the hardware answers arrive first, all at one instant; the software ones one by one
    const hw = device.responses.filter((r) => r.from === 'hardware').map((r) => r.timeNs - t0);
    const sw = device.responses.filter((r) => r.from === 'software').map((r) => r.timeNs - t0);
    expect(new Set(hw).size).toBe(1);
    expect(sw[0]!).toBeGreaterThan(hw[0]!);
    expect(sw).toEqual([...sw].sort((a, b) => a - b));
    expect(system.counters.prqOverflows).toBe(9);
    expect(system.counters.autoResponses).toBe(9);
    expect(system.counters.pageResponses).toEqual({ success: 3, invalid: 0, failure: 0 });
    expect(device.counters.prqOverflows).toBe(9);
    expect(device.counters.pageRequests).toBe(12);
    await system.idle();
    expect(system.iommu.prqStatus).toEqual({
      entries: 4,
      head: 3,
      tail: 3,
      ppr: false,
      pro: false,
    });
  });

  it('still sends one at a time when the script awaits each call in turn: no overflow', async () => {
    const { system, device, pasid, buf } = await bench({ profile, iommu: { prqEntries: 4 } });
    for (let i = 0; i < 12; i++) {
      const r = await device.pageRequest({
        pasid,
        addr: buf + i * 4096,
        write: true,
        lpig: true,
        prgIndex: i,
      });
      expect(r?.code).toBe(0);
    }
    expect(system.counters.prqOverflows).toBe(0);
    expect(device.responses.map((r) => r.from)).toEqual(Array(12).fill('software'));
    const sent = device.pageRequests.map((e) => e.sentNs);
    // each request leaves when the previous answer arrived
    for (let i = 1; i < 12; i++) expect(sent[i]).toBe(device.responses[i - 1]!.timeNs);
  });

  it('gives the same simulated times on every run of the same script', async () => {
    const times = async () => {
      const { system, device, pasid, buf } = await bench({ profile, iommu: { prqEntries: 4 } });
      await twelve(device, pasid, buf);
      return {
        sent: device.pageRequests.map((e) => [e.sentNs, e.receivedNs]),
        answered: device.responses.map((r) => [r.prgIndex, r.timeNs, r.from]),
        end: system.nowNs,
      };
    };
    expect(await times()).toEqual(await times());
  });
});

describe('System.sleep() / run() / idle() / nowNs', () => {
  it('sleep resolves after exactly that much simulated time, while requests in flight go on', async () => {
    const { system, device, pasid, buf } = await bench();
    const t0 = system.nowNs;
    const order: string[] = [];
    const req = device
      .pageRequest({ pasid, addr: buf, write: true, lpig: true, prgIndex: 7 })
      .then(() => order.push(`response at +${system.nowNs - t0}`));
    const nap = system.sleep(100).then(() => order.push(`sleep at +${system.nowNs - t0}`));
    await Promise.all([req, nap]);
    expect(order[0]).toBe('sleep at +100');
    expect(order[1]).toMatch(/^response at \+\d+$/);
    expect(device.responses[0]!.timeNs - t0).toBe(Number(order[1]!.split('+')[1]));
  });

  it('run({ forNs }) and run({ untilNs }) end with the clock there; idle ends at the last event', async () => {
    const { system, device, pasid, buf } = await bench();
    const t0 = system.nowNs;
    await system.run({ forNs: 250 });
    expect(system.nowNs).toBe(t0 + 250);
    await system.run({ untilNs: t0 + 1000 });
    expect(system.nowNs).toBe(t0 + 1000);
    // fire and forget: nothing moves until the script waits
    expect(device.postPageRequest({ pasid, addr: buf, read: true, lpig: true, prgIndex: 3 })).toBe(
      true,
    );
    expect(system.nowNs).toBe(t0 + 1000);
    expect(device.responseFor(3)).toBeUndefined();
    await system.idle();
    expect(device.responseFor(3)?.code).toBe(0);
    expect(system.nowNs).toBeGreaterThanOrEqual(device.responses[0]!.timeNs);
    expect(system.sim.nextEventNs).toBe(Number.POSITIVE_INFINITY);
    // idle with nothing to run resolves at once, the clock where it was
    const t1 = system.nowNs;
    await system.idle();
    expect(system.nowNs).toBe(t1);
  });

  it('refuses a negative, fractional or missing time with EINVAL', async () => {
    const { system } = await bench();
    const e1 = await expectCode(system.sleep(-1), 'EINVAL');
    expect(e1.message).toBe('EINVAL: sleep: ns must be an integer ≥ 0, got -1');
    const e2 = await expectCode(system.run({ forNs: 1.5 }), 'EINVAL');
    expect(e2.message).toBe('EINVAL: run: forNs must be an integer ≥ 0, got 1.5');
    const e3 = await expectCode(system.run({ untilNs: 0 }), 'EINVAL');
    expect(e3.message).toBe(
      `EINVAL: run: untilNs must be an integer ≥ the current time ${system.nowNs} ns, got 0`,
    );
    const e4 = await expectCode(system.run({} as never), 'EINVAL');
    expect(e4.message).toBe('EINVAL: run: give exactly one of forNs and untilNs');
  });
});

describe('fire and forget', () => {
  it('postPageRequests sends a burst at one instant; nextResponse waits for each answer', async () => {
    const { system, device, pasid, buf } = await bench({ iommu: { prqEntries: 4 } });
    const t0 = system.nowNs;
    const sent = device.postPageRequests(
      Array.from({ length: 6 }, (_, i) => ({
        pasid,
        addr: buf + i * 4096,
        read: true,
        lpig: true,
        prgIndex: 20 + i,
      })),
    );
    expect(sent).toEqual(Array(6).fill(true));
    expect(device.pageRequests.map((e) => e.sentNs)).toEqual(Array(6).fill(t0));
    const last = await device.nextResponse(25);
    expect(last?.prgIndex).toBe(25);
    expect(device.responseFor(25)).toBeUndefined(); // taken by nextResponse
    await system.idle();
    expect([20, 21, 22, 23, 24].map((i) => device.responseFor(i)?.code)).toEqual([0, 0, 0, 0, 0]);
    expect(system.counters.prqOverflows).toBe(3);
  });

  it('checks a whole burst before sending any of it', async () => {
    const { device, pasid, buf } = await bench();
    expect(() =>
      device.postPageRequests([
        { pasid, addr: buf, read: true, lpig: true, prgIndex: 1 },
        { pasid, addr: buf, read: true, lpig: true, prgIndex: 512 },
      ]),
    ).toThrow('postPageRequests[1]: prgIndex must be 0..511 (9 bits), got 512');
    expect(device.pageRequests).toHaveLength(0);
  });
});

describe('overlapping DMA', () => {
  it('two dmaRead calls in one turn each get their own bytes', async () => {
    const { system, device, p, pasid, buf } = await bench();
    p.write(buf, new Uint8Array([1, 2, 3, 4]));
    p.write(buf + 4096, new Uint8Array([9, 8, 7, 6]));
    const t0 = system.nowNs;
    await device.dmaRead({ pasid, addr: buf + 8192, length: 4 });
    const one = system.nowNs - t0;
    const t1 = system.nowNs;
    const [a, b] = await Promise.all([
      device.dmaRead({ pasid, addr: buf, length: 4 }),
      device.dmaRead({ pasid, addr: buf + 4096, length: 4 }),
    ]);
    expect(a).toEqual({ status: 'ok', data: new Uint8Array([1, 2, 3, 4]) });
    expect(b).toEqual({ status: 'ok', data: new Uint8Array([9, 8, 7, 6]) });
    // issued together, they overlap: both take less than two one after the other
    expect(system.nowNs - t1).toBeLessThan(2 * one);
  });
});

describe('createSystem({ runtime })', () => {
  it("refuses 'threaded' with EOPNOTSUPP, saying what runs threaded", () => {
    let error: (Error & { code?: string }) | undefined;
    try {
      createSystem({ runtime: 'threaded' });
    } catch (e) {
      error = e as Error & { code?: string };
    }
    expect(error?.code).toBe('EOPNOTSUPP');
    expect(error?.message).toMatch(
      /^createSystem: runtime 'threaded' is not supported by the programmatic API yet/,
    );
    expect(createSystem({ runtime: 'inline' }).profile).toBe('v5.8');
  });
});

describe('the testbench over a partitioned model', () => {
  it('advances a quantum at a time for sleep and idle; the bus calls still need one partition', async () => {
    const system = createSystem({ memory: { frames: 4096 }, partitions: 2 });
    const device = system.addDevice({ rid: 0x6a01 });
    await system.sleep(1234);
    expect(system.nowNs).toBe(1234);
    await system.idle();
    await expect(device.translate({ pasid: 1, addr: 0 })).rejects.toThrow(
      'the bus methods run on a single partition: create the system without partitions',
    );
  });
});

describe('requests no answer comes for', () => {
  it('an LPIG=0 pageRequest resolves null once nothing is left to run', async () => {
    const { system, device, pasid, buf } = await bench();
    const r = await device.pageRequest({ pasid, addr: buf, read: true, lpig: false, prgIndex: 1 });
    expect(r).toBeNull();
    expect(system.sim.nextEventNs).toBe(Number.POSITIVE_INFINITY);
    expect(device.pageRequests[0]!.receivedNs).not.toBeNull();
  });
});

describe('binds issued together', () => {
  it('take the SVA lock in issue order: PASIDs in call order, the second starting when the first ended', async () => {
    const system = createSystem({ memory: { frames: 4096 } });
    const device = system.addDevice({ rid: 0x6a01 });
    const [a, b, c] = [system.createProcess(), system.createProcess(), system.createProcess()];
    const hs = await Promise.all([a, b, c].map((p) => system.svaBindDevice(device, p)));
    expect(hs.map((h) => system.svaGetPasid(h))).toEqual([1, 2, 3]);
  });
});

describe('process operations that sleep (munmap, mprotect, exit)', () => {
  it('with nothing in flight, flush at once and return a settled promise, as before', async () => {
    const { system, p, buf } = await bench();
    p.write(buf, new Uint8Array(4096)); // page 0 present
    const from = system.iommu.invalidationLog.length;
    const done = p.munmap(buf, 4096);
    // v5.8 notifies twice: P_IOTLB and P_DEVTLB, each with its wait, twice, already issued
    expect(system.iommu.invalidationLog.slice(from).map((e) => e.type)).toEqual([
      'piotlb',
      'wait',
      'pdevtlb',
      'wait',
      'piotlb',
      'wait',
      'pdevtlb',
      'wait',
    ]);
    await done;
  });

  it('while a page request is in flight, the flush overlaps it and the promise resolves when it ends', async () => {
    const { system, device, p, pasid, buf } = await bench();
    p.write(buf + 4096, new Uint8Array(4096)); // page 1 present, page 0 not
    const t0 = system.nowNs;
    const answer = device.pageRequest({ pasid, addr: buf, write: true, lpig: true, prgIndex: 1 });
    const from = system.iommu.invalidationLog.length;
    const unmapped = p.munmap(buf + 4096, 4096).then(() => system.nowNs);
    // issued, not run to completion: the clock has not moved (a flush run inside the call
    // would have advanced it by its queued-invalidation waits)
    expect(system.nowNs).toBe(t0);
    const [response, tUnmapped] = await Promise.all([answer, unmapped]);
    expect(response?.code).toBe(0);
    expect(tUnmapped).toBeGreaterThan(t0);
    const kinds = system.iommu.invalidationLog.slice(from).map((e) => e.type);
    expect(kinds.filter((k) => k === 'piotlb')).toHaveLength(2);
    expect(kinds).toContain('page-group-response');
    expect(device.pageRequests[0]!.sentNs).toBe(t0);
  });

  it('exit while bound with a request in flight: the release flushes overlap it', async () => {
    const { system, device, p, pasid, buf } = await bench({ profile: 'current' });
    const answer = device.pageRequest({ pasid, addr: buf, write: true, lpig: true, prgIndex: 2 });
    const t0 = system.nowNs;
    const exited = p.exit().then(() => system.nowNs);
    const [, tExit] = await Promise.all([answer, exited]);
    expect(tExit).toBeGreaterThan(t0);
    expect(system.iommu.pasidEntry(device, pasid)[0]).toBe(2n); // FPD-only (spec §10.4)
  });
});
