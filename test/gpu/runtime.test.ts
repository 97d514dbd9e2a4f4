import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { DarbouxError } from '../../src/errors.js';
import {
  acquireGpu,
  checkDevice,
  createComputeKernel,
  createStorageBuffer,
  createUniformBuffer,
  gpuAvailable,
  gpuInfo,
  readBuffer,
  releaseGpu,
  splitDispatch,
  writeBuffer,
  type Gpu,
} from '../../src/runtime/index.js';

// These tests must run on CI machines without a GPU (through Mesa llvmpipe). A machine with no adapter at all
// fails them with the acquisition error, unless DARBOUX_ALLOW_NO_GPU=1 says that is expected.
const allowNoGpu = process.env.DARBOUX_ALLOW_NO_GPU === '1';
let gpu: Gpu | undefined;
let acquireError: unknown;

beforeAll(async () => {
  try {
    gpu = await acquireGpu();
  } catch (e) {
    acquireError = e;
  }
});

afterAll(() => releaseGpu());

/** The acquired GPU, or: skip (when allowed) / fail with the acquisition error. */
function needGpu(ctx: TestContext): Gpu {
  if (gpu) return gpu;
  if (allowNoGpu) ctx.skip();
  throw acquireError;
}

const WORKGROUP = 64;
const SIN_KERNEL = `
struct Control { offset: u32, count: u32, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> control: Control;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = control.offset + gid.x;
  if (gid.x >= control.count) { return; }
  y[i] = sin(x[i]) * 2.0 + f32(i);
}
`;

describe('splitDispatch', () => {
  it('covers the batch exactly, in chunks within the workgroup limit', () => {
    const chunks = splitDispatch(100_000, 64, 300);
    expect(chunks.length).toBe(6);
    expect(chunks[0]).toEqual({ offset: 0, count: 19_200, workgroups: 300 });
    expect(chunks.at(-1)).toEqual({ offset: 96_000, count: 4_000, workgroups: 63 });
    expect(chunks.reduce((s, c) => s + c.count, 0)).toBe(100_000);
    for (const c of chunks) expect(c.workgroups).toBeLessThanOrEqual(300);
    expect(splitDispatch(0, 64, 10)).toEqual([]);
    expect(splitDispatch(1, 64, 10)).toEqual([{ offset: 0, count: 1, workgroups: 1 }]);
    expect(() => splitDispatch(10, 0, 10)).toThrow(DarbouxError);
  });
});

