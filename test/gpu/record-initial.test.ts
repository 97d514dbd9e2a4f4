/** `run({ record, recordInitial })` on the GPU kernels: the initial state (rounded to f32) first, then the record. */
import { afterAll, describe, expect, it } from 'vitest';
import { compile, fcc, henonHeiles, maxwellBoltzmann, particles } from '../../src/index.js';
import { releaseGpu } from '../../src/runtime/index.js';

afterAll(() => releaseGpu());

const f32 = (a: ArrayLike<number>) => Array.from(Float32Array.from(a));

describe('recordInitial on the GPU', () => {
  it('per-trajectory kernel: [f32(initial), …the record without it], also with steps: 0', async () => {
    const model = henonHeiles();
    const q0 = [0.1, -0.2, 0.05, 0.3, -0.1, 0], p0 = [0.2, 0.1, -0.3, 0.05, 0.1, 0.25];
    for (const method of ['leapfrog', 'gauss4']) {
      const st = await compile(model.hamiltonian, { method, dt: 0.05, backend: 'gpu' });
      const plain = await st.run({ q0, p0, steps: 12, batch: 3, record: 4 });
      const withInitial = await st.run({ q0, p0, steps: 12, batch: 3, record: 4, recordInitial: true });
      expect(plain.record!.count).toBe(3);
      expect(withInitial.record!.count).toBe(4);
      // 0.1 is not an f32: the first snapshot is the state the kernel starts from.
      expect(withInitial.record!.q[0]).not.toBe(0.1);
      expect(Array.from(withInitial.record!.q), method).toEqual([...f32(q0), ...plain.record!.q]);
      expect(Array.from(withInitial.record!.p), method).toEqual([...f32(p0), ...plain.record!.p]);
      const none = await st.run({ q0, p0, steps: 0, batch: 3, record: 4, recordInitial: true });
      expect(none.record!.count).toBe(1);
      expect(Array.from(none.record!.q)).toEqual(f32(q0));
      await expect(st.run({ q0, p0, steps: 4, batch: 3, recordInitial: true })).rejects.toMatchObject({ code: 'OPTION' });
      st.dispose();
    }
  });

  it('particle kernels: the initial state first, the rest as the record without it', async () => {
    const { q, box } = fcc({ cells: [2, 2, 4], density: 0.5 });
    const n = q.length / 3;
    const p = maxwellBoltzmann({ n, dim: 3, temperature: 0.72, mass: 1, seed: 1 });
    const sys = particles({ n, dim: 3, mass: 1, box, pair: { V: '4*((1/r)^12 - (1/r)^6)', cutoff: 1.9, shift: true } });
    for (const kernel of ['workgroup', 'tiled'] as const) {
      const st = await compile(sys.hamiltonian, { method: 'leapfrog', dt: 0.005, backend: 'gpu', particleKernel: kernel });
      const plain = await st.run({ q0: q, p0: p, steps: 8, record: 4 });
      const withInitial = await st.run({ q0: q, p0: p, steps: 8, record: 4, recordInitial: true });
      expect(withInitial.record!.count, kernel).toBe(3);
      expect(Array.from(withInitial.record!.q.subarray(0, q.length)), kernel).toEqual(f32(q));
      expect(Array.from(withInitial.record!.p.subarray(0, q.length)), kernel).toEqual(f32(p));
      // The recorded steps: the same run (to f32 rounding of the summation order between runs).
      const rest = withInitial.record!.q.subarray(q.length);
      let worst = 0;
      for (let i = 0; i < rest.length; i++) worst = Math.max(worst, Math.abs(rest[i]! - plain.record!.q[i]!));
      expect(worst, kernel).toBeLessThan(1e-5);
      expect(rest.length).toBe(plain.record!.q.length);
      st.dispose();
    }
  });
});
