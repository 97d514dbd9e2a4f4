/**
 * Progress and cancellation of long runs (CPU): windows of trajectories × steps give the same result, bit for
 * bit, as one call of the generated runner (carried values, time-dependent H, implicit solves, long array
 * states, recording); a timer fires during a long run; an abort rejects with ABORTED/AbortError and the stepper
 * still works; onProgress fractions increase to 1; vjp takes the same options.
 */
import { describe, expect, it } from 'vitest';
import { add, compile, DarbouxError, dot, hamiltonian, henonHeiles, mul, param, phaseSpace, sum, time, type Hamiltonian } from '../../src/index.js';
import { stepProgram } from '../../src/internals.js';
import { compileJsRunner, type JsRunner } from '../../src/codegen/emit-js-stepper.js';
import { specializeParameters } from '../../src/integrators/specialize.js';
import { div, input, mul as mulExpr, powi, sub } from '../../src/ir/build.js';
import type { Expr } from '../../src/ir/expr.js';
import { pairSum } from '../../src/ir/ops/pairs.js';
import { Hamiltonian as HamiltonianClass } from '../../src/system/hamiltonian.js';
import { jitteredLattice } from './particle-fixtures.js';
import { fit } from '../../src/index.js';
import { jsRunners } from '../../src/backends/cpu/runners.js';
import { fixtureHnn, springData } from './train-fixtures.js';

/** A driven anharmonic pair H = |p|²/2 + |q|²/2 + |q|⁴/10 − ε t (Σq + |q|²/20): time-dependent (the force is
 * linear in t, so a time rounded differently shows), with carried forces that depend on t. */
function driven(): Hamiltonian {
  const s = phaseSpace(2);
  const H = add(add(mul(0.5, add(dot(s.p, s.p), dot(s.q, s.q))), mul(mul(dot(s.q, s.q), 0.1), dot(s.q, s.q))), mul(mul(-1, param('eps')), mul(add(sum(s.q), mul(0.05, dot(s.q, s.q))), time())));
  return hamiltonian(s, H, { params: { eps: 0.4 } });
}

/** 30 LJ particles in a periodic 3-D box: dof 90, so the runner holds the state in arrays. */
function ljSystem(): { h: Hamiltonian; q0: Float64Array; p0: Float64Array } {
  const n = 30, L = 4;
  const q = input('q', 'q', [n * 3]), p = input('p', 'p', [n * 3]);
  const lj = (r: Expr) => mulExpr(4, sub(powi(div(1, r), 12), powi(div(1, r), 6)));
  const V = pairSum(q, { n, dim: 3, potential: lj, box: [L, L, L], cutoff: 2, shift: false });
  const { q0, p0 } = jitteredLattice(n, 3, L, 3);
  return { h: new HamiltonianClass({ H: add(mulExpr(0.5, dot(p, p)), V), q, p }), q0, p0 };
}

/** Deterministic batch of states near the origin. */
function states(dof: number, batch: number, scale = 0.3) {
  const wave = (k: number, a: number) => a * Math.sin(1.3 + 2.1 * k);
  return { q0: Float64Array.from({ length: batch * dof }, (_, k) => wave(k, scale)), p0: Float64Array.from({ length: batch * dof }, (_, k) => wave(k + 11, scale)) };
}

/** Runs `runner` once, and again in the given windows (pairs of trajectory and step bounds), and returns both. */
function runBoth(runner: JsRunner, h: Hamiltonian, q0: Float64Array, p0: Float64Array, batch: number, steps: number, dt: number, record: number, windows: (b: number) => number[]) {
  const dof = q0.length / batch;
  const count = record > 0 ? Math.floor(steps / record) : 0;
  const make = () => ({ Q: q0.slice(), P: p0.slice(), RQ: record > 0 ? new Float64Array(count * batch * dof) : null, RP: record > 0 ? new Float64Array(count * batch * dof) : null });
  const one = make(), split = make();
  const t0 = 0.37;
  runner(one.Q, one.P, h.paramValues as Float64Array[], batch, steps, dt, t0, record, one.RQ, one.RP);
  for (let b = 0; b < batch; b++) {
    const cuts = [0, ...windows(b), steps];
    for (let k = 0; k + 1 < cuts.length; k++) runner(split.Q, split.P, h.paramValues as Float64Array[], batch, steps, dt, t0, record, split.RQ, split.RP, b, b + 1, cuts[k]!, cuts[k + 1]!);
  }
  return { one, split };
}

