import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExitStatus, runCli } from '../../src/cli/main.js';
import type { JsonReport } from '../../src/report/json.js';
import type { ScenarioInput } from '../../src/scenario/types.js';
import { framesRunOut, pasidsRunOut } from '../machine/scenarios.js';
import { captureIo } from './io.js';

const dir = mkdtempSync(join(tmpdir(), 'svasim-exhaustion-'));

/** Writes `sc` as a scenario file named `name`.json; returns its path. */
function scenarioFile(name: string, sc: ScenarioInput): string {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(sc));
  return file;
}

/** Runs `file` inline with a JSON report: the exit status, the output and the report. */
async function run(file: string) {
  const io = captureIo();
  const json = `${file}.report.json`;
  const status = await runCli(['run', file, '--runtime', 'inline', '--quiet', '--json', json], io);
  const report = JSON.parse(readFileSync(json, 'utf8')) as JsonReport;
  return { status, io, report };
}

describe('svasim run, when binds or allocations fail inside the run', () => {
  it('exits 3 with one line that says what failed and how to allow it', async () => {
    const { status, io, report } = await run(scenarioFile('pasids', pasidsRunOut()));
    expect(status).toBe(ExitStatus.FAILURES_NOT_ALLOWED);
    expect(status).toBe(3);
    const n = report.runTotals!.bindErrors;
    expect(n).toBeGreaterThan(0);
    expect(report.runTotals!.allocFailures).toBe(n);
    expect(io.errors()).toBe(
      `svasim: ${n} binds failed (ENOSPC) and ${n} allocations failed (ENOSPC) in the run; ` +
        `set thresholds \`bindErrors: ${n}, allocFailures: ${n}\` to allow them`,
    );
    // the report is complete: the summary, the JSON with the failures, no violation
    expect(io.text()).toMatch(
      /^failures in the run \(warm-up, window and drain\): \d+ \(\d+ bind ENOSPC\)$/m,
    );
    expect(report.failures!.count).toBe(n);
    expect(report.invariants.violations).toEqual([]);
  });

  it('exits 0 when thresholds bound both counters and the run stays within them', async () => {
    const sc = pasidsRunOut({ thresholds: { bindErrors: 1000, allocFailures: 1000 } });
    const { status, io, report } = await run(scenarioFile('allowed', sc));
    expect(status).toBe(ExitStatus.OK);
    expect(io.errors()).toBe('');
    expect(report.totals.bindErrors).toBeGreaterThan(0);
    expect(report.thresholds!.map((t) => [t.key, t.ok])).toEqual([
      ['bindErrors', true],
      ['allocFailures', true],
    ]);
  });

  it('leaves a bounded counter to its threshold: a miss exits 1, the unbounded one is still named', async () => {
    const sc = pasidsRunOut({ thresholds: { bindErrors: 2 } });
    const { status, io, report } = await run(scenarioFile('missed', sc));
    expect(status).toBe(ExitStatus.FAILED);
    const n = report.runTotals!.allocFailures;
    expect(io.errors().split('\n')).toEqual([
      'svasim: 1 threshold missed: bindErrors',
      `svasim: ${n} allocations failed (ENOSPC) in the run; set a threshold \`allocFailures: ${n}\` to allow them`,
    ]);
  });

  it('exits 3 when frames run out (ENOMEM) and no threshold allows it', async () => {
    const { status, io, report } = await run(scenarioFile('frames', framesRunOut()));
    expect(status).toBe(ExitStatus.FAILURES_NOT_ALLOWED);
    const n = report.runTotals!.allocFailures;
    expect(n).toBeGreaterThan(0);
    expect(report.runTotals!.bindErrors).toBe(0);
    expect(io.errors()).toBe(
      `svasim: ${n} allocations failed (ENOMEM) in the run; set a threshold \`allocFailures: ${n}\` to allow them`,
    );
    expect(report.failures!.first[0]).toMatchObject({ kind: 'pageFault', code: 'ENOMEM' });
  });
});

describe('svasim validate, for a scenario that will run out', () => {
  it('warns of too few PASIDs for the clients alive at once, and still says valid (exit 0)', async () => {
    const io = captureIo();
    const file = scenarioFile('v-pasids', { iommu: { pasidBits: 1 } });
    expect(await runCli(['validate', file], io)).toBe(ExitStatus.OK);
    expect(io.text()).toMatch(/: valid — scenario 'default', 8 accelerators, 64 clients/);
    expect(io.errors()).toBe(
      `${file}: warning: iommu.pasidBits 1 leaves 1 PASID (1..1; PASID 0 is reserved) for the ` +
        '64 clients bound at once: binds will fail (ENOSPC) and those clients wait ' +
        'and retry; raise it to 7 or more, or lower clients.count',
    );
  });

  it('names the device width when it is the narrower one', async () => {
    const io = captureIo();
    const file = scenarioFile('v-dev', {
      devices: [{ count: 2, pasidBits: 3 }],
      clients: { count: 8 },
    });
    expect(await runCli(['validate', file], io)).toBe(ExitStatus.OK);
    expect(io.errors()).toMatch(
      /warning: devices\[0\]\.pasidBits 3 leaves 7 PASIDs \(1\.\.7; PASID 0 is reserved\) for the 8 clients/,
    );
  });

  it('warns of frames that hold the buffers but not their page tables', async () => {
    const io = captureIo();
    // 64 clients × 2 × 1 MiB = 32768 frames of buffers, prefaulted; the page tables do not fit
    const file = scenarioFile('v-frames', {
      memory: { frames: 33000 },
      clients: { buffers: { prefault: 'all' } },
    });
    expect(await runCli(['validate', file], io)).toBe(ExitStatus.OK);
    expect(io.errors()).toMatch(
      /warning: memory\.frames 33000 is below what the clients take to set up \(\d+ frames: the machine's own \d+, 64 clients × 516 \(buffers and page tables\), more PASID tables up to \d+\): prefaults will run out \(ENOMEM\)/,
    );
    const io2 = captureIo();
    const src = scenarioFile('v-frames-src', { memory: { frames: 33000 } });
    expect(await runCli(['validate', src], io2)).toBe(ExitStatus.OK);
    expect(io2.errors()).toMatch(
      /below the peak once every buffer page is touched .*page faults will likely run out \(ENOMEM\)/,
    );
  });

  it('says nothing more of a scenario that fits', async () => {
    const io = captureIo();
    expect(await runCli(['validate', 'default'], io)).toBe(ExitStatus.OK);
    expect(io.errors()).toBe('');
  });
});
