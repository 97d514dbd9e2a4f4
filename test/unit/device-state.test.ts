/**
 * Device-resident states on the CPU backend (src/backends/device-state.ts): the same API as the GPU's, states
 * kept in Float64Arrays. Oracle: chained plain runs (bit for bit), and the refusals every backend shares.
 */
import { describe, expect, it } from 'vitest';
import { compile, DarbouxError, henonHeiles, pendulum } from '../../src/index.js';

const h = henonHeiles().hamiltonian;

async function rejection(promise: Promise<unknown>): Promise<DarbouxError> {
  try {
    await promise;
  } catch (e) {
    expect(e).toBeInstanceOf(DarbouxError);
    return e as DarbouxError;
  }
  throw new Error('expected a rejection');
}

describe('CPU device-resident state', () => {
  it('runs on a state equal chained plain runs bit for bit, and download copies', async () => {
    const st = await compile(h, { method: 'midpoint', dt: 0.05, backend: 'cpu' });
    const batch = 5;
    const q0 = Float64Array.from({ length: 2 * batch }, (_, i) => 0.1 * Math.sin(i));
    const p0 = Float64Array.from({ length: 2 * batch }, (_, i) => 0.1 * Math.cos(i));
    const state = await st.upload(q0, p0, { batch });
    expect(state).toMatchObject({ backend: 'cpu', batch, dof: 2, disposed: false });
    q0[0] = 99; // upload copied
    let q: Float64Array = Float64Array.from({ length: 2 * batch }, (_, i) => 0.1 * Math.sin(i)), p: Float64Array = p0.slice();
    let plainStats;
    for (let k = 0; k < 3; k++) {
      const plain = await st.run({ q0: q, p0: p, steps: 30, batch });
      ({ q, p } = plain);
      plainStats = plain.stats;
      const resident = await st.run({ state, steps: 30 });
      expect(resident.state).toBe(state);
      expect(resident.stats).toEqual(plainStats);
    }
    const down = await st.download(state);
    expect(down.q).toEqual(q);
    expect(down.p).toEqual(p);
    down.q[0] = 42; // download copied
    expect((await st.download(state)).q[0]).toBe(q[0]);
    state.dispose();
    expect((await rejection(st.download(state))).details).toMatchObject({ disposed: true });
    expect((await rejection(st.run({ state, steps: 1 }))).details).toMatchObject({ disposed: true });
    st.dispose();
    expect((await rejection(st.upload([0, 0], [0, 0]))).details).toMatchObject({ disposed: true });
  });

  it('refuses both state and q0/p0, neither, host-only options, another dof and bad uploads', async () => {
    const st = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'cpu' });
    const other = await compile(pendulum().hamiltonian, { method: 'leapfrog', dt: 0.05, backend: 'cpu' });
    const state = await st.upload([0.1, 0], [0, 0.1]);
    const run = st.run as (o: unknown) => Promise<unknown>;
    expect((await rejection(run({ state, q0: [0, 0], p0: [0, 0], steps: 1 }))).code).toBe('OPTION');
    expect((await rejection(run({ steps: 1 }))).code).toBe('OPTION');
    expect((await rejection(run({ state, steps: 1, record: 1 }))).code).toBe('OPTION');
    expect((await rejection(run({ state, steps: 1, onFailure: 'report' }))).code).toBe('OPTION');
    expect(await rejection(run({ state, steps: 4, saveAtSteps: [2] } as never))).toMatchObject({ code: 'OPTION', details: { option: 'saveAtSteps' } });
    expect(await rejection(run({ state, steps: 4, section: { expr: 'x' } } as never))).toMatchObject({ code: 'OPTION', details: { option: 'section' } });
    expect((await rejection(run({ state, steps: -1 }))).code).toBe('INPUT');
    expect((await rejection(other.run({ state, steps: 1 }))).details).toMatchObject({ stateDof: 2, dof: 1 });
    expect((await rejection(st.upload([0.1], [0, 0.1]))).code).toBe('INPUT');
    expect((await rejection(st.upload([0.1, NaN], [0, 0.1]))).code).toBe('INPUT');
    // The plain contract is unchanged: a missing p0 alone is still INPUT naming it.
    expect((await rejection(run({ q0: [0, 0], steps: 1 }))).code).toBe('INPUT');
    other.dispose();
    st.dispose();
  });
});