describe('GPU runtime', () => {
  it('acquires a device and describes it', async (ctx) => {
    const g = needGpu(ctx);
    const info = await gpuInfo();
    expect(['hardware', 'llvmpipe', 'swiftshader']).toContain(info.adapter);
    expect(info.adapter).toBe(g.adapterKind);
    expect(info.description.length).toBeGreaterThan(0);
    expect(['core', 'compatibility']).toContain(info.featureLevel);
    expect(info.limits.maxComputeWorkgroupsPerDimension).toBeGreaterThanOrEqual(65_535);
    expect(info.limits.maxStorageBuffersPerShaderStage).toBeGreaterThanOrEqual(4);
    expect(info.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(1 << 27);
    expect(await gpuAvailable()).toBe(true);
    expect(await acquireGpu()).toBe(g); // cached singleton
    expect(await acquireGpu({ adapter: g.adapterKind })).toBe(g); // … also under the kind it resolved to
  });

  it('runs a kernel over 100 000 elements in several dispatches and matches JS within f32 tolerance', async (ctx) => {
    const g = needGpu(ctx);
    const n = 100_000;
    const x = new Float32Array(n);
    for (let i = 0; i < n; i++) x[i] = Math.PI * Math.sin(0.37 * i); // stays in [−π, π], where WGSL's sin is accurate
    const xBuf = createStorageBuffer(g, x);
    const yBuf = createStorageBuffer(g, n * 4, { readable: true });
    const control = createUniformBuffer(g, 16);
    const kernel = await createComputeKernel(g, { wgsl: SIN_KERNEL, label: 'sin-test' });
    const chunks = splitDispatch(n, WORKGROUP, 300); // forced small limit: 6 dispatches
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) {
      writeBuffer(g, control, new Uint32Array([c.offset, c.count, 0, 0]));
      kernel.dispatch([xBuf, yBuf, control], c.workgroups);
    }
    const y = new Float32Array(await readBuffer(g, yBuf));
    let worst = 0;
    for (let i = 0; i < n; i++) {
      const want = Math.sin(x[i]!) * 2 + i;
      // WGSL sin: absolute error ≤ 2⁻¹¹ on [−π, π]; plus f32 rounding of the sum (½ ulp of ≤ 10⁵).
      const err = Math.abs(y[i]! - want) / (2 * 2 ** -11 + 2 ** -23 * Math.abs(want));
      worst = Math.max(worst, err);
    }
    expect(worst).toBeLessThanOrEqual(1);
    const again = await createComputeKernel(g, { wgsl: SIN_KERNEL, label: 'sin-test' });
    expect(again.compileSeconds).toBe(0); // pipeline cache hit
    for (const b of [xBuf, yBuf, control]) b.destroy();
  });

  it('reports a WGSL syntax error as DarbouxError DEVICE naming the offending line', async (ctx) => {
    const g = needGpu(ctx);
    const wgsl = SIN_KERNEL.replace('y[i] = sin(x[i]) * 2.0 + f32(i);', 'y[i] = sin(x[i]) * * 2.0;');
    const err = await createComputeKernel(g, { wgsl, label: 'broken' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DarbouxError);
    const e = err as DarbouxError;
    expect(e.code).toBe('DEVICE');
    const lineNo = wgsl.split('\n').findIndex((l) => l.includes('* * 2.0')) + 1;
    expect(e.message).toContain('y[i] = sin(x[i]) * * 2.0;');
    expect(e.message).toContain(`line ${lineNo}`);
    expect(e.details.line).toBe(lineNo);
  });

  it('reports an invalid dispatch as DarbouxError DEVICE, and stays usable afterwards', async (ctx) => {
    const g = needGpu(ctx);
    const kernel = await createComputeKernel(g, { wgsl: SIN_KERNEL, label: 'sin-test' });
    const wrong = createUniformBuffer(g, 16); // a uniform buffer where storage is declared
    const yBuf = createStorageBuffer(g, 64 * 4, { readable: true });
    kernel.dispatch([wrong, yBuf, wrong], 1);
    await expect(readBuffer(g, yBuf)).rejects.toMatchObject({ code: 'DEVICE', message: expect.stringMatching(/sin-test.*invalid/) });
    await expect(checkDevice(g)).resolves.toBeUndefined();
    expect(() => kernel.dispatch([yBuf], 1)).toThrow(/declares 3 bindings/);
    expect(() => kernel.dispatch([yBuf, yBuf, wrong], g.limits.maxComputeWorkgroupsPerDimension + 1)).toThrow(/splitDispatch/);
    wrong.destroy();
    yBuf.destroy();
  });

  it('a readback that does not arrive in time rejects instead of hanging, and the device stays usable', async (ctx) => {
    const g = needGpu(ctx);
    const buf = createStorageBuffer(g, new Float32Array([1, 2, 3, 4]), { readable: true });
    // With a zero timeout the race may go either way; both outcomes must be clean.
    const outcome = await readBuffer(g, buf, undefined, { timeoutMs: 0 }).then(
      (data) => Array.from(new Float32Array(data)),
      (e: unknown) => e,
    );
    if (Array.isArray(outcome)) expect(outcome).toEqual([1, 2, 3, 4]);
    else expect(outcome).toMatchObject({ code: 'DEVICE', message: expect.stringContaining('no data') });
    expect(Array.from(new Float32Array(await readBuffer(g, buf)))).toEqual([1, 2, 3, 4]);
    buf.destroy();
  });

  it('rejects an unknown DARBOUX_ADAPTER with an OPTION error', async () => {
    const saved = process.env.DARBOUX_ADAPTER;
    process.env.DARBOUX_ADAPTER = 'quantum';
    try {
      await expect(acquireGpu()).rejects.toMatchObject({ code: 'OPTION' });
      expect(await gpuAvailable()).toBe(false);
    } finally {
      if (saved === undefined) delete process.env.DARBOUX_ADAPTER;
      else process.env.DARBOUX_ADAPTER = saved;
    }
  });
});
