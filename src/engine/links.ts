/**
 * The PCIe links between one VT-d unit and the functions behind it: which device a requester
 * id or an endpoint names, where its DMA data lives, and in-order delivery down each link.
 *
 * A link delivers in order: a message sent later never arrives before one sent earlier on the
 * same link (PCIe ordering: a completion computed before an invalidation request must reach
 * the device first), whatever latency each one was given.
 *
 * Not modelled: link bandwidth and credits, switches between the root port and the function.
 */

import type { Simulator } from '../sim/simulator.js';

/** A device as the unit knows it: where to send messages and where its DMA data lives. */
export interface DeviceLink {
  readonly endpoint: number;
  /** Index of the device in registration order (the observer's counters). */
  readonly index: number;
  readonly buffer: Uint8Array;
  /** 32-bit view of `buffer` for aligned copies. */
  readonly buffer32: Uint32Array;
  /** Arrival time of the last message sent down the link: the link delivers in order. */
  lastArrivalNs: number;
}

/** The links of one unit, by requester id and by endpoint. */
export class DeviceLinks {
  private readonly sim: Simulator;
  /** Endpoint id of the unit: the source of every message sent down a link. */
  private readonly source: number;
  private readonly rids = new Map<number, DeviceLink>();
  private readonly endpoints = new Map<number, DeviceLink>();

  constructor(sim: Simulator, source: number) {
    this.sim = sim;
    this.source = source;
  }

  /** Connects a device: its requester id, endpoint, index for counters and DMA data buffer. */
  attach(rid: number, endpoint: number, index: number, buffer: Uint8Array): void {
    const buffer32 = new Uint32Array(buffer.buffer, buffer.byteOffset, buffer.byteLength >> 2);
    const d = { endpoint, index, buffer, buffer32, lastArrivalNs: 0 };
    this.rids.set(rid, d);
    this.endpoints.set(endpoint, d);
  }

  /** The device with requester id `rid`, if attached. */
  byRid(rid: number): DeviceLink | undefined {
    return this.rids.get(rid);
  }

  /** The device at endpoint `endpoint`, if attached. */
  byEndpoint(endpoint: number): DeviceLink | undefined {
    return this.endpoints.get(endpoint);
  }

  /**
   * Sends `slot` to `dev` to arrive `delayNs` from now, but never before a message sent
   * earlier on the same link.
   */
  send(dev: DeviceLink, delayNs: number, slot: number): void {
    const now = this.sim.nowNs;
    let at = now + delayNs;
    if (at < dev.lastArrivalNs) at = dev.lastArrivalNs;
    dev.lastArrivalNs = at;
    this.sim.send(at - now, this.source, dev.endpoint, slot);
  }
}
