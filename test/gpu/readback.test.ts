/** `readBuffersWith` (src/runtime/buffers.ts): several buffers in one map of a reused staging buffer. */
import { afterAll, describe, expect, it } from 'vitest';
import { acquireGpu, createStorageBuffer, readBuffersWith, releaseGpu, writeBuffer } from '../../src/runtime/index.js';
import { DarbouxError } from '../../src/index.js';

afterAll(() => releaseGpu());

describe('readBuffersWith', () => {
  it('reads two buffers back to back through one staging buffer, reusable after each read', async () => {
    const gpu = await acquireGpu();
    const a = createStorageBuffer(gpu, new Float32Array([1.5, -2, 3.25]), { readable: true });
    const b = createStorageBuffer(gpu, new Uint32Array([7, 0xffffffff]), { readable: true });
    const staging = gpu.device.createBuffer({ size: 64, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    for (let round = 0; round < 3; round++) {
      writeBuffer(gpu, a, new Float32Array([round, -2, 3.25]));
      const got = await readBuffersWith(gpu, [{ buffer: a, bytes: 12 }, { buffer: b, bytes: 8 }], staging, (mapped, offsets) => ({
        offsets,
        a: [...new Float32Array(mapped, offsets[0], 3)],
        b: [...new Uint32Array(mapped, offsets[1], 2)],
      }));
      expect(got).toEqual({ offsets: [0, 12], a: [round, -2, 3.25], b: [7, 0xffffffff] });
    }
    const small = gpu.device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    await expect(readBuffersWith(gpu, [{ buffer: a, bytes: 12 }, { buffer: b, bytes: 8 }], small, () => 0)).rejects.toThrow(DarbouxError);
    await expect(readBuffersWith(gpu, [{ buffer: a, bytes: 6 }], staging, () => 0)).rejects.toThrow(/multiple of 4/);
    const hidden = createStorageBuffer(gpu, 16);
    await expect(readBuffersWith(gpu, [{ buffer: hidden, bytes: 16 }], staging, () => 0)).rejects.toThrow(/not created readable/);
    for (const x of [a, b, staging, small, hidden]) x.destroy();
  });
});