const bits = (a: Float64Array | null) => (a === null ? [] : Array.from(new BigUint64Array(a.buffer, a.byteOffset, a.length)));

describe('chunked CPU runs are bit-identical to one call', () => {
  const cases: [string, () => { h: Hamiltonian; q0: Float64Array; p0: Float64Array; batch: number }, string, number][] = [
    ['Hénon–Heiles', () => ({ h: henonHeiles().hamiltonian, ...states(2, 3), batch: 3 }), 'leapfrog', 0.01],
    ['Hénon–Heiles', () => ({ h: henonHeiles().hamiltonian, ...states(2, 3), batch: 3 }), 'yoshida4', 0.01],
    ['driven (time-dependent, carried)', () => ({ h: driven(), ...states(2, 3), batch: 3 }), 'leapfrog', 0.013],
    ['driven (time-dependent)', () => ({ h: driven(), ...states(2, 3), batch: 3 }), 'rk4', 0.013],
    ['driven (implicit)', () => ({ h: driven(), ...states(2, 2), batch: 2 }), 'midpoint', 0.013],
    ['30 LJ particles (array state)', () => ({ ...ljSystem(), batch: 1 }), 'leapfrog', 0.002],
  ];
  for (const [name, make, method, dt] of cases) {
    it(`${name}, ${method}: windows of steps, with recording`, () => {
      const { h, q0, p0, batch } = make();
      const runner = compileJsRunner(specializeParameters(stepProgram(h, method)));
      const steps = 97;
      // Windows of irregular lengths, different per trajectory: 1-step windows (every window start is a chance
      // for the time of a carried value to round differently), and windows across record points.
      const { one, split } = runBoth(runner, h, q0, p0, batch, steps, dt, 4, (b) => [...Array.from({ length: 40 }, (_, k) => k + 1), 45 + b, 64 + 3 * b, 80]);
      expect(bits(split.Q)).toEqual(bits(one.Q));
      expect(bits(split.P)).toEqual(bits(one.P));
      expect(bits(split.RQ)).toEqual(bits(one.RQ));
      expect(bits(split.RP)).toEqual(bits(one.RP));
      // The run moved (the comparison is not between two untouched copies).
      expect(Math.abs(one.Q[0]! - q0[0]!)).toBeGreaterThan(1e-6);
    });
  }

  for (const source of ['reverse', 'store'] as const) {
    it(`backward runner (${source}, time-dependent, carried): windows in trajectory-major order equal one call, gradient included`, () => {
      const h = driven();
      const backward = jsRunners(stepProgram(h, 'leapfrog')).backward(source); // eps stays a parameter: G holds its gradient
      const batch = 2, steps = 60, dt = 0.013, t0 = 0.37, n = 2;
      const { q0, p0 } = states(n, batch);
      const stored = source === 'store' ? { q: Float64Array.from({ length: steps * batch * n }, (_, k) => 0.3 * Math.sin(k)), p: Float64Array.from({ length: steps * batch * n }, (_, k) => 0.3 * Math.cos(k)) } : null;
      const make = () => ({ Q: q0.slice(), P: p0.slice(), LQ: Float64Array.of(1, 0, 0.5, 1), LP: Float64Array.of(0, 1, 1, -0.5), G: new Float64Array(1) });
      const one = make(), split = make();
      backward(one.Q, one.P, one.LQ, one.LP, one.G, h.paramValues, batch, steps, dt, t0, stored?.q ?? null, stored?.p ?? null);
      for (let b = 0; b < batch; b++) {
        const cuts = [steps, ...Array.from({ length: 30 }, (_, k) => steps - 1 - k), 20 + b, 0];
        for (let k = 0; k + 1 < cuts.length; k++) backward(split.Q, split.P, split.LQ, split.LP, split.G, h.paramValues, batch, steps, dt, t0, stored?.q ?? null, stored?.p ?? null, b, b + 1, cuts[k + 1]!, cuts[k]!);
      }
      for (const key of ['Q', 'P', 'LQ', 'LP', 'G'] as const) expect(bits(split[key]), key).toEqual(bits(one[key]));
      expect(Math.abs(one.G[0]!)).toBeGreaterThan(1e-6);
    });
  }

  it('st.run of a long run (chunked, timers firing) equals one call of the runner, record included', async () => {
    const h = driven();
    const st = await compile(h, { method: 'leapfrog', dt: 0.001, backend: 'cpu' });
    const runner = compileJsRunner(specializeParameters(stepProgram(h, 'leapfrog')));
    const batch = 2, steps = 6_000_000; // ≥ 40 ms even on a fast machine: the run yields to the timer
    const { q0, p0 } = states(2, batch);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const got = await st.run({ q0, p0, steps, batch, t0: 0.37, record: 500_000 });
    clearInterval(timer);
    const { one } = runBoth(runner, h, q0, p0, batch, steps, 0.001, 500_000, () => []);
    expect(bits(got.q)).toEqual(bits(one.Q));
    expect(bits(got.p)).toEqual(bits(one.P));
    expect(bits(got.record!.q)).toEqual(bits(one.RQ));
    expect(bits(got.record!.p)).toEqual(bits(one.RP));
    expect(ticks).toBeGreaterThan(0);
  });
});

