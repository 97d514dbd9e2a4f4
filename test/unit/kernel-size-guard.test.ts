import { describe, expect, it } from 'vitest';
import { DarbouxError } from '../../src/errors.js';
import { KERNEL_NODE_LIMITS, refuseOversizedKernel } from '../../src/backends/gpu/kernel-host.js';
import type { Gpu } from '../../src/runtime/index.js';

const adapter = (adapterKind: string) => ({ adapterKind }) as unknown as Gpu;

describe('kernel size guard (forward and backward GPU kernels)', () => {
  it('accepts kernels up to the adapter kind’s limit and refuses larger ones with DEVICE, naming nodes and limit', () => {
    expect(() => refuseOversizedKernel(adapter('llvmpipe'), KERNEL_NODE_LIMITS.llvmpipe, 'k')).not.toThrow();
    expect(() => refuseOversizedKernel(adapter('hardware'), KERNEL_NODE_LIMITS.llvmpipe + 1, 'k')).not.toThrow();
    let caught: unknown;
    try {
      refuseOversizedKernel(adapter('llvmpipe'), KERNEL_NODE_LIMITS.llvmpipe + 1, "leapfrog: the backward ('reverse') kernel");
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(DarbouxError);
    expect((caught as DarbouxError).code).toBe('DEVICE');
    expect((caught as DarbouxError).message).toMatch(/backward \('reverse'\) kernel has 30001 nodes.*backend: 'cpu'/);
    expect((caught as DarbouxError).details).toEqual({ nodes: KERNEL_NODE_LIMITS.llvmpipe + 1, limit: KERNEL_NODE_LIMITS.llvmpipe });
    expect(() => refuseOversizedKernel(adapter('hardware'), KERNEL_NODE_LIMITS.other + 1, 'k')).toThrow(DarbouxError);
  });
});
