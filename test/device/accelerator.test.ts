import { describe, expect, it } from 'vitest';
import { Accelerator } from '../../src/device/accelerator.js';
import { JobOp, type JobSpec, JobStatus } from '../../src/device/job.js';
import { qiSubmitSync } from '../../src/kernel/qi.js';
import { encodeInvDesc, getField, PAGE_REQUEST, PageResponseCode } from '../../src/layout/index.js';
import { DESC, MsgKind } from '../../src/sim/message.js';
import { smallSystem } from '../kernel/helpers.js';

const PR = PAGE_REQUEST.fields;

async function rig(
  opts: {
    blockOnFault?: boolean;
    priCredits?: number;
    engines?: number;
    ats?: boolean;
    prgIndexes?: number;
  } = {},
) {
  const s = smallSystem();
  const ats = opts.ats ?? true;
  const d = s.addDevice({ rid: 0x100, ats, pri: ats });
  const p = s.createProcess();
  const h = await s.svaBindDevice(d, p);
  const pasid = s.svaGetPasid(h);
  const done: { cookie: number; status: number; done: number }[] = [];
  let pri = 0;
  let maxPri = 0;
  const a = new Accelerator(
    d,
    {
      engines: opts.engines ?? 1,
      wqDepth: 16,
      blockOnFault: opts.blockOnFault ?? true,
      priCredits: opts.priCredits ?? 32,
      prgIndexes: opts.prgIndexes,
    },
    s.sim,
    s.cost,
    {
      atsTranslate: () => {},
      priRoundtrip: () => {
        pri--;
      },
      devtlb: () => {},
      jobDone: () => {},
    },
    (cookie, status, n) => done.push({ cookie, status, done: n }),
  );
  // count outstanding page requests at the unit
  const unit = s.iommu;
  const orig = unit.observer!.pageRequest.bind(unit.observer);
  unit.observer!.pageRequest = (dev: number) => {
    pri++;
    maxPri = Math.max(maxPri, pri);
    orig(dev);
  };
  const src = p.mmap({ length: 1 << 16, prot: 'rw' });
  const dst = p.mmap({ length: 1 << 16, prot: 'rw' });
  const job = (over: Partial<JobSpec>): JobSpec => ({
    op: JobOp.copy,
    pasid,
    src,
    dst,
    length: 4096,
    pattern: 0,
    cookie: 1,
    ...over,
  });
  const run = () => s.sim.runUntil(s.sim.nowNs + 10_000_000);
  return { s, d, p, a, pasid, src, dst, done, job, run, maxPri: () => maxPri };
}

