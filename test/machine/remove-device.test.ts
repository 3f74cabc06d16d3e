import { describe, expect, it } from 'vitest';
import { createSystem, type SystemConfig } from '../../src/index.js';
import type { CurrentPrqThread } from '../../src/kernel/current/prq.js';
import { expectCode, rawLog } from '../kernel/helpers.js';

async function setup(config: SystemConfig) {
  const system = createSystem({ memory: { frames: 4096 }, iommu: { prqEntries: 8 }, ...config });
  const device = system.addDevice({ rid: 0x6a01 });
  const other = system.addDevice({ rid: 0x6b01 });
  const p = system.createProcess();
  const buf = p.mmap({ length: 16 * 4096, prot: 'rw' });
  return { system, device, other, p, buf };
}

describe('System.removeDevice(), profile v5.8', () => {
  it('unbinds what the driver holds (drain included), then releases the function as intel_iommu_release_device does', async () => {
    const { system, device, other, p, buf } = await setup({ profile: 'v5.8' });
    const h = await system.svaBindDevice(device, p);
    await system.svaBindDevice(device, p); // two binds: the remove path unbinds twice
    const pasid = system.svaGetPasid(h);
    expect(pasid).toBe(1);
    const inFlight = [0, 1, 2].map((i) =>
      device.pageRequest({ pasid, addr: buf + i * 4096, write: true, lpig: true, prgIndex: i }),
    );
    // they reject while the script waits on removeDevice: handle them now, read them later
    const outcomes = Promise.allSettled(inFlight);
    await system.run({ forNs: 1000 }); // queued, not yet answered
    const from = system.iommu.invalidationLog.length;
    await system.removeDevice(device);
    for (const r of await outcomes) {
      expect(r.status).toBe('rejected');
      const e = (r as PromiseRejectedResult).reason as Error & { code: string };
      expect([e.code, e.message]).toEqual([
        'ENODEV',
        'nextResponse: device 6a01 was removed while the request was in flight',
      ]);
    }
    const log = rawLog(system.iommu.invalidationLog, from).filter((e) => e[0] !== 'wait');
    // the last unbind: PASID entry teardown (SVA DID 1, PASID 1), the three groups answered by
    // the PRQ thread while the drain waits, the drain's P_IOTLB + 8h with the DMA domain's DID 2
    expect(log.slice(0, 3)).toEqual([
      ['pasid-cache', '100010017', '0'], // 7h, PASID-selective (g=1), DID 1, PASID 1
      ['piotlb', '100010026', '0'], // 6h, PASID-selective (g=2), DID 1, PASID 1
      ['devtlb', '6a0100000003', '7ffffffffffff001'], // 3h, SID 6a01, S=1 full range
    ]);
    expect(log.slice(3, 6).map((e) => e[0])).toEqual(Array(3).fill('page-group-response'));
    expect(log.slice(6, 8)).toEqual([
      ['piotlb', '100020026', '0'],
      ['pdevtlb', '16a010008', '0'],
    ]);
    // intel_iommu_release_device: RID2PASID teardown (DID 2, PASID 0), then
    // domain_context_clear_one with did_old 0: context-cache device-selective, IOTLB DSI
    expect(log.slice(8)).toEqual([
      ['pasid-cache', '20017', '0'], // DID 2 << 16 | g=1 << 4 | 7h
      ['piotlb', '20026', '0'], // DID 2 << 16 | g=2 << 4 | 6h
      ['devtlb', '6a0100000003', '7ffffffffffff001'],
      ['context-cache', '6a0100000031', '0'], // SID 6a01 << 32 | g=3 (device) << 4 | 1h
      ['iotlb', 'e2', '0'], // DR | DW | g=2 (DSI) << 4 | 2h, DID 0
    ]);
    expect(device.enabled).toEqual({ pasid: false, ats: false, pri: false });
    // the RID2PASID entry is gone (all eight qwords zero)
    expect(system.iommu.pasidEntry(device, 0)).toEqual(Array(8).fill(0n));
    // the device's later calls, and the system's calls with it, fail ENODEV
    const t = await expectCode(device.translate({ pasid, addr: buf }), 'ENODEV');
    expect(t.message).toBe(
      'translate: device 6a01 was removed (system.removeDevice); add a device to send requests',
    );
    const b = await expectCode(system.svaBindDevice(device, p), 'ENODEV');
    expect(b.message).toBe(
      'ENODEV: svaBindDevice: device 6a:00.1 was removed (removeDevice); add a device to use one',
    );
    await expectCode(system.removeDevice(device), 'ENODEV');
    // the system keeps running: the other device binds the same process and faults a page in
    const h2 = await system.svaBindDevice(other, p);
    const r = await other.pageRequest({
      pasid: system.svaGetPasid(h2),
      addr: buf,
      read: true,
      lpig: true,
      prgIndex: 0,
    });
    expect(r?.code).toBe(0);
  });
});

