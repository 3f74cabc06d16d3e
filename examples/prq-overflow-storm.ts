/**
 * A PRQ overflow storm: twelve page requests issued in the same turn against a unit whose
 * page request queue has 4 entries. Run: npx tsx examples/prq-overflow-storm.ts
 *
 * What to notice: all twelve leave the device at the same simulated instant; the ring holds
 * three (one slot always stays empty); the other nine overflow and the unit answers them
 * itself with Success (VT-d 7.5) long before software answers the three — Success that does
 * not mean the page is there: the device must ask again. PRO is set during the storm and
 * clear once the kernel's thread drained the queue.
 */

import { pathToFileURL } from 'node:url';
import { createSystem } from '../src/index.js';

export async function main(print: (line: string) => void = console.log): Promise<void> {
  const system = createSystem({ iommu: { prqEntries: 4 } });
  const dsa = system.addDevice({ rid: 0x6a01 });
  const p = system.createProcess();
  const pasid = system.svaGetPasid(await system.svaBindDevice(dsa, p));
  const buf = p.mmap({ length: 12 * 4096, prot: 'rw' });
  const t0 = system.nowNs;

  let proSeen = false;
  const storm = Promise.all(
    Array.from({ length: 12 }, (_, i) =>
      dsa.pageRequest({ pasid, addr: buf + i * 4096, write: true, lpig: true, prgIndex: i }),
    ),
  );
  // a watcher coroutine on the same clock: samples PRO every 100 ns until the storm is over
  let over = false;
  const watcher = (async () => {
    while (!over) {
      proSeen ||= system.iommu.prqStatus.pro;
      await system.sleep(100);
    }
  })();
  await storm;
  over = true;
  await watcher;
  await system.idle();

  print('PRGI  sent(ns)  queued  answered(ns)  by        RC');
  for (const e of dsa.pageRequests) {
    const r = dsa.responses.find((x) => x.prgIndex === e.prgIndex)!;
    print(
      `${String(e.prgIndex).padStart(4)}  ${String(e.sentNs - t0).padStart(8)}  ${e.overflowed ? 'no ' : 'yes'}     ${String(r.timeNs - t0).padStart(12)}  ${r.from.padEnd(8)}  ${r.code}`,
    );
  }
  const c = system.counters;
  print(
    `overflows ${c.prqOverflows}, hardware answers ${c.autoResponses}, software answers ${c.pageResponses.success}`,
  );
  const pages = await Promise.all(
    [0, 11].map((i) => dsa.translate({ pasid, addr: buf + i * 4096, write: true })),
  );
  print(
    `after the storm: page 0 ${pages[0]!.w ? 'writable' : 'not present'}, page 11 ${pages[1]!.w ? 'writable' : 'not present'} (its Success came from the overflow)`,
  );
  const s = system.iommu.prqStatus;
  print(
    `PRO during the storm: ${proSeen ? 'set' : 'clear'}; at the end: PRO ${s.pro ? 'set' : 'clear'}, head ${s.head} = tail ${s.tail}`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
