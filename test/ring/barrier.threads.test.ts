/**
 * QuantumBarrier across real threads: worker parties park with Atomics.wait, a main-thread
 * party uses arriveAsync (it never blocks). Every party checks every round's minimum against the
 * schedule of barrier-party.worker.ts. Deadlines are generous safety nets that fail a test
 * instead of hanging it; nothing asserts on wall-clock time.
 */

import { describe, expect, it } from 'vitest';
import { QuantumBarrier } from '../../src/ring/index.js';
import {
  expectedMinimum,
  foldMinimum,
  nextEventNs,
  type PartySummary,
} from './barrier-party.worker.js';
import { startTsWorker, type TestWorker } from './worker-harness.js';

const ROUNDS = 2_000;
/** Longest any single wait may take before the barrier aborts itself. */
const DEADLINE_MS = 10_000;

interface PartyOptions {
  failAtRound?: number;
  spinNs?: number;
  parkTimeoutMs?: number;
  deadlineMs?: number;
  rounds?: number;
}

function startParty(barrier: QuantumBarrier, party: number, o: PartyOptions = {}): TestWorker {
  return startTsWorker('./barrier-party.worker.ts', {
    sab: barrier.sab,
    byteOffset: barrier.byteOffset,
    party,
    rounds: o.rounds ?? ROUNDS,
    failAtRound: o.failAtRound ?? -1,
    spinNs: o.spinNs ?? 0,
    parkTimeoutMs: o.parkTimeoutMs ?? 50,
    deadlineMs: o.deadlineMs ?? DEADLINE_MS,
  });
}

/** The main thread as a party: the same loop as the worker's, through arriveAsync. */
async function mainParty(barrier: QuantumBarrier, rounds = ROUNDS): Promise<PartySummary> {
  const summary: PartySummary = {
    party: barrier.party,
    completed: 0,
    mismatches: 0,
    checksum: 0,
    abortedOthers: false,
  };
  try {
    for (let round = 0; round < rounds; round++) {
      const got = await barrier.arriveAsync(nextEventNs(barrier.party, round));
      const want = expectedMinimum(barrier.parties, round);
      if (got !== want) {
        summary.mismatches++;
        summary.firstMismatch ??= { round, got, want };
      }
      summary.checksum = foldMinimum(summary.checksum, got);
      summary.completed++;
    }
  } catch (e) {
    const err = e as Error & { code?: string };
    summary.error = { code: err.code, message: err.message };
  }
  return summary;
}

function expectedChecksum(parties: number, rounds: number): number {
  let sum = 0;
  for (let round = 0; round < rounds; round++)
    sum = foldMinimum(sum, expectedMinimum(parties, round));
  return sum;
}

async function stopAll(workers: TestWorker[]): Promise<void> {
  await Promise.all(workers.map((w) => w.stop()));
}

describe('QuantumBarrier across threads', () => {
  it('gives 2 worker parties and the main thread the same minimum for 2 000 rounds', async () => {
    const barrier = QuantumBarrier.create(3, { spinNs: 0, deadlineMs: DEADLINE_MS });
    const main = new QuantumBarrier(barrier.sab, 0, 2, { spinNs: 0, deadlineMs: DEADLINE_MS });
    // Party 0 parks at once, party 1 spins first: both wait paths carry rounds.
    const workers = [startParty(barrier, 0), startParty(barrier, 1, { spinNs: 20_000 })];
    try {
      const mine = await mainParty(main);
      const theirs = await Promise.all(workers.map((w) => w.next<PartySummary>()));
      const want = expectedChecksum(3, ROUNDS);
      for (const s of [...theirs, mine]) {
        expect(s.error).toBeUndefined();
        expect(s.firstMismatch).toBeUndefined();
        expect(s.mismatches).toBe(0);
        expect(s.completed).toBe(ROUNDS);
        expect(s.checksum).toBe(want);
      }
      expect(barrier.generation()).toBe(ROUNDS);
      expect(barrier.isAborted()).toBe(false);
    } finally {
      await stopAll(workers);
    }
  });

  it('runs 2 000 rounds with 3 blocking worker parties', async () => {
    const barrier = QuantumBarrier.create(3);
    const workers = [0, 1, 2].map((p) => startParty(barrier, p, { spinNs: p === 2 ? 20_000 : 0 }));
    try {
      const summaries = await Promise.all(workers.map((w) => w.next<PartySummary>()));
      const want = expectedChecksum(3, ROUNDS);
      for (const s of summaries) {
        expect(s.error).toBeUndefined();
        expect(s.mismatches).toBe(0);
        expect(s.completed).toBe(ROUNDS);
        expect(s.checksum).toBe(want);
      }
      expect(barrier.generation()).toBe(ROUNDS);
    } finally {
      await stopAll(workers);
    }
  });

  it('stops every party with ERR_BARRIER_ABORTED when a worker fails mid-way', async () => {
    const failAt = 700;
    const barrier = QuantumBarrier.create(3, { spinNs: 0, deadlineMs: DEADLINE_MS });
    const main = new QuantumBarrier(barrier.sab, 0, 2, { spinNs: 0, deadlineMs: DEADLINE_MS });
    const workers = [startParty(barrier, 0), startParty(barrier, 1, { failAtRound: failAt })];
    try {
      const mine = await mainParty(main);
      const [healthy, failing] = await Promise.all(workers.map((w) => w.next<PartySummary>()));
      expect(failing!.error?.message).toBe(`party 1 failed at round ${failAt}`);
      expect(failing!.abortedOthers).toBe(true);
      for (const s of [healthy!, mine]) {
        expect(s.error?.code).toBe('ERR_BARRIER_ABORTED');
        expect(s.error?.message).toMatch(/aborted by party 1: party 1 failed at round 700/);
      }
      // Round 700 cannot complete without party 1: everyone got exactly 700 right results.
      for (const s of [healthy!, failing!, mine]) {
        expect(s.completed).toBe(failAt);
        expect(s.mismatches).toBe(0);
        expect(s.checksum).toBe(expectedChecksum(3, failAt));
      }
    } finally {
      await stopAll(workers);
    }
  });

  it('times a parked worker out when a party never arrives, and aborts for the others', async () => {
    const barrier = QuantumBarrier.create(2, { spinNs: 0, deadlineMs: DEADLINE_MS });
    const main = new QuantumBarrier(barrier.sab, 0, 1, { spinNs: 0, deadlineMs: DEADLINE_MS });
    const workers = [startParty(barrier, 0, { rounds: 1, parkTimeoutMs: 5, deadlineMs: 200 })];
    try {
      // The main thread (party 1) never arrives; the worker parks in 5 ms slices until 200 ms.
      const summary = await workers[0]!.next<PartySummary>();
      expect(summary.completed).toBe(0);
      expect(summary.error?.code).toBe('ERR_BARRIER_TIMEOUT');
      expect(summary.error?.message).toMatch(/party 0 waited more than 200 ms in generation 0/);
      expect(summary.abortedOthers).toBe(false); // the timeout had aborted already
      await expect(main.arriveAsync(1)).rejects.toEqual(
        expect.objectContaining({ code: 'ERR_BARRIER_ABORTED', abortedBy: 0 }),
      );
      expect(main.sleepers()).toBe(0);
    } finally {
      await stopAll(workers);
    }
  });
});