describe('System.removeDevice(), profile current', () => {
  it('answers the pending group RC=1 (iopf_queue_remove_device), frees partial requests, then blocks and releases', async () => {
    const { system, device } = await setup({ profile: 'current' });
    const prq = system.prqThreads[0] as CurrentPrqThread;
    const info = device.info;
    // a partial request (LPIG=0), then a last one of another group: without PASID it finds
    // no handler and waits in its group for the thread's refusal cost before its RC=1
    device.postPageRequest({ addr: 0x10_0000, read: true, lpig: false, prgIndex: 4 });
    const last = device
      .pageRequest({ addr: 0x20_0000, read: true, lpig: true, prgIndex: 9 })
      .catch((e: Error & { code: string }) => e.code);
    while (prq.pending.size === 0) await system.run({ forNs: 10 });
    expect(prq.partialCount(info)).toBe(1);
    const from = system.iommu.invalidationLog.length;
    await system.removeDevice(device);
    expect(await last).toBe('ENODEV');
    expect(prq.partialCount(info)).toBe(0);
    expect(prq.pending.size).toBe(0);
    await system.idle(); // the handler wakes, finds its group answered, sends nothing
    const log = rawLog(system.iommu.invalidationLog, from).filter((e) => e[0] !== 'wait');
    expect(log).toEqual([
      // 9h | RC=1 << 12 | RID 6a01 << 16, PP=0; qw1 = PRGI 9 << 3 | LPIG << 2
      ['page-group-response', '6a011009', '4c'],
      // device_block_translation: RID2PASID entry (second stage, DID 2): PASID-cache, IOTLB
      // DSI, non-PASID device-TLB (IOMMU_NO_PASID); no drain
      ['pasid-cache', '20017', '0'],
      ['iotlb', '200e2', '0'], // DID 2 << 16 | DR | DW | DSI << 4 | 2h
      ['devtlb', '6a0100000003', '7ffffffffffff001'],
      ['context-cache', '6a0100000031', '0'],
      ['iotlb', 'e2', '0'],
    ]);
    expect(device.enabled).toEqual({ pasid: false, ats: false, pri: false });
  });

  it('with a bond: the unbind tears the PASID down and drains before the release', async () => {
    const { system, device, p, buf } = await setup({ profile: 'current' });
    const h = await system.svaBindDevice(device, p);
    const pasid = system.svaGetPasid(h);
    const from = system.iommu.invalidationLog.length;
    await system.removeDevice(device);
    const log = rawLog(system.iommu.invalidationLog, from).filter((e) => e[0] !== 'wait');
    expect(log).toEqual([
      ['pasid-cache', '100010017', '0'],
      ['piotlb', '100010026', '0'],
      ['pdevtlb', '16a010008', '7ffffffffffff800'], // 8h, PASID 1, full range
      ['piotlb', '100020026', '0'], // the drain: DMA domain DID 2
      ['pdevtlb', '16a010008', '7ffffffffffff800'],
      ['pasid-cache', '20017', '0'],
      ['iotlb', '200e2', '0'],
      ['devtlb', '6a0100000003', '7ffffffffffff001'],
      ['context-cache', '6a0100000031', '0'],
      ['iotlb', 'e2', '0'],
    ]);
    await expectCode(system.svaUnbindDevice(h), 'EINVAL');
    await expectCode(device.dmaRead({ pasid, addr: buf, length: 4 }), 'ENODEV');
  });
});
