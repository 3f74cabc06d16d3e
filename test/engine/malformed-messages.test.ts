import { describe, expect, it } from 'vitest';
import { AtsReq, DmaReq, MsgFlag, MsgKind, MW } from '../../src/sim/message.js';
import { smallSystem } from '../kernel/helpers.js';

/** Sends a message the test fills in from a device to its unit and runs until it is handled. */
function deliver(fill: (w: Uint32Array, b: number, deviceEndpoint: number) => void): unknown {
  const s = smallSystem();
  const d = s.addDevice({ rid: 0x100 });
  const pool = s.sim.pool;
  const slot = pool.alloc();
  const b = pool.base(slot);
  pool.words[b + MW.SRC] = d.id;
  fill(pool.words, b, d.id);
  d.post(slot);
  try {
    s.sim.runUntil(s.sim.nowNs + 1_000_000);
  } catch (e) {
    return e;
  }
  throw new Error('expected the unit to refuse the message');
}

describe('the VT-d unit receiving malformed messages', () => {
  it('refuses a RID wider than 16 bits with EINVAL instead of reading past the root table', () => {
    for (const kind of [MsgKind.ATS_REQ, MsgKind.DMA_REQ]) {
      const e = deliver((w, b) => {
        w[b + MW.KIND] = kind | MsgFlag.PASID;
        if (kind === MsgKind.ATS_REQ) w[b + AtsReq.RID] = 0x1_0100;
        else {
          w[b + DmaReq.LENGTH] = 8;
          w[b + DmaReq.RID] = 0x1_0100;
        }
      }) as Error & { code?: string };
      expect(e.code).toBe('EINVAL');
      expect(e.message).toBe(
        `${kind === MsgKind.ATS_REQ ? 'ATS' : 'DMA'} request from device 0: rid 0x10100 does not fit 16 bits`,
      );
    }
  });

  it('refuses a DMA that leaves its page with EINVAL', () => {
    const e = deliver((w, b) => {
      w[b + MW.KIND] = MsgKind.DMA_REQ | MsgFlag.PASID;
      w[b + DmaReq.ADDR_WIDE] = 0x1ff8;
      w[b + DmaReq.LENGTH] = 16;
      w[b + DmaReq.RID] = 0x100;
    }) as Error & { code?: string };
    expect(e.code).toBe('EINVAL');
    expect(e.message).toBe(
      'DMA request of 16 bytes at 0x1ff8 from device 0 is not inside one 4 KiB page: devices split DMA per page',
    );
  });

  it('refuses a kind it never receives and a sender it does not know with EINVAL', () => {
    const kind = deliver((w, b) => {
      w[b + MW.KIND] = MsgKind.DMA_CPL;
    }) as Error & { code?: string };
    expect(kind.code).toBe('EINVAL');
    expect(kind.message).toMatch(
      /^VT-d unit 0: message kind 6 from device 0 is none a unit receives/,
    );
    const sender = deliver((w, b, id) => {
      w[b + MW.KIND] = MsgKind.ATS_REQ;
      w[b + MW.SRC] = id + 1000;
    }) as Error & { code?: string };
    expect(sender.code).toBe('EINVAL');
    expect(sender.message).toMatch(
      /^VT-d unit 0: message kind 1 from endpoint \d+, which is no device/,
    );
  });
});