describe('progress and cancellation (CPU)', () => {
  it('a timer fires during a long run (a dispose from a timer runs before the run ends)', async () => {
    const st = await compile(henonHeiles().hamiltonian, { method: 'leapfrog', dt: 0.01, backend: 'cpu' });
    const { q0, p0 } = states(2, 1, 0.1);
    const ticks: number[] = [];
    const start = performance.now();
    const timer = setInterval(() => ticks.push(performance.now() - start), 5);
    let disposedAt = Infinity;
    setTimeout(() => {
      st.dispose();
      disposedAt = performance.now() - start;
    }, 10);
    const run = st.run({ q0, p0, steps: 20_000_000 });
    let finished = -1;
    await run.then(() => (finished = performance.now() - start), () => (finished = performance.now() - start));
    clearInterval(timer);
    // Ticks arrive while the run is going, not only after it; so does the dispose.
    expect(ticks.filter((t) => t < finished - 20).length).toBeGreaterThan(2);
    expect(disposedAt).toBeLessThan(finished);
    await expect(st.run({ q0, p0, steps: 1 })).rejects.toBeInstanceOf(DarbouxError);
  });

  it('abort mid-run rejects with ABORTED (name AbortError) and leaves the stepper usable', async () => {
    const st = await compile(henonHeiles().hamiltonian, { method: 'leapfrog', dt: 0.01, backend: 'cpu' });
    const { q0, p0 } = states(2, 2, 0.1);
    const controller = new AbortController();
    const fractions: number[] = [];
    setTimeout(() => controller.abort('enough'), 30);
    const error = await st.run({ q0, p0, steps: 200_000_000, batch: 2, signal: controller.signal, onProgress: (p) => fractions.push(p.fraction) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DarbouxError);
    expect((error as DarbouxError).code).toBe('ABORTED');
    expect((error as DarbouxError).name).toBe('AbortError');
    expect((error as DarbouxError).details.reason).toBe('enough');
    expect(fractions.at(-1)!).toBeLessThan(1);
    // An already aborted signal rejects at once; the stepper still runs afterwards, to the same result as a fresh one.
    await expect(st.run({ q0, p0, steps: 10, batch: 2, signal: controller.signal })).rejects.toMatchObject({ code: 'ABORTED' });
    const after = await st.run({ q0, p0, steps: 1000, batch: 2 });
    const fresh = await (await compile(henonHeiles().hamiltonian, { method: 'leapfrog', dt: 0.01, backend: 'cpu' })).run({ q0, p0, steps: 1000, batch: 2 });
    expect(bits(after.q)).toEqual(bits(fresh.q));
  });

  it('onProgress fractions increase strictly to 1, with stepsDone = fraction·steps', async () => {
    const st = await compile(henonHeiles().hamiltonian, { method: 'leapfrog', dt: 0.01, backend: 'cpu' });
    const batch = 4, steps = 3_000_000;
    const { q0, p0 } = states(2, batch, 0.1);
    const reports: { stepsDone: number; steps: number; fraction: number }[] = [];
    await st.run({ q0, p0, steps, batch, onProgress: (p) => reports.push(p) });
    expect(reports.length).toBeGreaterThan(2);
    for (let k = 1; k < reports.length; k++) expect(reports[k]!.fraction).toBeGreaterThan(reports[k - 1]!.fraction);
    expect(reports.at(-1)).toEqual({ stepsDone: steps, steps, fraction: 1 });
    for (const r of reports) {
      expect(r.steps).toBe(steps);
      expect(r.stepsDone).toBe(Math.floor(r.fraction * steps));
    }
  });

  it('bad signal or onProgress values are OPTION errors', async () => {
    const st = await compile(henonHeiles().hamiltonian, { method: 'leapfrog', dt: 0.01, backend: 'cpu' });
    const { q0, p0 } = states(2, 1);
    await expect(st.run({ q0, p0, steps: 1, signal: {} as AbortSignal })).rejects.toMatchObject({ code: 'OPTION' });
    await expect(st.run({ q0, p0, steps: 1, onProgress: 3 as never })).rejects.toMatchObject({ code: 'OPTION' });
  });

  it('vjp: progress to 1, abort mid-run, the same gradient as without the options', async () => {
    const st = await compile(henonHeiles().hamiltonian, { method: 'leapfrog', dt: 0.01, backend: 'cpu' });
    const { q0, p0 } = states(2, 1, 0.1);
    const base = { q0, p0, steps: 400, dq: [1, 0], dp: [0, 1] };
    const plain = await st.vjp(base);
    for (const memory of ['reverse', 'checkpoint', 'store'] as const) {
      const fractions: number[] = [];
      const observed = await st.vjp({ ...base, memory, onProgress: (p) => fractions.push(p.fraction) });
      expect(fractions.at(-1)).toBe(1);
      for (let k = 1; k < fractions.length; k++) expect(fractions[k]!).toBeGreaterThan(fractions[k - 1]!);
      const reference = await st.vjp({ ...base, memory });
      expect(bits(observed.dq0)).toEqual(bits(reference.dq0));
      expect(bits(observed.dp0)).toEqual(bits(reference.dp0));
      expect(Math.abs(observed.dq0[0]! - plain.dq0[0]!)).toBeLessThan(1e-9);
    }
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    const long = { q0, p0, steps: 30_000_000, dq: [1, 0], dp: [0, 1], signal: controller.signal };
    // Two long vjps, windowed differently (window sizes follow the measured time), give the same bits.
    const mid = { q0, p0, steps: 3_000_000, dq: [1, 0], dp: [0, 1] };
    const chunked = await st.vjp({ ...mid, onProgress: () => {} });
    const again2 = await st.vjp(mid);
    expect(bits(chunked.dq0)).toEqual(bits(again2.dq0));
    await expect(st.vjp(long)).rejects.toMatchObject({ code: 'ABORTED', name: 'AbortError' });
    const again = await st.vjp(base);
    expect(Array.from(again.dq0)).toEqual(Array.from(plain.dq0));
  });
});

describe('fit: signal and onProgress', () => {
  const data = springData(6, 20);
  const options = { loss: 'derivative' as const, steps: 3000, lr: 1e-2, batchSize: 40, seed: 3 };

  it('reports optimiser steps rising to 1 and gives the same result as without the options', async () => {
    const reports: { stepsDone: number; steps: number; fraction: number }[] = [];
    const observed = await fit(fixtureHnn(1, 16), data, { ...options, signal: new AbortController().signal, onProgress: (p) => reports.push(p) });
    const plain = await fit(fixtureHnn(1, 16), data, options);
    expect(observed.history).toEqual(plain.history);
    expect(observed.params).toEqual(plain.params);
    expect(reports.at(-1)).toEqual({ stepsDone: 3000, steps: 3000, fraction: 1 });
    expect(reports.length).toBeGreaterThan(1);
    for (let k = 1; k < reports.length; k++) expect(reports[k]!.stepsDone).toBeGreaterThan(reports[k - 1]!.stepsDone);
  });

  it('abort rejects with ABORTED, and an aborted signal before the start does no work', async () => {
    const controller = new AbortController();
    let last = 0;
    setTimeout(() => controller.abort(), 30);
    const error = await fit(fixtureHnn(1, 16), data, { ...options, steps: 1_000_000, signal: controller.signal, onProgress: (p) => (last = p.stepsDone) }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ABORTED', name: 'AbortError' });
    expect(last).toBeLessThan(1_000_000);
    await expect(fit(fixtureHnn(1, 16), data, { ...options, signal: controller.signal })).rejects.toMatchObject({ code: 'ABORTED' });
  });
});
