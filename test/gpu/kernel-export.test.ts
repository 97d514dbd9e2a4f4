/**
 * Kernel export for embedding: a device of the test's own (npm `webgpu`, no darboux runtime) runs the exported
 * kernel using only the export — createPipeline, buffers sized by byteLength, packState/packParams/packUniform,
 * dispatch, several dispatches past maxStepsPerDispatch, readback, unpackState — and matches `st.run` bit for bit
 * (the same kernel, entry point and dispatch split: dispatches of maxStepsPerDispatch steps, as `run` takes on a
 * small batch).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { create, globals } from 'webgpu';
import { compile, DarbouxError, fcc, henonHeiles, parse, particles, type GpuStepper, type KernelBinding, type KernelExport } from '../../src/index.js';
import { stepProgram } from '../../src/internals.js';
import { kernelExportWithoutDevice } from '../../src/backends/gpu/kernel-export.js';
import { releaseGpu } from '../../src/runtime/index.js';

afterAll(() => releaseGpu());

/** The embedding application's own device: llvmpipe through EGL (as on CI), else the default adapter. */
async function ownDevice(kind: string): Promise<{ instance: GPU; device: GPUDevice }> {
  for (const [k, v] of Object.entries(globals as Record<string, unknown>)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  const saved = process.env.EGL_PLATFORM;
  process.env.EGL_PLATFORM = 'surfaceless';
  try {
    const instance = create(kind === 'llvmpipe' ? ['backend=opengl'] : []);
    const adapter = await instance.requestAdapter(kind === 'llvmpipe' ? { featureLevel: 'compatibility' } : {});
    if (!adapter) throw new Error(`no ${kind} adapter for the embedding test`);
    return { instance, device: await adapter.requestDevice() };
  } finally {
    if (saved === undefined) delete process.env.EGL_PLATFORM;
    else process.env.EGL_PLATFORM = saved;
  }
}

/** Runs `steps` steps of the exported kernel on `device`: the embedding, written against the export alone. */
async function runExported(k: KernelExport, device: GPUDevice, q0: Float64Array, p0: Float64Array, batch: number, steps: number, t0: number) {
  const byName = new Map(k.bindings.map((b) => [b.name, b]));
  const usage = (kind: string) => (kind === 'uniform' ? GPUBufferUsage.UNIFORM : GPUBufferUsage.STORAGE) | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
  const buffers = k.bindings.map((b) => device.createBuffer({ size: b.byteLength(batch), usage: usage(b.kind) })); // zero-filled
  const at = (name: KernelBinding['name']) => buffers[k.bindings.indexOf(byName.get(name)!)]!;
  device.queue.writeBuffer(at('state'), 0, k.packState(q0, p0, batch));
  device.queue.writeBuffer(at('params'), 0, k.packParams());
  const pipeline = k.createPipeline(device);
  const group = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: k.bindings.map((b, i) => ({ binding: b.binding, resource: { buffer: buffers[i]! } })) });
  let dispatches = 0;
  for (let base = 0; base < steps; base += k.maxStepsPerDispatch) {
    device.queue.writeBuffer(at('control'), 0, k.packUniform({ batch, steps: Math.min(k.maxStepsPerDispatch, steps - base), t0, stepBase: base }));
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(...k.dispatch(batch));
    pass.end();
    device.queue.submit([encoder.finish()]);
    dispatches++;
  }
  const read = async (buffer: GPUBuffer) => {
    const staging = device.createBuffer({ size: buffer.size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(buffer, 0, staging, 0, buffer.size);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const copy = staging.getMappedRange().slice(0);
    staging.destroy();
    return copy;
  };
  const [state, status] = [await read(at('state')), await read(at('status'))];
  for (const b of buffers) b.destroy();
  return { ...k.unpackState(state, batch), status: new Uint32Array(status), dispatches };
}

/** A batch of Hénon–Heiles-like states. */
function states(batch: number, n: number) {
  const q0 = new Float64Array(batch * n), p0 = new Float64Array(batch * n);
  for (let j = 0; j < batch * n; j++) {
    q0[j] = 0.1 * Math.sin(1.3 * j);
    p0[j] = 0.1 * Math.cos(0.7 * j);
  }
  return { q0, p0 };
}

describe('an exported kernel on the caller\'s own device', () => {
  const cases = [
    { name: 'Hénon–Heiles, parameters compiled in', h: henonHeiles().hamiltonian, options: {} },
    {
      name: 'parameters read from the params binding',
      h: parse({ q: ['x', 'y'], p: ['u', 'w'], H: '(u^2+w^2)/2 + k*(x^2+y^2)/2 + c*x*y^2', params: { k: 1.7, c: 0.3 } }),
      options: { specializeParameters: false },
    },
  ];
  for (const { name, h, options } of cases) {
    it(`${name}: matches st.run bit for bit over several dispatches`, async () => {
      const st = (await compile(h, { method: 'leapfrog', dt: 0.01, backend: 'gpu', ...options })) as GpuStepper;
      const k = st.exportKernel();
      expect(k.entryPoint).toBe('main');
      expect(k.wgsl).toBe(st.wgsl);
      expect(k.workgroupSize).toBe(64);
      expect(k.maxStepsPerDispatch).toBeGreaterThan(0);
      expect(k.maxStepsPerDispatch).toBeLessThan(1e6); // llvmpipe bounds loop iterations per invocation
      if (options.specializeParameters === false) {
        expect(k.toJSON().params.readByKernel).toBe(true);
        expect(Array.from(k.packParams())).toEqual([Math.fround(1.7), Math.fround(0.3)]);
      }
      const batch = 100, n = 2, steps = 2 * k.maxStepsPerDispatch + 37, t0 = 0.25;
      const { q0, p0 } = states(batch, n);
      const { instance, device } = await ownDevice(st.gpu.adapterKind);
      try {
        const embedded = await runExported(k, device, q0, p0, batch, steps, t0);
        expect(embedded.dispatches).toBe(3);
        expect(Array.from(embedded.status)).toEqual(new Array(batch * 4).fill(0));
        const reference = await st.run({ q0, p0, steps, batch, t0 });
        expect(embedded.q).toEqual(reference.q);
        expect(embedded.p).toEqual(reference.p);
        expect(embedded.q).not.toEqual(q0); // the kernel did advance the state
      } finally {
        device.destroy();
        void instance;
        st.dispose();
      }
    });
  }

  it("the CLI's export, built without an adapter (main only, compatibility limits), runs alike", async () => {
    const h = henonHeiles().hamiltonian;
    const k = kernelExportWithoutDevice(stepProgram(h, 'leapfrog'), 0.01);
    expect(k.toJSON().limits.source).toBe('compatibility-defaults');
    const st = (await compile(h, { method: 'leapfrog', dt: 0.01, backend: 'gpu' })) as GpuStepper;
    expect(k.maxStepsPerDispatch).toBe(st.exportKernel().maxStepsPerDispatch); // both llvmpipe's loop bound here
    const batch = 65, steps = k.maxStepsPerDispatch + 5;
    const { q0, p0 } = states(batch, 2);
    const { instance, device } = await ownDevice(st.gpu.adapterKind);
    try {
      const embedded = await runExported(k, device, q0, p0, batch, steps, 0);
      expect(embedded.dispatches).toBe(2);
      const reference = await st.run({ q0, p0, steps, batch });
      expect(embedded.q).toEqual(reference.q);
      expect(embedded.p).toEqual(reference.p);
    } finally {
      device.destroy();
      void instance;
      st.dispose();
    }
  });

  it("particle systems: the per-particle kernels refuse export (OPTION); particleKernel: 'off' exports", async () => {
    const { q, box } = fcc({ cells: [1, 1, 1], density: 0.8 });
    const sys = particles({ n: q.length / 3, dim: 3, mass: 1, box, pair: { V: '4*((1/r)^12 - (1/r)^6)', cutoff: 0.8 } });
    const tiled = (await compile(sys.hamiltonian, { method: 'leapfrog', dt: 0.005, backend: 'gpu', particleKernel: 'tiled' })) as GpuStepper;
    let refusal: unknown;
    try {
      tiled.exportKernel();
    } catch (e) {
      refusal = e;
    }
    expect(refusal).toBeInstanceOf(DarbouxError);
    expect((refusal as DarbouxError).code).toBe('OPTION');
    expect((refusal as DarbouxError).message).toMatch(/particleKernel: 'off'/);
    tiled.dispose();
    const off = (await compile(sys.hamiltonian, { method: 'leapfrog', dt: 0.005, backend: 'gpu', particleKernel: 'off' })) as GpuStepper;
    expect(off.exportKernel().toJSON().dof).toBe(q.length);
    off.dispose();
  });

  it('the manifest round-trips through JSON and holds the binding table and layouts', async () => {
    const st = (await compile(henonHeiles().hamiltonian, { method: 'leapfrog', dt: 0.01, backend: 'gpu' })) as GpuStepper;
    const k = st.exportKernel();
    const manifest = k.toJSON();
    const text = JSON.stringify(k); // JSON.stringify calls toJSON
    expect(JSON.parse(text)).toEqual(manifest);
    expect(JSON.parse(JSON.stringify(JSON.parse(text)))).toEqual(manifest);
    expect(manifest.limits.source).toBe('adapter');
    expect(manifest.bindings.map((b) => [b.binding, b.name, b.kind])).toEqual(k.bindings.map((b) => [b.binding, b.name, b.kind]));
    for (const [i, b] of manifest.bindings.entries()) {
      for (const batch of [1, 7, 1000]) expect(Math.max(b.byteLength.minimum, b.byteLength.fixed + b.byteLength.perTrajectory * batch)).toBe(k.bindings[i]!.byteLength(batch));
    }
    expect(manifest.bindGroupLayouts[0]!.entries.map((e) => e.buffer.type)).toEqual(['storage', 'read-only-storage', 'storage', 'storage', 'uniform']);
    expect(manifest.otherEntryPoints.map((e) => e.name)).toEqual(['mainChecked', 'mainRecord']);
    st.dispose();
  });
});
