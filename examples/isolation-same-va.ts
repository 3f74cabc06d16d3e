/**
 * Two processes isolated at the same virtual address. Run: npx tsx examples/isolation-same-va.ts
 *
 * What to notice: both processes map a page at the very same virtual address and one device
 * is bound to both, under two PASIDs. Requests issued together through the two PASIDs read
 * each process's own bytes and translate to two different physical frames; a DMA write
 * through one PASID never shows in the other process; and when one process unmaps the page,
 * only its PASID loses the translation.
 */

import { pathToFileURL } from 'node:url';
import { createSystem } from '../src/index.js';

const VA = 0x7f00_0000_0000;

export async function main(print: (line: string) => void = console.log): Promise<void> {
  const system = createSystem();
  const dsa = system.addDevice({ rid: 0x6a01 });
  const alice = system.createProcess();
  const bob = system.createProcess();
  for (const p of [alice, bob]) p.mmap({ addr: VA, length: 4096, prot: 'rw' });
  alice.write(VA, new TextEncoder().encode('alice'));
  bob.write(VA, new TextEncoder().encode('bob!!'));
  const [ha, hb] = await Promise.all([
    system.svaBindDevice(dsa, alice),
    system.svaBindDevice(dsa, bob),
  ]);
  const pa = system.svaGetPasid(ha);
  const pb = system.svaGetPasid(hb);
  const hex = (n: number) => `0x${n.toString(16)}`;
  print(`alice: PASID ${pa}, bob: PASID ${pb}, both mapped at ${hex(VA)}`);

  const [ra, rb, ta, tb] = await Promise.all([
    dsa.dmaRead({ pasid: pa, addr: VA, length: 5 }),
    dsa.dmaRead({ pasid: pb, addr: VA, length: 5 }),
    dsa.translate({ pasid: pa, addr: VA }),
    dsa.translate({ pasid: pb, addr: VA }),
  ]);
  const text = (r: typeof ra) => (r.status === 'ok' ? new TextDecoder().decode(r.data) : r.status);
  print(`DMA read at ${hex(VA)}: PASID ${pa} sees "${text(ra)}", PASID ${pb} sees "${text(rb)}"`);
  print(`ATS translation: PASID ${pa} -> ${hex(ta.addr)}, PASID ${pb} -> ${hex(tb.addr)}`);

  await dsa.dmaWrite({ pasid: pa, addr: VA, data: new TextEncoder().encode('ALICE') });
  const dec = (b: Uint8Array) => new TextDecoder().decode(b);
  print(
    `after a DMA write through PASID ${pa}: alice has "${dec(alice.read(VA, 5))}", bob still "${dec(bob.read(VA, 5))}"`,
  );

  alice.munmap(VA, 4096);
  const [after, still] = await Promise.all([
    dsa.translate({ pasid: pa, addr: VA }),
    dsa.translate({ pasid: pb, addr: VA }),
  ]);
  print(
    `alice unmapped the page: PASID ${pa} ${after.r ? 'still translates' : 'no longer translates'}, PASID ${pb} ${still.r ? `still translates to ${hex(still.addr)}` : 'lost it too'}`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
