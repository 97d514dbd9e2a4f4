/**
 * compile's backend registry (src/backends/registry.ts): 'cpu' and 'gpu' registered, 'auto' the first available
 * one in preference order, unknown names refused with the registered names listed.
 */
import { describe, expect, it } from 'vitest';
import { compile, DarbouxError, harmonicOscillator } from '../../src/index.js';
import { backendNames, cpuStepper, registerBackend, selectBackend, stepProgram } from '../../src/internals.js';

const h = harmonicOscillator().hamiltonian;

describe('backend registry', () => {
  it("registers 'cpu' and 'gpu', the GPU preferred for 'auto'", async () => {
    expect(backendNames()).toEqual(['cpu', 'gpu']);
    const cpu = await selectBackend('cpu', {});
    const gpu = await selectBackend('gpu', {}); // named: no availability test (creating it reports a missing adapter)
    expect([cpu.name, gpu.name]).toEqual(['cpu', 'gpu']);
    expect(gpu.preference).toBeLessThan(cpu.preference);
    expect(await cpu.available({})).toBe(true);
  });

  it('refuses an unknown backend with the message compile always gave', async () => {
    const refusal = compile(h, { dt: 0.1, backend: 'tpu' as 'cpu' });
    await expect(refusal).rejects.toThrow(DarbouxError);
    await expect(refusal).rejects.toMatchObject({ code: 'OPTION', message: "unknown backend 'tpu'; use 'cpu', 'gpu' or 'auto'" });
  });

  it("compiles on the named backend: 'cpu' gives the f64 stepper, equal to cpuStepper's run", async () => {
    const st = await compile(h, { method: 'leapfrog', dt: 0.1, backend: 'cpu' });
    expect(st.backend).toBe('cpu');
    const direct = cpuStepper(stepProgram(h, 'leapfrog'), 0.1);
    const args = { q0: [1], p0: [0.5], steps: 50 };
    expect(Array.from((await st.run(args)).q)).toEqual(Array.from((await direct.run(args)).q));
  });

  it("'auto' takes the first available backend in preference order; a new backend is one registration", async () => {
    const created: string[] = [];
    const fake = (name: string, preference: number, available: boolean) => registerBackend({
      name,
      preference,
      available: async () => available,
      create: async (program, dt) => {
        created.push(name);
        return cpuStepper(program, dt);
      },
    });
    fake('unavailable', -2, false);
    fake('preferred', -1, true);
    expect((await selectBackend('auto', {})).name).toBe('preferred');
    await compile(h, { dt: 0.1, backend: 'auto' });
    await compile(h, { dt: 0.1, backend: 'unavailable' as 'cpu' }); // named: used without the availability test
    expect(created).toEqual(['preferred', 'unavailable']);
    await expect(compile(h, { dt: 0.1, backend: 'tpu' as 'cpu' })).rejects.toMatchObject({
      message: "unknown backend 'tpu'; use 'cpu', 'gpu', 'unavailable', 'preferred' or 'auto'",
    });
    expect(() => fake('cpu', 5, true)).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
    expect(() => fake('auto', 5, true)).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
  });
});
