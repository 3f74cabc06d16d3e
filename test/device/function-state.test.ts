import { describe, expect, it } from 'vitest';
import { FunctionState } from '../../src/device/function-state.js';
import { ConfigEnable } from '../../src/sim/message.js';

describe('FunctionState.configWrite()', () => {
  it('sets each enable from its flag bit and the PRI allocation, and clears what is not set', () => {
    const f = new FunctionState();
    f.configWrite(ConfigEnable.PASID | ConfigEnable.ATS, 0);
    expect(f).toMatchObject({ pasidEnabled: true, priEnabled: false, atsEnabled: true });
    f.configWrite(ConfigEnable.PRI, 32);
    expect(f).toMatchObject({
      pasidEnabled: false,
      priEnabled: true,
      atsEnabled: false,
      priAllocation: 32,
    });
  });
});
