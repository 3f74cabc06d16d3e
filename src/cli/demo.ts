/**
 * A short, deterministic tour of a kernel profile's SVA semantics on a small simulated
 * machine, every invalidation-queue descriptor printed with its raw qwords.
 *
 * v5.8: shared and refcounted binds, a private and a supervisor PASID, CPU page faults, an
 * munmap and mprotects that fire the mmu notifier as v5.8 does, exit while bound (release),
 * and the final unbinds with their teardown and drain.
 *
 * current: binds without flags and the PASID the mm owns, page requests answered per group
 * (one response for a group, none for a stop marker), munmaps that flush only what was
 * mapped, exit while bound, and the v6 teardown and drain.
 */

import type { InvLogEntry } from '../engine/invalidation-queue.js';
import { type Profile, SVM_FLAG_PRIVATE_PASID, SVM_FLAG_SUPERVISOR_MODE } from '../kernel/sva.js';
import { createSystem } from '../machine/system.js';

function hex(v: number | bigint): string {
  return `0x${v.toString(16)}`;
}

function describe(e: InvLogEntry): string {
  const raw = e.raw
    .slice(0, 2)
    .map((q) => q.toString(16).padStart(16, '0'))
    .join(' ');
  let what: string;
  switch (e.type) {
    case 'context-cache':
      what = `context-cache g=${e.g} did=${e.did} sid=${hex(e.sid)}`;
      break;
    case 'piotlb':
      what =
        e.g === 3
          ? `P_IOTLB page-selective pasid=${e.pasid} did=${e.did} addr=${hex(e.addr)} am=${e.am}`
          : `P_IOTLB pasid-selective pasid=${e.pasid} did=${e.did}`;
      break;
    case 'pdevtlb':
      what = `P_DEVTLB sid=${hex(e.sid)} pasid=${e.pasid} addr=${hex(e.addr)} s=${Number(e.s)}`;
      break;
    case 'devtlb':
      what = `DEVTLB (no PASID) sid=${hex(e.sid)} addr=${hex(e.addr)} s=${Number(e.s)}`;
      break;
    case 'pasid-cache':
      what = `PASID-cache g=${e.g} did=${e.did} pasid=${e.pasid}`;
      break;
    case 'wait':
      what = `wait${e.sw ? ' sw' : ''}${e.fn ? ' fence' : ''}${e.pd ? ' page-drain' : ''}`;
      break;
    default:
      what = e.type;
  }
  return `    ${what.padEnd(64)} ${raw}`;
}

/** Runs the demo of `profile` (default v5.8), writing lines through `print`. */
export async function runDemo(
  print: (line: string) => void,
  profile: Profile = 'v5.8',
): Promise<void> {
  if (profile === 'current') return runCurrentDemo(print);
  const sys = createSystem({ memory: { frames: 4096 } });
  const log = sys.iommu.invalidationLog;
  let seen = 0;
  const flush = (title: string): void => {
    print(title);
    for (; seen < log.length; seen++) print(describe(log[seen]!));
  };

  const dsa = sys.addDevice({ rid: 0x6a01 });
  const iaa = sys.addDevice({ rid: 0x6b01 });
  const nopasid = sys.addDevice({ rid: 0x0300, pasidBits: 0, ats: false, pri: false });
  const alice = sys.createProcess();
  const bob = sys.createProcess();
  print(
    `svasim demo — profile ${sys.profile}, ${sys.iommus.length} VT-d unit, PRQ of ${sys.iommu.prqStatus.entries} entries`,
  );

  const a1 = await sys.svaBindDevice(dsa, alice);
  flush(`bind dsa ↔ alice: PASID ${sys.svaGetPasid(a1)} (first bind on the device sets PASIDE)`);
  const a2 = await sys.svaBindDevice(dsa, alice);
  print(`bind dsa ↔ alice again: same handle: ${a1 === a2}, PASID ${sys.svaGetPasid(a2)}`);
  const a3 = await sys.svaBindDevice(iaa, alice);
  flush(`bind iaa ↔ alice: shares PASID ${sys.svaGetPasid(a3)}`);
  const b1 = await sys.svaBindDevice(dsa, bob);
  const bp = await sys.svaBindDevice(dsa, bob, SVM_FLAG_PRIVATE_PASID);
  print(
    `bind dsa ↔ bob: PASID ${sys.svaGetPasid(b1)}; PRIVATE_PASID bind: PASID ${sys.svaGetPasid(bp)}`,
  );
  const ks = await sys.svaBindDevice(dsa, null, SVM_FLAG_SUPERVISOR_MODE);
  print(
    `supervisor bind on dsa: PASID ${sys.svaGetPasid(ks)}, entry qw2 (SRE bit 0) = ${hex(sys.iommu.pasidEntry(dsa, sys.svaGetPasid(ks))[2]!)}`,
  );
  for (const [what, call] of [
    [
      'supervisor bind with a process',
      () => sys.svaBindDevice(iaa, alice, SVM_FLAG_SUPERVISOR_MODE),
    ],
    ['bind of a device without PASID', () => sys.svaBindDevice(nopasid, alice)],
  ] as const) {
    try {
      await call();
    } catch (e) {
      print(`${what}: ${(e as Error).message}`);
    }
  }

  const buf = alice.mmap({ length: 64 * 1024, prot: 'rw' });
  alice.write(buf, new Uint8Array(5 * 4096).fill(0xa5));
  print(
    `alice touched 5 pages at ${hex(buf)}: ${alice.rssPages} resident, ${alice.faults} CPU faults`,
  );
  alice.munmap(buf + 4096, 3 * 4096);
  flush(
    'munmap 3 pages → v5.8 notifies twice (range end, then the TLB gather), each call newest device first, all on svm->iommu: one P_IOTLB per device (ADDR as given, AM = log2 of 4 pages) + one P_DEVTLB without PFSID',
  );
  alice.mprotect(buf, 4096, 'r');
  flush('mprotect rw → r on a present page → notifier again');
  alice.mprotect(buf, 4096, 'rw');
  flush('mprotect r → rw (an upgrade) → v5.8 flushes upgrades too');

  alice.exit();
  flush(
    'alice exits while bound → release: FPD-only entries, flushes, v5.8 non-PASID DEVTLB, no drain',
  );
  await sys.svaUnbindDevice(a1);
  print('unbind dsa ↔ alice once: one user left, nothing happens');
  await sys.svaUnbindDevice(a2);
  flush(
    'unbind dsa ↔ alice again: v5.8 tears down without a present check → DID 0 flushes (FPD cleared), then the PRQ drain',
  );
  await sys.svaUnbindDevice(a3);
  flush('unbind iaa ↔ alice: drain; the PASID is freed');
  for (const h of [b1, bp, ks]) await sys.svaUnbindDevice(h);
  flush('unbind the rest: teardown (PASID-cache, P_IOTLB, DEVTLB) then drain, per bond');
  bob.exit();
  print(
    `${log.length} descriptors in all; PASIDs in use: ${sys.sva.pasidsInUse}; frames in use: ${sys.memory.framesInUse}`,
  );
}

