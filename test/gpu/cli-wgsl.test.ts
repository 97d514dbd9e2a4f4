/**
 * `darboux compile --emit wgsl` emits the kernel without a device (emitWgslStepper on the specialised step
 * program); on a GPU stepper that kernel is the module's `main` entry point, word for word.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { compile, henonHeiles, parse, type GpuStepper } from '../../src/index.js';
import { emitWgslStepper, specializeParameters, stepProgram } from '../../src/internals.js';
import { releaseGpu } from '../../src/runtime/index.js';

afterAll(() => releaseGpu());

describe('compile --emit wgsl without a device', () => {
  it("is the GPU stepper's main kernel", async () => {
    const systems = [henonHeiles().hamiltonian, parse({ q: ['x', 'y'], p: ['u', 'w'], H: '(u^2+w^2)/2 + k*(x^2+y^2)/2', params: { k: 1 } })];
    for (const h of systems) {
      for (const method of ['leapfrog', 'midpoint']) {
        const st = (await compile(h, { method, dt: 0.01, backend: 'gpu' })) as GpuStepper;
        const emitted = emitWgslStepper(specializeParameters(stepProgram(h, method)), undefined, { record: false, checkEveryStep: false });
        const at = emitted.indexOf('@compute');
        expect(at).toBeGreaterThan(0);
        expect(st.wgsl.startsWith(emitted.slice(0, at)), `${method}: the module's declarations`).toBe(true);
        expect(st.wgsl, `${method}: the main entry point`).toContain(emitted.slice(at));
        st.dispose();
      }
    }
  });
});
