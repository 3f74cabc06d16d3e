/**
 * The baseline of DESIGN §9: the same quantum protocol and barrier, but the messages between
 * threads travel by `postMessage` — one message per record, the data plane a user would
 * otherwise write — instead of the SharedArrayBuffer rings. Benchmarks only: it allocates
 * and copies per message, which is what the rings exist to avoid.
 *
 * Each accelerator off the engine's thread has a MessageChannel; the engine's worker holds
 * one end, the accelerator's worker the other. A sender posts before it arrives at the
 * barrier, and Node queues a posted message on the receiving port during `postMessage`
 * itself, so after the barrier the receiver takes them with `receiveMessageOnPort` without
 * waiting for its event loop.
 */

import { type MessagePort, receiveMessageOnPort } from 'node:worker_threads';
import type { QuantumBarrier } from '../ring/barrier.js';
import type { World } from '../sim/simulator.js';
import { deliverEncoded, encodeRecord, RingQuantumDriver } from './quantum-driver.js';

/** A quantum driver whose records cross threads by postMessage. */
export class PostMessageQuantumDriver extends RingQuantumDriver {
  private readonly portsOut: (MessagePort | null)[];
  private readonly portsIn: MessagePort[];

  constructor(
    world: World,
    partition: number,
    ports: (MessagePort | null)[],
    barrier: QuantumBarrier,
  ) {
    super(world, partition, [], new Int32Array(0), [], barrier);
    this.portsOut = ports;
    this.portsIn = ports.filter((p): p is MessagePort => p !== null);
  }

  protected override write(
    p: number,
    timeNs: number,
    source: number,
    seq: number,
    dest: number,
    words: Uint32Array,
    offset: number,
  ): void {
    const port = this.portsOut[p];
    if (!port) throw new Error(`postMessage baseline: no port for accelerator ${p}`);
    const rec = new Uint32Array(22);
    encodeRecord(rec, 0, timeNs, source, seq, dest, words, offset);
    port.postMessage(rec);
  }

  protected override flush(): void {}

  protected override drain(): void {
    for (const port of this.portsIn) {
      for (;;) {
        const m = receiveMessageOnPort(port);
        if (m === undefined) break;
        deliverEncoded(this.world, m.message as Uint32Array, 0);
      }
    }
  }
}
