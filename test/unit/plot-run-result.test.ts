/**
 * `plot.energy(result, …)` and `plot.phase(result, …)` take a `st.run` result directly: the picture equals the one
 * drawn from `trajectoryFromRun` (the oracle path) with the same inputs, a run with `recordInitial: true` needs no
 * q0/p0 and draws the same frames, and a result without frames, or without a step size for the time axis, is
 * refused with a DarbouxError.
 */
import { describe, expect, it } from 'vitest';
import { compile, DarbouxError, henonHeiles, plot, trajectoryFromRun } from '../../src/index.js';

const h = henonHeiles().hamiltonian;
const q0 = [0.1, -0.2, 0.05, 0.1], p0 = [0.3, 0.2, -0.1, 0.25], batch = 2;

function refusal(f: () => unknown): DarbouxError {
  try { f(); } catch (e) { expect(e).toBeInstanceOf(DarbouxError); return e as DarbouxError; }
  throw new Error('expected a DarbouxError');
}

describe('plot of a run result', () => {
  it('plot.energy(result, { hamiltonian, q0, p0, stepper }) equals the plot of trajectoryFromRun', async () => {
    const st = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'cpu' });
    const res = await st.run({ q0, p0, batch, steps: 400, record: 10 });
    const oracle = plot.energy(trajectoryFromRun(res, { q0, p0, batch, dt: st.dt }), { hamiltonian: h });
    expect(plot.energy(res, { hamiltonian: h, q0, p0, stepper: st })).toBe(oracle);
    expect(plot.energy(res, { hamiltonian: h, q0, p0, dt: 0.05, batch })).toBe(oracle);
    // recordInitial: the record starts with the initial state, so no q0/p0 are needed for the same picture.
    const withInitial = await st.run({ q0, p0, batch, steps: 400, record: 10, recordInitial: true });
    expect(plot.energy(withInitial, { hamiltonian: h, stepper: st, recordInitial: true })).toBe(oracle);
    // Without either, the frames are the snapshots after steps k, 2k, … at t = k·dt, 2k·dt, …
    const record = res.record!;
    const snapshots = { batch, dof: 2, q: res.q, p: res.p, frames: { t: Float64Array.from({ length: record.count }, (_, i) => (i + 1) * 10 * 0.05), q: record.q, p: record.p } };
    expect(plot.energy(res, { hamiltonian: h, stepper: st })).toBe(plot.energy(snapshots, { hamiltonian: h }));
    expect(plot.energy(res, { hamiltonian: h, stepper: st })).not.toBe(oracle);
    st.dispose();
  });

  it('plot.phase(result, { q0, p0, batch }) equals the phase portrait of trajectoryFromRun', async () => {
    const st = await compile(h, { method: 'yoshida4', dt: 0.05, backend: 'cpu' });
    const res = await st.run({ q0, p0, batch, steps: 300, record: 3 });
    const oracle = plot.phase(trajectoryFromRun(res, { q0, p0, batch, dt: st.dt }), { dof: 1 });
    expect(plot.phase(res, { q0, p0, batch, dof: 1 })).toBe(oracle);
    expect(plot.phase(res, { q0, p0, hamiltonian: h, dof: 1 })).toBe(oracle);
    st.dispose();
  });

  it('refuses a result without frames (INPUT), an energy plot without dt (OPTION) and half an initial state', async () => {
    const st = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'cpu' });
    const bare = await st.run({ q0, p0, batch, steps: 20 });
    const noFrames = refusal(() => plot.energy(bare, { hamiltonian: h, q0, p0, stepper: st }));
    expect(noFrames.code).toBe('INPUT');
    expect(noFrames.message).toMatch(/plot\.energy: the run's result has no frames; run with record: k/);
    expect(refusal(() => plot.phase(bare, { batch })).message).toMatch(/plot\.phase: the run's result has no frames/);
    const res = await st.run({ q0, p0, batch, steps: 20, record: 5 });
    const noDt = refusal(() => plot.energy(res, { hamiltonian: h, q0, p0 }));
    expect(noDt.code).toBe('OPTION');
    expect(noDt.message).toMatch(/dt: st\.dt/);
    expect(refusal(() => plot.energy(res, { hamiltonian: h, q0, stepper: st })).message).toMatch(/both q0 and p0/);
    expect(refusal(() => plot.phase(res, { batch: 3 })).code).toBe('SHAPE');
    st.dispose();
  });
});
