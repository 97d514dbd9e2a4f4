import { describe, expect, it } from 'vitest';
import { compile, DarbouxError, fcc, henonHeiles, lagrangian, maxwellBoltzmann, methodNames, particles } from '../../src/index.js';

/** Refusal code of the promise, or 'none'. */
async function codeOf(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
  } catch (e) {
    return e instanceof DarbouxError ? e.code : `not a DarbouxError: ${String(e)}`;
  }
  return 'none';
}

describe('run({ record, recordInitial }) on the CPU', () => {
  const model = henonHeiles();
  const batch = 3, dof = 2;
  const q0 = [0.1, -0.2, 0.05, 0.3, -0.1, 0], p0 = [0.2, 0.1, -0.3, 0.05, 0.1, 0.25];

  it('puts the initial state first: [initial, …the record without it], for every method', async () => {
    for (const method of methodNames()) {
      const st = await compile(model.hamiltonian, { method, dt: 0.05, backend: 'cpu' });
      for (const [steps, every] of [[10, 3], [12, 4], [5, 1]] as const) {
        const plain = await st.run({ q0, p0, steps, batch, record: every });
        const withInitial = await st.run({ q0, p0, steps, batch, record: every, recordInitial: true });
        const count = Math.floor(steps / every);
        expect(plain.record!.count, method).toBe(count);
        expect(withInitial.record!.count, method).toBe(count + 1);
        expect(withInitial.record!.every).toBe(every);
        expect(Array.from(withInitial.record!.q), method).toEqual([...q0, ...plain.record!.q]);
        expect(Array.from(withInitial.record!.p), method).toEqual([...p0, ...plain.record!.p]);
        // The final state is the last snapshot when k divides steps, and the run itself is unchanged.
        expect(Array.from(withInitial.q)).toEqual(Array.from(plain.q));
        if (steps % every === 0) expect(Array.from(withInitial.record!.q.subarray(count * batch * dof))).toEqual(Array.from(plain.q));
      }
      st.dispose();
    }
  });

  it('steps: 0 records just the initial state; recordInitial without record or not a boolean is refused', async () => {
    const st = await compile(model.hamiltonian, { method: 'leapfrog', dt: 0.05, backend: 'cpu' });
    const r = await st.run({ q0, p0, steps: 0, batch, record: 2, recordInitial: true });
    expect(r.record!.count).toBe(1);
    expect(Array.from(r.record!.q)).toEqual(q0);
    expect(await codeOf(() => st.run({ q0, p0, steps: 4, batch, recordInitial: true }))).toBe('OPTION');
    expect(await codeOf(() => st.run({ q0, p0, steps: 4, batch, record: 1, recordInitial: 'yes' as unknown as boolean }))).toBe('OPTION');
    expect(await codeOf(() => st.run({ q0, p0, steps: 4, batch, recordInitial: false }))).toBe('none');
    st.dispose();
  });

  it('the memory budget counts the initial snapshot', async () => {
    const st = await compile(model.hamiltonian, { method: 'leapfrog', dt: 0.05, backend: 'cpu' });
    // 1 trajectory × 2 dof × q and p × 8 bytes = 32 bytes a state; final + 4 snapshots = 160 bytes.
    const one = { q0: [0.1, 0], p0: [0, 0.1], steps: 4, record: 1, memoryBudget: 160 };
    expect(await codeOf(() => st.run(one))).toBe('none');
    expect(await codeOf(() => st.run({ ...one, recordInitial: true }))).toBe('INPUT');
    expect(await codeOf(() => st.run({ ...one, recordInitial: true, memoryBudget: 192 }))).toBe('none');
    st.dispose();
  });

  it('the Lagrangian stepper records (q0, v0) first, with each snapshot at its own time', async () => {
    // A driven oscillator: the velocity of a snapshot depends on the time it is converted at.
    const L = lagrangian({ q: ['x'], v: ['vx'], L: 'vx^2/2 - x^2/2 + x*vx*t' });
    for (const method of ['variationalMidpoint', 'rk4']) {
      const st = await compile(L, { method, dt: 0.1, backend: 'cpu' });
      const plain = await st.run({ q0: [1, 0.5], v0: [0, -0.2], steps: 6, batch: 2, record: 2 });
      const withInitial = await st.run({ q0: [1, 0.5], v0: [0, -0.2], steps: 6, batch: 2, record: 2, recordInitial: true });
      expect(withInitial.record!.count).toBe(4);
      expect(Array.from(withInitial.record!.q)).toEqual([1, 0.5, ...plain.record!.q]);
      const v = withInitial.record!.v;
      expect(v[0]).toBeCloseTo(0, 12);
      expect(v[1]).toBeCloseTo(-0.2, 12);
      expect(Array.from(v.subarray(2))).toEqual(Array.from(plain.record!.v));
      st.dispose();
    }
  });

  it('the threaded particle runner (2 workers) records the initial state first too', async () => {
    const { q, box } = fcc({ cells: [2, 2, 2], density: 0.5 });
    const n = q.length / 3;
    const p = maxwellBoltzmann({ n, dim: 3, temperature: 0.72, mass: 1, seed: 2 });
    const sys = particles({ n, dim: 3, mass: 1, box, pair: { V: '4*((1/r)^12 - (1/r)^6)', cutoff: 1.9, shift: true } });
    const st = await compile(sys.hamiltonian, { method: 'leapfrog', dt: 0.005, backend: 'cpu', threads: 2 });
    const plain = await st.run({ q0: q, p0: p, steps: 6, record: 3 });
    const withInitial = await st.run({ q0: q, p0: p, steps: 6, record: 3, recordInitial: true });
    st.dispose();
    expect(withInitial.record!.count).toBe(3);
    expect(Array.from(withInitial.record!.q)).toEqual([...q, ...plain.record!.q]);
    expect(Array.from(withInitial.record!.p)).toEqual([...p, ...plain.record!.p]);
  });
});