/** The tour of profile current (spec §10). */
async function runCurrentDemo(print: (line: string) => void): Promise<void> {
  const sys = createSystem({ profile: 'current', memory: { frames: 4096 } });
  const log = sys.iommu.invalidationLog;
  let seen = 0;
  const flush = (title: string): void => {
    print(title);
    for (; seen < log.length; seen++) print(describe(log[seen]!));
  };
  const dsa = sys.addDevice({ rid: 0x6a01 });
  const iaa = sys.addDevice({ rid: 0x6b01 });
  const alice = sys.createProcess();
  print(
    `svasim demo — profile ${sys.profile}, ${sys.iommus.length} VT-d unit, PRQ of ${sys.iommu.prqStatus.entries} entries`,
  );
  const a1 = await sys.svaBindDevice(dsa, alice);
  flush(`bind dsa ↔ alice: PASID ${sys.svaGetPasid(a1)}, allocated for the mm`);
  const a2 = await sys.svaBindDevice(iaa, alice);
  flush(`bind iaa ↔ alice: the mm's PASID ${sys.svaGetPasid(a2)} again`);
  try {
    await sys.svaBindDevice(dsa, alice, SVM_FLAG_PRIVATE_PASID);
  } catch (e) {
    print(`bind with a flags word: ${(e as Error).message}`);
  }
  const pasid = sys.svaGetPasid(a1);
  const buf = alice.mmap({ length: 64 * 1024, prot: 'rw' });
  alice.write(buf, new Uint8Array(2 * 4096).fill(0xa5));
  // a group of three page requests: two with LPIG=0 wait on the partial list, the last
  // (LPIG=1) completes the group, and the group gets one response
  dsa.postPageRequest({ pasid, addr: buf + 0x2000, write: true, lpig: false, prgIndex: 5 });
  dsa.postPageRequest({ pasid, addr: buf + 0x3000, write: true, lpig: false, prgIndex: 5 });
  const g = await dsa.pageRequest({
    pasid,
    addr: buf + 0x4000,
    write: true,
    lpig: true,
    prgIndex: 5,
  });
  flush(
    `page requests of group 5 (LPIG 0, 0, 1) → one group response, code ${g?.code}: ${alice.rssPages} pages resident`,
  );
  const stop = await dsa.pageRequest({ pasid, addr: buf, lpig: true, prgIndex: 6 });
  flush(`a stop marker (LPIG=1, no R/W) → ${stop === null ? 'no response' : 'a response'}`);
  alice.munmap(buf + 0x8000, 0x8000);
  flush('munmap of 8 pages nobody touched → no PTE cleared, no invalidation');
  alice.munmap(buf + 0x1000, 0x3000);
  flush(
    'munmap 3 mapped pages → one call from the TLB flush: one P_IOTLB over the aligned block (AM=2) and one type 8h P_DEVTLB per ATS device, each on its own unit',
  );
  alice.exit();
  flush('alice exits while bound → FPD-only entries, the same flushes, no drain');
  await sys.svaUnbindDevice(a1);
  flush('unbind dsa ↔ alice: the FPD-only entry zeroed, then the drain (v6.14)');
  await sys.svaUnbindDevice(a2);
  flush('unbind iaa ↔ alice: the same; the PASID is freed with the mm');
  print(
    `${log.length} descriptors in all; PASIDs in use: ${sys.sva.pasidsInUse}; frames in use: ${sys.memory.framesInUse}`,
  );
}
