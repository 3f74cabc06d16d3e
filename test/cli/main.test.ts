import { afterEach, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../src/cli/main.js';

afterEach(() => vi.restoreAllMocks());

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((s: string) => void out.push(s));
  vi.spyOn(console, 'error').mockImplementation((s: string) => void err.push(s));
  return { out, err };
}

describe('svasim command', () => {
  it('exits 2 with the usage on a bad command, option or value', async () => {
    const { err } = capture();
    expect(await runCli(['frobnicate'])).toBe(2);
    expect(await runCli(['run', '--frob'])).toBe(2);
    expect(await runCli(['run', '--seed', 'x'])).toBe(2);
    expect(await runCli(['run', '--duration', 'soon'])).toBe(2);
    expect(err.join('\n')).toMatch(/unknown command 'frobnicate'/);
    expect(err.join('\n')).toMatch(/duration/);
  });

  it('runs a short scenario, prints the summary and exits 0', async () => {
    const { out } = capture();
    expect(await runCli(['run', '--duration', '200us', '--quiet'])).toBe(0);
    const text = out.join('\n');
    expect(text).toMatch(/svasim default — profile v5.8, seed 1/);
    expect(text).toMatch(/prq.service/);
    expect(text).toMatch(/no violation/);
  });

  it('runs the threaded runtime and rejects an unknown one', async () => {
    const { out, err } = capture();
    expect(await runCli(['run', '--runtime', 'warp'])).toBe(2);
    expect(err.join('\n')).toMatch(/--runtime takes auto, inline or threaded/);
    expect(await runCli(['run', '--runtime', 'threaded', '--duration', '100us', '--quiet'])).toBe(
      0,
    );
    expect(out.join('\n')).toMatch(/threaded runtime/);
  });

  it('runs the demo', async () => {
    const { out } = capture();
    expect(await runCli(['demo'])).toBe(0);
    expect(out.join('\n')).toMatch(/PASIDs in use: 0/);
  });
});