describe('Accelerator jobs (spec §4.7)', () => {
  it('copies real bytes across pages, faulting the destination in through PRI', async () => {
    const { p, a, src, dst, done, job, run } = await rig();
    const data = new Uint8Array(10_000).map((_, i) => (i * 7) & 0xff);
    p.write(src + 100, data);
    expect(a.submit(job({ src: src + 100, dst: dst + 300, length: data.length }))).toBe(true);
    run();
    expect(done).toEqual([{ cookie: 1, status: JobStatus.SUCCESS, done: data.length }]);
    expect(p.read(dst + 300, data.length)).toEqual(data);
  });

  it('fills with the pattern and compares, reporting a mismatch', async () => {
    const { p, a, src, dst, done, job, run } = await rig();
    a.submit(job({ op: JobOp.fill, dst, length: 8192, pattern: 0x5a, cookie: 1 }));
    run();
    expect(p.read(dst, 8192).every((b) => b === 0x5a)).toBe(true);
    p.write(src, new Uint8Array(8192).fill(0x5a));
    a.submit(job({ op: JobOp.compare, src, dst, length: 8192, cookie: 2 }));
    run();
    p.write(src + 5000, new Uint8Array([1]));
    a.submit(job({ op: JobOp.compare, src, dst, length: 8192, cookie: 3 }));
    run();
    expect(done.map((d) => [d.cookie, d.status])).toEqual([
      [1, JobStatus.SUCCESS],
      [2, JobStatus.SUCCESS],
      [3, JobStatus.MISMATCH],
    ]);
  });

  it('without block-on-fault completes with a page-fault status and the bytes done', async () => {
    const { p, a, src, dst, done, job, run } = await rig({ blockOnFault: false });
    p.write(src, new Uint8Array(8192).fill(3));
    p.write(dst, new Uint8Array(4096)); // first destination page present, second not
    a.submit(job({ length: 8192 }));
    run();
    expect(done).toEqual([{ cookie: 1, status: JobStatus.PAGE_FAULT, done: 4096 }]);
  });

  it('fails the job on Invalid Request (access the VMA does not allow)', async () => {
    const { p, a, src, done, job, run } = await rig();
    const ro = p.mmap({ length: 4096, prot: 'r' });
    p.write(src, new Uint8Array(4096).fill(1));
    a.submit(job({ dst: ro }));
    run();
    expect(done[0]!.status).toBe(JobStatus.FAILED);
  });

  it('keeps at most priCredits page requests outstanding', async () => {
    const { a, dst, done, job, run, maxPri } = await rig({ priCredits: 2, engines: 8 });
    for (let i = 0; i < 8; i++) a.submit(job({ op: JobOp.fill, dst: dst + i * 4096, cookie: i }));
    run();
    expect(done).toHaveLength(8);
    expect(done.every((d) => d.status === JobStatus.SUCCESS)).toBe(true);
    expect(maxPri()).toBe(2);
  });

  it('turns PRI off after a Response Failure', async () => {
    const { s, d, a, dst, done, job, run } = await rig();
    // a Response Failure for an outstanding group, submitted by software on the queue
    d.openGroup(77, 1);
    const resp = encodeInvDesc({
      type: 'page-group-response',
      pasidPresent: true,
      code: PageResponseCode.FAILURE,
      rid: 0x100,
      pasid: 1,
      lpig: true,
      prgIndex: 77,
    });
    s.sim.runThread('resp', qiSubmitSync(s.drivers[0]!, [resp]));
    run();
    expect(d.priActive).toBe(false);
    a.submit(job({ op: JobOp.fill, dst }));
    run();
    expect(done[0]!.status).toBe(JobStatus.FAILED);
  });

  it('allocates PRG indexes below prgIndexes only, wrapping round (the rest are a hostile stream’s)', async () => {
    const { s, d, a, dst, done, job, run } = await rig({ prgIndexes: 17, engines: 4 });
    const prgs: number[] = [];
    const post = d.post.bind(d);
    d.post = (slot: number) => {
      const w = s.sim.pool.words;
      const b = s.sim.pool.base(slot);
      if ((w[b]! & 0xff) === MsgKind.PAGE_REQ) prgs.push(getField(w, b + DESC, PR.prgIndex));
      post(slot);
    };
    for (let i = 0; i < 12; i++) a.submit(job({ op: JobOp.fill, dst: dst + i * 4096, cookie: i }));
    run();
    for (let i = 0; i < 12; i++) a.submit(job({ op: JobOp.fill, dst: dst + (i + 12) * 4096 }));
    run();
    expect(done.filter((x) => x.status === JobStatus.SUCCESS)).toHaveLength(24);
    expect(prgs).toHaveLength(24);
    expect(Math.max(...prgs)).toBe(16);
    expect(prgs.slice(17, 19)).toEqual([0, 1]); // wrapped below 17
    await expect(rig({ prgIndexes: 16 })).rejects.toMatchObject({ code: 'EINVAL' });
  });

  it('uses untranslated DMA without ATS', async () => {
    const { s, p, a, src, dst, done, job, run } = await rig({ ats: false });
    p.write(src, new Uint8Array(4096).fill(9));
    p.write(dst, new Uint8Array(4096));
    a.submit(job({}));
    run();
    expect(done[0]!.status).toBe(JobStatus.SUCCESS);
    expect(p.read(dst, 4096).every((b) => b === 9)).toBe(true);
    expect(s.counters.toTotals().pageRequests).toBe(0);
  });
});
