/**
 * A drain on unbind with page requests in flight. Run: npx tsx examples/drain-on-unbind.ts
 *
 * What to notice: four page requests are in the queue, not yet answered, when the unbind
 * starts. The unbind tears the PASID entry down at once (PASID-cache, P_IOTLB, device TLB),
 * then its drain (spec §4.6) waits: the kernel's thread answers the four one by one, each
 * answer submitted before the drain's own descriptors (P_IOTLB and the PASID-based
 * device-TLB invalidation behind a fenced wait), and the unbind resolves only after the last.
 */

import { pathToFileURL } from 'node:url';
import { createSystem } from '../src/index.js';

export async function main(print: (line: string) => void = console.log): Promise<void> {
  const system = createSystem({ profile: 'v5.8' });
  const dsa = system.addDevice({ rid: 0x6a01 });
  const p = system.createProcess();
  const h = await system.svaBindDevice(dsa, p);
  const pasid = system.svaGetPasid(h);
  const buf = p.mmap({ length: 8 * 4096, prot: 'rw' });
  const t0 = system.nowNs;
  const from = system.iommu.invalidationLog.length;
  const timeline: [number, string][] = [];

  const requests = [0, 1, 2, 3].map((i) =>
    dsa.pageRequest({ pasid, addr: buf + i * 4096, write: true, lpig: true, prgIndex: i }),
  );
  const unbind = (async () => {
    await system.sleep(300); // the four are in the queue by now
    timeline.push([system.nowNs, 'svaUnbindDevice called']);
    await system.svaUnbindDevice(h);
    timeline.push([system.nowNs, 'svaUnbindDevice resolved']);
  })();
  await Promise.all([...requests, unbind]);

  for (const e of dsa.pageRequests) timeline.push([e.receivedNs!, `PRGI ${e.prgIndex} queued`]);
  for (const r of dsa.responses) {
    timeline.push([r.timeNs, `PRGI ${r.prgIndex} answered by ${r.from}, RC ${r.code}`]);
  }
  for (const d of system.iommu.invalidationLog.slice(from)) {
    if (d.type !== 'wait') timeline.push([d.timeNs, `  descriptor ${d.type}`]);
  }
  timeline.sort((a, b) => a[0] - b[0]);
  for (const [t, what] of timeline) print(`${String(t - t0).padStart(6)} ns  ${what}`);
  const lastAnswer = Math.max(...dsa.responses.map((r) => r.timeNs));
  const resolved = timeline.find((e) => e[1] === 'svaUnbindDevice resolved')![0];
  print(`the unbind resolved ${resolved - lastAnswer} ns after the last answer reached the device`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
