import { describe, expect, it } from 'vitest';
import { createSystem, Process, SVM_FLAG_SUPERVISOR_MODE, SvaHandle } from '../../src/index.js';

/** A small system with one device at rid 0x100 (01:00.0). */
function machine() {
  const s = createSystem({ memory: { frames: 2048 } });
  return { s, d: s.addDevice({ rid: 0x100 }) };
}

/** The error `fn` throws or its promise rejects with; fails the test when there is none. */
async function errorOf(fn: () => unknown): Promise<Error & { code?: string }> {
  try {
    await fn();
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected an error, got none');
}

describe('System: objects of another system are refused', () => {
  it('refuses to bind a process of another system with EINVAL naming it, and binds nothing', async () => {
    const a = machine();
    const b = machine();
    const foreign = b.s.createProcess();
    const e = await errorOf(() => a.s.svaBindDevice(a.d, foreign));
    expect(e.code).toBe('EINVAL');
    expect(e.message).toBe(
      "EINVAL: svaBindDevice: process 1 belongs to another system (its page tables live in another memory); bind a process this system's createProcess() created",
    );
    // nothing of the bind happened on either side
    expect(a.s.sva.pasidsInUse).toBe(0);
    expect(a.s.sva.liveBonds).toBe(0);
    expect(a.s.iommu.invalidationLog).toHaveLength(0);
    expect(a.d.enabled.pasid).toBe(false);
    expect(foreign.mmuNotifiers).toHaveLength(0);
    expect(foreign.mmCountRefs).toBe(1);
  });

  it('refuses a device of another system with ENODEV naming it', async () => {
    const a = machine();
    const b = machine();
    const e = await errorOf(() => a.s.svaBindDevice(b.d, a.s.createProcess()));
    expect(e.code).toBe('ENODEV');
    expect(e.message).toContain('svaBindDevice: device 01:00.0 belongs to another system');
    expect(a.s.sva.pasidsInUse).toBe(0);
    expect(b.d.enabled.pasid).toBe(false);
  });

  it('refuses a handle of another system in svaGetPasid and svaUnbindDevice, leaving its bond alone', async () => {
    const a = machine();
    const b = machine();
    const h = await b.s.svaBindDevice(b.d, b.s.createProcess());
    const get = await errorOf(() => a.s.svaGetPasid(h));
    expect(get.code).toBe('EINVAL');
    expect(get.message).toBe(
      'EINVAL: svaGetPasid: the handle of device 01:00.0 and process 1 belongs to another system; use it with the system whose svaBindDevice() returned it',
    );
    const unbind = await errorOf(() => a.s.svaUnbindDevice(h));
    expect(unbind.code).toBe('EINVAL');
    expect(unbind.message).toContain('svaUnbindDevice: the handle of device 01:00.0 and process 1');
    // the handle is still good where it belongs
    expect(b.s.svaGetPasid(h)).toBe(1);
    expect(b.s.sva.liveBonds).toBe(1);
    await b.s.svaUnbindDevice(h);
    expect(b.s.sva.liveBonds).toBe(0);
  });

  it('names a supervisor handle of another system as the kernel', async () => {
    const a = machine();
    const b = machine();
    const h = await b.s.svaBindDevice(b.d, null, SVM_FLAG_SUPERVISOR_MODE);
    const e = await errorOf(() => a.s.svaGetPasid(h));
    expect(e.code).toBe('EINVAL');
    expect(e.message).toContain('the handle of device 01:00.0 and the kernel (supervisor)');
  });

  it.each([
    ['null', null, 'null'],
    ['a number', 0x100, '256'],
    ['a plain object', { rid: 0x100, index: 0 }, 'a plain object'],
  ])(
    'refuses %s as the device with EINVAL saying a Device was expected',
    async (_, device, shown) => {
      const { s } = machine();
      const e = await errorOf(() => s.svaBindDevice(device as never, s.createProcess()));
      expect(e.code).toBe('EINVAL');
      expect(e.message).toBe(
        `EINVAL: svaBindDevice: expected a Device from this system's addDevice(), got ${shown}`,
      );
    },
  );

  it.each([
    ['undefined', undefined, 'undefined'],
    ['a number', 1, '1'],
    ['a plain object', { id: 1 }, 'a plain object'],
    ['a string', 'p1', 'the string "p1"'],
  ])(
    'refuses %s as the process with EINVAL saying a Process was expected',
    async (_, process, shown) => {
      const { s, d } = machine();
      const e = await errorOf(() => s.svaBindDevice(d, process as never));
      expect(e.code).toBe('EINVAL');
      expect(e.message).toBe(
        `EINVAL: svaBindDevice: expected a Process from this system's createProcess(), or null with SVM_FLAG_SUPERVISOR_MODE, got ${shown}`,
      );
      expect(s.sva.pasidsInUse).toBe(0);
    },
  );

  it('refuses the kernel mm as a user process, and a process the system did not create', async () => {
    const { s, d } = machine();
    const kernel = await errorOf(() => s.svaBindDevice(d, s.initMm));
    expect(kernel.code).toBe('EINVAL');
    expect(kernel.message).toContain(
      "the kernel's address space (initMm) is bound with a null process and SVM_FLAG_SUPERVISOR_MODE",
    );
    const stray = new Process(s.memory, { id: 99 });
    const e = await errorOf(() => s.svaBindDevice(d, stray));
    expect(e.code).toBe('EINVAL');
    expect(e.message).toContain("process 99 was not created by this system's createProcess()");
    expect(s.sva.pasidsInUse).toBe(0);
    expect(stray.mmuNotifiers).toHaveLength(0);
  });

  it('still lets the SVA layer refuse an exited process of its own in its words', async () => {
    const { s, d } = machine();
    const p = s.createProcess();
    p.exit();
    const e = await errorOf(() => s.svaBindDevice(d, p));
    expect(e.code).toBe('EINVAL');
    expect(e.message).toBe('EINVAL: process 1 has exited; it cannot be bound');
  });

  it.each([
    ['null', null, 'null'],
    ['a number', 1, '1'],
    ['a look-alike', { device: null, process: null }, 'a plain object'],
  ])(
    'refuses %s as a handle with EINVAL saying an SvaHandle was expected',
    async (_, handle, shown) => {
      const { s } = machine();
      const get = await errorOf(() => s.svaGetPasid(handle as never));
      expect(get.code).toBe('EINVAL');
      expect(get.message).toBe(
        `EINVAL: svaGetPasid: expected an SvaHandle from this system's svaBindDevice(), got ${shown}`,
      );
      const unbind = await errorOf(() => s.svaUnbindDevice(handle as never));
      expect(unbind.code).toBe('EINVAL');
      expect(unbind.message).toContain('svaUnbindDevice: expected an SvaHandle');
    },
  );

  it("refuses a hand-made SvaHandle over another system's device, and one never bound here", async () => {
    const a = machine();
    const b = machine();
    const p = a.s.createProcess();
    const forged = await errorOf(() => a.s.svaGetPasid(new SvaHandle(b.d, p)));
    expect(forged.code).toBe('EINVAL');
    expect(forged.message).toContain('belongs to another system');
    const unbound = await errorOf(() => a.s.svaGetPasid(new SvaHandle(a.d, p)));
    expect(unbound.code).toBe('EINVAL');
    expect(unbound.message).toBe('EINVAL: handle is not bound');
  });

  it.each([
    [null, 'null'],
    [2 ** 32 + 1, '0x100000001'], // as a 32-bit word: PRIVATE_PASID
    [1.5, '1.5'],
    [-1, '-1'],
  ])('refuses bind flags %s with EINVAL instead of truncating them', async (flags, shown) => {
    const { s, d } = machine();
    const e = await errorOf(() => s.svaBindDevice(d, s.createProcess(), flags as never));
    expect(e.code).toBe('EINVAL');
    expect(e.message).toBe(
      `EINVAL: unknown bind flags ${shown}; known: PRIVATE_PASID=1, SUPERVISOR_MODE=2`,
    );
    expect(s.sva.pasidsInUse).toBe(0);
  });
});
