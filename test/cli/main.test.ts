import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { captureIo } from './io.js';

const io = captureIo;

const dir = mkdtempSync(join(tmpdir(), 'svasim-cli-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const bad3 = new URL('../scenario/fixtures/bad-three.yaml', import.meta.url).pathname;

describe('svasim command line', () => {
  it('exits 2 on a bad command, option or value, saying what to fix', async () => {
    for (const argv of [
      ['frobnicate', 'x', 'y'],
      ['run', '--frob'],
      ['run', '--seed', 'x'],
      ['run', '--duration', 'soon'],
      ['run', '--runtime', 'warp'],
      ['run', '--placement', 'everywhere'],
      ['run', '--threads', '0'],
      ['run', '--profile', 'v6.1'],
      ['validate'],
    ]) {
      const o = io();
      expect(await runCli(argv, o), argv.join(' ')).toBe(2);
      expect(o.errors().length, argv.join(' ')).toBeGreaterThan(0);
    }
    const o = io();
    await runCli(['run', '--runtime', 'warp'], o);
    expect(o.errors()).toMatch(/Allowed choices are auto, inline, threaded/);
  });

  it('--profile overrides the scenario file, and the PRQ size follows it unless the file sets one', async () => {
    const pinned = file(
      'pinned.yaml',
      'profile: v5.8\nduration: 100us\niommu: { prqEntries: 256 }\n',
    );
    const free = file('free.yaml', 'profile: v5.8\nduration: 100us\n');
    const out = join(dir, 'profile.json');
    const report = () =>
      JSON.parse(readFileSync(out, 'utf8')) as {
        profile: string;
        scenario: { iommu: { prqEntries: number } };
        invariants: { violations: unknown[] };
      };
    expect(
      await runCli(['run', free, '--profile', 'current', '--json', out, '--quiet'], io()),
    ).toBe(0);
    let r = report();
    expect(r.profile).toBe('current');
    expect(r.scenario.iommu.prqEntries).toBe(2048); // profile current's PRQ (spec §10)
    expect(r.invariants.violations).toEqual([]);
    expect(await runCli(['run', free, '--json', out, '--quiet'], io())).toBe(0);
    r = report();
    expect([r.profile, r.scenario.iommu.prqEntries]).toEqual(['v5.8', 128]); // PRQ_ORDER 0
    expect(
      await runCli(['run', pinned, '--profile', 'current', '--json', out, '--quiet'], io()),
    ).toBe(0);
    r = report();
    expect([r.profile, r.scenario.iommu.prqEntries]).toEqual(['current', 256]);
  });

  it('validate names all three problems of a bad file and exits 2', async () => {
    const o = io();
    expect(await runCli(['validate', bad3], o)).toBe(2);
    const e = o.errors();
    expect(e).toMatch(/devices\[0\]\.pasidBits/);
    expect(e).toMatch(/devices\[0\]\.ats/);
    expect(e).toMatch(/workload\.pattern/);
  });

  it('validate accepts a good file and a preset, and refuses a missing one with exit 2', async () => {
    const good = file('good.yaml', 'duration: 1ms\ndevices: [{ count: 2 }]\n');
    let o = io();
    expect(await runCli(['validate', good], o)).toBe(0);
    expect(o.text()).toMatch(/valid — scenario 'default', 2 accelerators/);
    o = io();
    expect(await runCli(['validate', 'dsa-like'], o)).toBe(0);
    o = io();
    expect(await runCli(['validate', join(dir, 'nope.yaml')], o)).toBe(2);
    expect(o.errors()).toMatch(/no scenario file or preset/);
    o = io();
    expect(await runCli(['run', 'no-such-preset'], o)).toBe(2);
    expect(o.errors()).toMatch(/presets: .*fault-storm/);
  });

  it('lists the presets and prints the JSON Schema', async () => {
    let o = io();
    expect(await runCli(['presets'], o)).toBe(0);
    for (const n of [
      'default',
      'dsa-like',
      'iaa-like',
      'gpu-far-faults',
      'fault-storm',
      'churn',
      'dense-64',
    ])
      expect(o.text()).toMatch(new RegExp(`^${n} `, 'm'));
    o = io();
    expect(await runCli(['schema'], o)).toBe(0);
    const schema = JSON.parse(o.text());
    expect(schema.title).toBe('svasim scenario');
    expect(schema.properties.devices).toBeDefined();
  });

  it('--help works on every command and exits 0', async () => {
    for (const argv of [
      ['--help'],
      ['run', '--help'],
      ['validate', '--help'],
      ['schema', '--help'],
    ]) {
      const o = io();
      expect(await runCli(argv, o)).toBe(0);
      expect(o.text()).toMatch(/Usage: svasim/);
    }
  });

  it('runs a short scenario, prints the summary and writes the JSON, hlog, HTML and trace', async () => {
    const o = io();
    const out = (n: string) => join(dir, n);
    const status = await runCli(
      [
        'run',
        '--duration',
        '200us',
        '--json',
        out('r.json'),
        '--hlog',
        out('r.hlog'),
        '--html',
        out('r.html'),
        '--trace',
        out('r.trace.json'),
        '--trace-window',
        '50us',
      ],
      o,
    );
    expect(status).toBe(0);
    expect(o.text()).toMatch(/prq\.service/);
    // the default runtime is auto, and the run line says what it picked and why
    expect(o.text()).toMatch(/inline runtime \(auto: 8 busy accelerators, [^)]*\), 1 thread/);
    const j = JSON.parse(readFileSync(out('r.json'), 'utf8'));
    expect(j.runtimeChoice).toMatch(/^auto: 8 busy accelerators/);
    for (const k of [
      'version',
      'scenario',
      'seed',
      'profile',
      'runtime',
      'threads',
      'simulatedNs',
      'wallMs',
      'eventsPerWallSecond',
      'totals',
      'latency',
      'devices',
      'invariants',
    ])
      expect(j).toHaveProperty(k);
    expect(readFileSync(out('r.hlog'), 'utf8')).toMatch(/Tag=prq\.service,/);
    expect(readFileSync(out('r.html'), 'utf8')).toMatch(/<svg/);
    const trace = JSON.parse(readFileSync(out('r.trace.json'), 'utf8'));
    expect(trace.traceEvents.length).toBeGreaterThan(10);
  });

  it('runs the threaded runtime with the same counters as inline', async () => {
    const a = io();
    const b = io();
    const ja = join(dir, 'a.json');
    const jb = join(dir, 'b.json');
    expect(await runCli(['run', '--duration', '100us', '--quiet', '--json', ja], a)).toBe(0);
    expect(
      await runCli(
        [
          'run',
          '--runtime',
          'threaded',
          '--threads',
          '2',
          '--spin-us',
          '100',
          '--duration',
          '100us',
          '--quiet',
          '--json',
          jb,
        ],
        b,
      ),
    ).toBe(0);
    const ra = JSON.parse(readFileSync(ja, 'utf8'));
    const rb = JSON.parse(readFileSync(jb, 'utf8'));
    expect(rb.runtime).toBe('threaded');
    expect(rb.totals).toEqual(ra.totals);
    expect(rb.histograms).toEqual(ra.histograms);
    // the threads table's figures, without the per-quantum series
    expect(rb.threadStats.map((t: { partition: number }) => t.partition)).toEqual([0, 1]);
    // the run as it ran: 8 accelerators all on the device thread with 2 threads
    expect(rb.placement).toEqual(new Array(8).fill(1));
    expect(rb.threadStats[0].quantumWorkUs).toBeUndefined();
    expect(b.text()).toMatch(/^threads +accelerators/m);
  });

  it('exits 1 and lists the missed thresholds when the run misses one', async () => {
    const sc = file(
      'strict.yaml',
      'duration: 200us\nthresholds: { prq.service.p99: 1ns, prqOverflows: 0 }\n',
    );
    const o = io();
    const json = join(dir, 'thresholds.json');
    expect(await runCli(['run', sc, '--quiet', '--json', json], o)).toBe(1);
    expect(o.errors()).toMatch(/threshold.* missed: prq\.service\.p99/);
    // a counter's limit and value are counts, a latency's are times
    expect(o.text()).toMatch(/^ {2}prqOverflows +<= 0 +\d+ +(ok|MISSED)$/m);
    expect(o.text()).toMatch(/^ {2}prq\.service\.p99 +<= 1ns +[\d.]+[nu]s +MISSED$/m);
    // and the JSON carries each threshold's limit, value and verdict
    const j = JSON.parse(readFileSync(json, 'utf8'));
    expect(j.thresholds.map((t: { key: string; ok: boolean }) => [t.key, t.ok])).toEqual([
      ['prq.service.p99', false],
      ['prqOverflows', j.totals.prqOverflows === 0],
    ]);
    const ok = file('loose.yaml', 'duration: 200us\nthresholds: { prq.service.p99: 1s }\n');
    expect(await runCli(['run', ok, '--quiet'], io())).toBe(0);
  });

  it('validate refuses what run would refuse, at its line and column', async () => {
    for (const [text, where] of [
      ['cost: { bogus: 5ns }\n', /:1:9: cost\.bogus: not a cost knob/],
      ['memory: { frames: 1048577 }\n', /:1:11: memory\.frames: expected an integer 2\.\.1048576/],
      [
        'devices: [{ devtlb: { entries: 0 } }]\n',
        /devices\[0\]\.devtlb\.entries: expected an integer 1\.\./,
      ],
    ] as const) {
      const o = io();
      expect(await runCli(['validate', file('refused.yaml', text)], o)).toBe(2);
      expect(o.errors()).toMatch(where);
    }
  });

  it('runs the demo of v5.8: two notifier calls for a munmap, DID 0 flushes on unbind after exit', async () => {
    const o = io();
    expect(await runCli(['demo'], o)).toBe(0);
    const t = o.text();
    expect(t).toMatch(/profile v5\.8, 1 VT-d unit, PRQ of 128 entries/);
    // munmap of 3 touched pages: 2 calls × 2 devices, each a P_IOTLB + a P_DEVTLB
    const munmap = t.split('munmap 3 pages')[1]!.split('mprotect rw')[0]!;
    expect(
      munmap.match(/P_IOTLB page-selective pasid=1 did=1 addr=0x7effffff1000 am=2/g),
    ).toHaveLength(4);
    expect(t).toMatch(/PASID-cache g=1 did=0 pasid=1 {2,}0000000100000017/);
    expect(t).toMatch(/PASIDs in use: 0/);
  });

  it('runs the demo of profile current: one response per group, none for a stop marker, v6 teardown', async () => {
    const o = io();
    expect(await runCli(['demo', '--profile', 'current'], o)).toBe(0);
    const t = o.text();
    expect(t).toMatch(/profile current, 1 VT-d unit, PRQ of 2048 entries/);
    // spec §10.3: 9h | PP | RC 0 | RID 0x6a01 | PASID 1; qw1 = PRGI 5 << 3 | LPIG << 2
    const group = t.split('group 5')[1]!.split('a stop marker')[0]!;
    expect(group.match(/page-group-response/g)).toHaveLength(1);
    expect(group).toMatch(/000000016a010019 000000000000002c/);
    expect(t).toMatch(/a stop marker \(LPIG=1, no R\/W\) → no response\n/);
    expect(t).toMatch(/nobody touched → no PTE cleared, no invalidation\nmunmap 3 mapped/);
    // teardown's full-range type 8h (spec §10.4)
    expect(t).toMatch(/000000016a010008 7ffffffffffff800/);
    expect(t).toMatch(/PASIDs in use: 0/);
    const bad = io();
    expect(await runCli(['demo', '--profile', 'v4'], bad)).toBe(2);
  });
});
