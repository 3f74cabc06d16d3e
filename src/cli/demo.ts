/**
 * A short, deterministic tour of the v5.8 SVA semantics on a small simulated machine: shared
 * and refcounted binds, a private and a supervisor PASID, CPU page faults, an munmap and an
 * mprotect that fire the mmu notifier, exit while bound (release), and the final unbinds with
 * their teardown and drain. Every invalidation descriptor is printed with its raw qwords.
 */

import type { InvLogEntry } from '../engine/invalidation-queue.js';
import { SVM_FLAG_PRIVATE_PASID, SVM_FLAG_SUPERVISOR_MODE } from '../kernel/sva.js';
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

/** Runs the demo, writing lines through `print`. */
export async function runDemo(print: (line: string) => void): Promise<void> {
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
    'munmap 3 pages → mmu notifier, newest bound device first, on svm->iommu: one P_IOTLB (ADDR as given, AM = log2 of 4 pages) + one P_DEVTLB without PFSID',
  );
  alice.mprotect(buf, 4096, 'r');
  flush('mprotect rw → r on a present page → notifier again');
  alice.mprotect(buf, 4096, 'rw');
  flush('mprotect r → rw (an upgrade) → no invalidation');

  alice.exit();
  flush(
    'alice exits while bound → release: FPD-only entries, flushes, v5.8 non-PASID DEVTLB, no drain',
  );
  await sys.svaUnbindDevice(a1);
  print('unbind dsa ↔ alice once: one user left, nothing happens');
  await sys.svaUnbindDevice(a2);
  flush('unbind dsa ↔ alice again: entry already torn down by release → only the PRQ drain');
  await sys.svaUnbindDevice(a3);
  flush('unbind iaa ↔ alice: drain; the PASID is freed');
  for (const h of [b1, bp, ks]) await sys.svaUnbindDevice(h);
  flush('unbind the rest: teardown (PASID-cache, P_IOTLB, DEVTLB) then drain, per bond');
  bob.exit();
  print(
    `${log.length} descriptors in all; PASIDs in use: ${sys.sva.pasidsInUse}; frames in use: ${sys.memory.framesInUse}`,
  );
}
