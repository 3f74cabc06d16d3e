import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { busiestStretch, colorWanted, ExitStatus, runCli } from '../../src/cli/main.js';
import { captureIo } from './io.js';

const io = captureIo;

const dir = mkdtempSync(join(tmpdir(), 'svasim-exits-'));
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));

/** Sends `signal` to this process once the command listens for it (no timing involved). */
function signalWhenListening(signal: 'SIGINT' | 'SIGTERM'): void {
  const look = (): void => {
    if (process.listenerCount(signal) > 0) process.emit(signal, signal);
    else setImmediate(look);
  };
  setImmediate(look);
}

describe('svasim exits honestly', () => {
  it('--version prints the package version', async () => {
    const o = io();
    expect(await runCli(['--version'], o)).toBe(ExitStatus.OK);
    expect(o.text()).toBe(pkg.version);
  });

  it('refuses an output it cannot write before running (exit 2)', async () => {
    const o = io();
    const bad = join(dir, 'no-such-folder', 'r.json');
    expect(await runCli(['run', '--duration', '10us', '--json', bad], o)).toBe(2);
    expect(o.errors()).toMatch(/cannot write .*r\.json: no folder/);
    expect(o.text()).not.toMatch(/svasim run/);
    const o2 = io();
    expect(await runCli(['run', '--duration', '10us', '--html', dir], o2)).toBe(2);
    expect(o2.errors()).toMatch(/it is a folder/);
  });

  it('writes every other output when one fails, says which, and exits 1', async () => {
    const o = io();
    const hlog = join(dir, 'ok.hlog');
    const status = await runCli(
      ['run', '--duration', '50us', '--quiet', '--json', '/dev/full', '--hlog', hlog],
      o,
    );
    expect(status).toBe(ExitStatus.FAILED);
    expect(o.errors()).toMatch(/could not write \/dev\/full: ENOSPC/);
    expect(existsSync(hlog)).toBe(true);
  });

  it.each([
    ['SIGTERM', ExitStatus.TERMINATED],
    ['SIGINT', ExitStatus.INTERRUPTED],
  ] as const)(
    '%s stops the run, writes what was run, marks it and exits %d',
    async (signal, code) => {
      const o = io();
      const json = join(dir, `${signal}.json`);
      signalWhenListening(signal);
      const status = await runCli(['run', '--duration', '1s', '--json', json], o);
      expect(status).toBe(code);
      const j = JSON.parse(readFileSync(json, 'utf8'));
      expect(j.interrupted).toBe(true);
      expect(j.stopSignal).toBe(signal);
      expect(j.stoppedAtNs).toBeLessThan(1e9);
      expect(o.errors()).toMatch(/\(interrupted\)/);
      expect(process.listenerCount(signal)).toBe(0);
    },
  );

  it('reports the window it was asked for, after the warm-up, in the scenario as run', async () => {
    const o = io();
    const json = join(dir, 'window.json');
    const argv = ['run', '--duration', '100us', '--warmup', '50us', '--quiet', '--json', json];
    expect(await runCli(argv, o)).toBe(ExitStatus.OK);
    const j = JSON.parse(readFileSync(json, 'utf8'));
    expect(j.scenario.duration).toBe(100_000);
    expect([j.warmupNs, j.windowNs]).toEqual([50_000, 100_000]);
    expect(j.drainNs).toBe(j.simulatedNs - 150_000);
    expect(j.runTotals.jobs).toBeGreaterThanOrEqual(j.totals.jobs + j.drain.jobs);
    expect(o.text()).toMatch(/window 100us \(after 50us of warm-up, drain /);
  });

  it('--json - writes the JSON alone to stdout, the summary to stderr', async () => {
    const o = io(true);
    expect(await runCli(['run', '--duration', '20us', '--json', '-'], o)).toBe(ExitStatus.OK);
    const j = JSON.parse(o.text());
    expect(j.windowNs).toBe(20_000);
    expect(o.errors()).toMatch(/^svasim run "default"/m);
    expect(o.errors().includes('\u001b[')).toBe(false);
  });

  it('keeps the busiest stretch of the window in the trace by default', () => {
    const span = (endNs: number) => ({ kind: 'job.latency', startNs: endNs - 5, durNs: 5 });
    const records = [span(10), span(20), span(500), span(510), span(520), span(530), span(900)];
    expect(busiestStretch(records, 100, 0, 1000)).toEqual({ startNs: 500, endNs: 600 });
    // a window shorter than the stretch is kept whole
    expect(busiestStretch(records, 5000, 0, 1000)).toEqual({ startNs: 0, endNs: 1000 });
    // PRQ samples do not count
    expect(
      busiestStretch(
        [...records, ...Array(9).fill({ kind: 'prq', startNs: 50, durNs: 0 })],
        100,
        0,
        1000,
      ),
    ).toEqual({ startNs: 500, endNs: 600 });
  });

  it('warns when the trace window holds no latency span', async () => {
    const o = io();
    const trace = join(dir, 'empty.trace.json');
    const argv = ['run', '--duration', '50us', '--quiet', '--trace', trace, '--trace-from', '10ms'];
    expect(await runCli(argv, o)).toBe(ExitStatus.OK);
    expect(o.errors()).toMatch(/warning: the trace window 10ms\.\.10\.1ms holds no latency span/);
    const o2 = io();
    await runCli(['run', '--duration', '50us', '--quiet', '--trace', trace], o2);
    expect(o2.errors()).not.toMatch(/holds no latency span/);
  });

  it('decides colour from the stream, NO_COLOR and FORCE_COLOR', () => {
    expect(colorWanted(true, {})).toBe(true);
    expect(colorWanted(false, {})).toBe(false);
    expect(colorWanted(true, { NO_COLOR: '1' })).toBe(false);
    expect(colorWanted(true, { NO_COLOR: '' })).toBe(true);
    expect(colorWanted(false, { FORCE_COLOR: '1' })).toBe(true);
    expect(colorWanted(false, { FORCE_COLOR: '0' })).toBe(false);
    expect(colorWanted(true, { FORCE_COLOR: '1', NO_COLOR: '1' })).toBe(true);
  });

  it('colours the summary only when its stream may carry colour', async () => {
    const plain = io(false);
    await runCli(['run', '--duration', '20us', '--quiet'], plain);
    expect(plain.text().includes('\u001b[')).toBe(false);
    const coloured = io(true);
    await runCli(['run', '--duration', '20us', '--quiet'], coloured);
    expect(coloured.text().includes('\u001b[1m')).toBe(true);
  });
});
