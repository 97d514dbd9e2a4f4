/** integrateModel returns the layout of `run({ record: 1, recordInitial: true })`: the initial state first. */
import { describe, expect, it } from 'vitest';
import { compile, hnn, integrateModel } from '../../src/index.js';

describe('integrateModel and run({ recordInitial })', () => {
  it('an hnn trajectory is the run record with the initial state first, bit for bit', async () => {
    const model = hnn({ dof: 2, hidden: [8], seed: 3, separable: true });
    const q0 = [0.1, -0.2, 0.3, 0.05], p0 = [0.0, 0.1, -0.1, 0.2];
    const path = await integrateModel(model, { q0, p0, steps: 7, dt: 0.05, batch: 2, method: 'leapfrog' });
    expect(path.q.length).toBe(8 * 2 * 2);
    expect(Array.from(path.q.subarray(0, 4))).toEqual(q0);
    expect(Array.from(path.p.subarray(0, 4))).toEqual(p0);
    const st = await compile(model.hamiltonian!, { method: 'leapfrog', dt: 0.05, backend: 'cpu' });
    const run = await st.run({ q0, p0, steps: 7, batch: 2, record: 1, recordInitial: true });
    expect(Array.from(path.q)).toEqual(Array.from(run.record!.q));
    expect(Array.from(path.p)).toEqual(Array.from(run.record!.p));
    expect(Array.from(path.q.subarray(7 * 4))).toEqual(Array.from(run.q));
    st.dispose();
  });
});
