import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  add, compile, coupledOscillator, DarbouxError, dnls, dot, doublePendulum, doubleWell, Hamiltonian, henonHeiles,
  kepler, keplerPolar, mul, symplecticDefect, type Expr, type Model, type RunResult,
} from '../../src/index.js';
import { compileJs, stepProgram } from '../../src/internals.js';
import { cpuStepper } from '../../src/backends/cpu/stepper.js';
import { arbitraryHamiltonian, arbitrarySeparableHamiltonian } from './arbitrary.js';

/** Every method except the rk4 control is symplectic; the first six need a separable H. */
const EXPLICIT_SYMPLECTIC = ['leapfrog', 'symplecticEulerA', 'symplecticEulerB', 'yoshida4', 'suzuki6', 'yoshida8'];
const IMPLICIT = ['midpoint', 'gauss4', 'gauss6'];
const SYMMETRIC = ['leapfrog', 'yoshida4', 'suzuki6', 'yoshida8', 'midpoint', 'gauss4', 'gauss6'];

/** A double spread evenly over [−1, 1] (fc.double favours ±0 and subnormals, where many flows are trivial). */
const unit = fc.integer({ min: 0, max: 1 << 30 }).map((k) => -1 + (2 * k) / (1 << 30));
const point = fc.array(unit, { minLength: 4, maxLength: 4 });

/**
 * The random Hamiltonian plus a fixed harmonic term 2|q|² (ω = 2). Without it the generators now and then yield
 * a V that is linear or constant in q, whose flow has a nilpotent linearisation — and RK4 is then exactly
 * symplectic (its stability polynomial reproduces exp(hA) when A² = 0), so the control could not fail. With it,
 * every sample's linearised flow contains a genuine rotation, and RK4's defect is ≳ (ωh)⁶/72 ≈ 1.4e-8 at h = 0.05.
 */
const confined = ({ q, p, H }: { q: Expr; p: Expr; H: Expr }) => new Hamiltonian({ H: add(H, mul(2, dot(q, q))), q, p });

/** max |a − b| over the state. */
const distance = (a: { q: ArrayLike<number>; p: ArrayLike<number> }, b: { q: ArrayLike<number>; p: ArrayLike<number> }) => {
  let d = 0;
  for (let i = 0; i < a.q.length; i++) d = Math.max(d, Math.abs(a.q[i]! - b.q[i]!), Math.abs(a.p[i]! - b.p[i]!));
  return d;
};

/** An f64 evaluator of a model invariant (an Expr in q, p and possibly the parameters). */
const evaluator = (h: Hamiltonian, expr: Expr) => {
  const f = compileJs([h.q, h.p, ...h.params], [expr]);
  const out = [new Float64Array(1)];
  return (q: ArrayLike<number>, p: ArrayLike<number>) => {
    f([q, p, ...h.paramValues], out);
    return out[0]![0]!;
  };
};

/** Runs a model from its initial state. */
const runModel = async (model: Model, method: string, dt: number, steps: number, record?: number): Promise<RunResult> => {
  const st = await compile(model.hamiltonian, { method, dt, backend: 'cpu' });
  const res = await st.run({ q0: model.q0, p0: model.p0, steps, record });
  st.dispose();
  return res;
};

describe('symplecticity of every step (exact Jacobians, f64)', () => {
  const dt = 0.05;
  const defects = async (h: Hamiltonian, methods: readonly string[], z: number[]) => {
    const out: Record<string, number> = {};
    for (const method of methods) {
      const st = await compile(h, { method, dt, backend: 'cpu' });
      out[method] = symplecticDefect(st.jacobian(z.slice(0, 2), z.slice(2)));
      st.dispose();
    }
    return out;
  };

  it('random separable H (dof 2): ‖JᵀΩJ − Ω‖ < 1e-11 for every symplectic method, > 1e-11 for rk4', async () => {
    await fc.assert(
      fc.asyncProperty(arbitrarySeparableHamiltonian(2), point, async (sample, z) => {
        const h = confined(sample);
        expect(h.isSeparable).toBe(true);
        const d = await defects(h, [...EXPLICIT_SYMPLECTIC, ...IMPLICIT, 'rk4'], z);
        for (const method of [...EXPLICIT_SYMPLECTIC, ...IMPLICIT]) expect(d[method], method).toBeLessThan(1e-11);
        expect(d.rk4).toBeGreaterThan(1e-11);
      }),
      { numRuns: 30 },
    );
  });

  it('random non-separable H (dof 2): the same for midpoint, gauss4, gauss6; rk4 fails it', async () => {
    await fc.assert(
      fc.asyncProperty(arbitraryHamiltonian(2), point, async (sample, z) => {
        const h = confined(sample);
        expect(h.isSeparable).toBe(false);
        const d = await defects(h, [...IMPLICIT, 'rk4'], z);
        for (const method of IMPLICIT) expect(d[method], method).toBeLessThan(1e-11);
        expect(d.rk4).toBeGreaterThan(1e-11);
      }),
      { numRuns: 30 },
    );
  });
});

describe('time reversibility: Φ₋ₕ ∘ Φₕ = id for the symmetric methods', () => {
  // compile() refuses dt ≤ 0, so the backward stepper is built from the same step program with cpuStepper.
  const roundTrip = async (model: Model, method: string, dt: number, steps: number) => {
    const program = stepProgram(model.hamiltonian, method);
    const forward = cpuStepper(program, dt), backward = cpuStepper(program, -dt);
    const there = await forward.run({ q0: model.q0, p0: model.p0, steps });
    const back = await backward.run({ q0: there.q, p0: there.p, steps });
    return { moved: distance(there, { q: model.q0, p: model.p0 }), error: distance(back, { q: model.q0, p: model.p0 }) };
  };

  it.each(SYMMETRIC)('%s on Hénon–Heiles (1 and 100 steps)', async (method) => {
    for (const steps of [1, 100]) {
      const { moved, error } = await roundTrip(henonHeiles(), method, 0.1, steps);
      expect(moved).toBeGreaterThan(1e-3);
      expect(error).toBeLessThan(1e-12);
    }
  });

  it.each(IMPLICIT)('%s on non-separable models: double pendulum, magnetic trap, polar Kepler', async (method) => {
    for (const model of [doublePendulum(), coupledOscillator(), keplerPolar()]) {
      for (const steps of [1, 100]) expect((await roundTrip(model, method, 2 * model.dt, steps)).error).toBeLessThan(1e-12);
    }
  });

  it('the check tells the difference: symplectic Euler and rk4 are not symmetric', async () => {
    expect((await roundTrip(henonHeiles(), 'symplecticEulerA', 0.1, 1)).error).toBeGreaterThan(1e-4);
    expect((await roundTrip(henonHeiles(), 'rk4', 0.1, 1)).error).toBeGreaterThan(1e-10);
    expect((await roundTrip(doublePendulum(), 'rk4', 0.02, 1)).error).toBeGreaterThan(1e-10);
  });
});

describe('measured convergence order at t = 1', () => {
  /** log₂(err(dt)/err(dt/2)) against a gauss6 reference at dt = 1/1000 (self-consistent to ~1e-14). */
  const measure = async (model: Model, method: string, n: number) => {
    const reference = await runModel(model, 'gauss6', 1 / 1000, 1000);
    const coarse = distance(await runModel(model, method, 1 / n, n), reference);
    const fine = distance(await runModel(model, method, 1 / (2 * n), 2 * n), reference);
    return { coarse, fine, order: Math.log2(coarse / fine) };
  };

  // Step counts N (dt = 1/N, then 1/(2N)) in the asymptotic range, with errors well above rounding (≥ 1e-11).
  const kepler03: [string, number, number][] = [
    ['symplecticEulerA', 1, 64],
    ['symplecticEulerB', 1, 64],
    ['leapfrog', 2, 64],
    ['midpoint', 2, 64],
    ['yoshida4', 4, 32],
    ['gauss4', 4, 32],
    ['rk4', 4, 32],
    ['suzuki6', 6, 8],
    ['gauss6', 6, 8],
    ['yoshida8', 8, 16],
  ];
  it.each(kepler03)('%s on Kepler (e = 0.3): order %i', async (method, order, n) => {
    const { fine, order: measured } = await measure(kepler({ eccentricity: 0.3 }), method, n);
    expect(fine).toBeGreaterThan(1e-11);
    expect(Math.abs(measured - order)).toBeLessThan(0.3);
  });

  const pendulum2: [string, number, number][] = [
    ['midpoint', 2, 128],
    ['gauss4', 4, 64],
    ['gauss6', 6, 32],
  ];
  it.each(pendulum2)('%s on the double pendulum (non-separable): order %i', async (method, order, n) => {
    const { fine, order: measured } = await measure(doublePendulum(), method, n);
    expect(fine).toBeGreaterThan(1e-11);
    expect(Math.abs(measured - order)).toBeLessThan(0.3);
  });
});

describe('long runs: bounded energy error for symplectic methods, drift for rk4 (10⁵ steps)', () => {
  /** Max |H − H₀| over the first and the second half of the run (every 10th state). */
  const halves = async (model: Model, method: string, dt: number) => {
    const h = model.hamiltonian, n = h.dof;
    const e0 = h.energy(model.q0, model.p0);
    const rec = (await runModel(model, method, dt, 100_000, 10)).record!;
    let first = 0, second = 0;
    for (let k = 0; k < rec.count; k++) {
      const err = Math.abs(h.energy(rec.q.subarray(n * k, n * k + n), rec.p.subarray(n * k, n * k + n)) - e0);
      if (k < rec.count / 2) first = Math.max(first, err);
      else second = Math.max(second, err);
    }
    return { first, second };
  };
  const cases: [string, () => Model, number][] = [
    ['Kepler (e = 0.6)', () => kepler({ eccentricity: 0.6 }), 0.01],
    ['Hénon–Heiles', () => henonHeiles(), 0.05],
  ];

  describe.each(cases)('%s', (_, make, dt) => {
    it.each(['leapfrog', 'yoshida4', 'midpoint', 'gauss4'])('%s: max over the 2nd half ≤ 1.5 × max over the 1st', async (method) => {
      const { first, second } = await halves(make(), method, dt);
      expect(first).toBeGreaterThan(0);
      expect(second).toBeLessThanOrEqual(1.5 * first);
    });
    it('rk4 fails the same check (linear drift)', async () => {
      const { first, second } = await halves(make(), 'rk4', dt);
      expect(second).toBeGreaterThan(1.5 * first);
    });
  });
});

describe('conserved quantities of the models', () => {
  it('polar Kepler: p_φ (a linear invariant) is conserved by gauss4 and midpoint to 1e-13', async () => {
    const model = keplerPolar({ eccentricity: 0.6 });
    const L = evaluator(model.hamiltonian, model.invariants.angularMomentum!);
    const L0 = L(model.q0, model.p0);
    expect(L0).toBeCloseTo(Math.sqrt(1 - 0.36), 15);
    for (const method of ['gauss4', 'midpoint']) {
      const res = await runModel(model, method, 0.01, 10_000);
      expect(Math.abs(L(res.q, res.p) - L0)).toBeLessThan(1e-13);
      expect(res.q[1]).toBeGreaterThan(2 * Math.PI); // it did go around (t = 100 ≈ 16 orbits)
    }
  });

  it('polar Kepler follows the same orbit as Cartesian Kepler', async () => {
    const polar = await runModel(keplerPolar({ eccentricity: 0.3 }), 'gauss6', 0.01, 300);
    const cartesian = await runModel(kepler({ eccentricity: 0.3 }), 'gauss6', 0.01, 300);
    const [r, phi] = [polar.q[0]!, polar.q[1]!];
    expect(Math.abs(r * Math.cos(phi) - cartesian.q[0]!)).toBeLessThan(1e-10);
    expect(Math.abs(r * Math.sin(phi) - cartesian.q[1]!)).toBeLessThan(1e-10);
  });

  it('magnetic trap: the canonical angular momentum (a quadratic invariant) is conserved by midpoint to 1e-12 over 10⁴ steps; rk4 drifts', async () => {
    const model = coupledOscillator({ B: 2, omega: 1 });
    const L = evaluator(model.hamiltonian, model.invariants.angularMomentum!);
    const L0 = L(model.q0, model.p0);
    const mid = await runModel(model, 'midpoint', model.dt, 10_000);
    expect(Math.abs(L(mid.q, mid.p) - L0)).toBeLessThan(1e-12);
    const g4 = await runModel(model, 'gauss4', model.dt, 10_000);
    expect(Math.abs(L(g4.q, g4.p) - L0)).toBeLessThan(1e-12);
    const rk = await runModel(model, 'rk4', model.dt, 10_000);
    expect(Math.abs(L(rk.q, rk.p) - L0)).toBeGreaterThan(1e-9);
  });

  it('DNLS ring (a non-separable lattice): the norm Σ|ψ|² (quadratic invariant) is kept to rounding by midpoint and gauss4, not by rk4; energy stays bounded', async () => {
    const model = dnls({ sites: 24 });
    const h = model.hamiltonian;
    expect(h.isSeparable).toBe(false);
    const norm = evaluator(h, model.invariants.norm!);
    // The norm written out independently: Σ (qₙ² + pₙ²)/2.
    const N0 = model.q0.reduce((sum, q, n) => sum + (q * q + model.p0[n]! ** 2) / 2, 0);
    expect(norm(model.q0, model.p0)).toBeCloseTo(N0, 14);
    const E0 = h.energy(model.q0, model.p0);
    for (const method of ['midpoint', 'gauss4']) {
      const res = await runModel(model, method, model.dt, 2_000);
      expect(Math.abs(norm(res.q, res.p) - N0) / N0).toBeLessThan(1e-13);
      expect(Math.abs(h.energy(res.q, res.p) - E0) / Math.abs(E0)).toBeLessThan(1e-3);
    }
    // rk4 (not symplectic) loses the norm; at 5× the step over the same time its error is far above rounding,
    // while gauss4 at that step still keeps it to rounding.
    const rk = await runModel(model, 'rk4', 5 * model.dt, 400);
    expect(Math.abs(norm(rk.q, rk.p) - N0) / N0).toBeGreaterThan(1e-10);
    const coarse = await runModel(model, 'gauss4', 5 * model.dt, 400);
    expect(Math.abs(norm(coarse.q, coarse.p) - N0) / N0).toBeLessThan(1e-13);
    // The equations of motion match the DNLS form iψ̇ₙ = −C(ψₙ₊₁ + ψₙ₋₁ − 2ψₙ) − γ|ψₙ|²ψₙ at the initial state.
    const { dq, dp } = h.gradient(model.q0, model.p0);
    const sites = 24, q = model.q0, pp = model.p0;
    for (let n = 0; n < sites; n++) {
      const l = (n + sites - 1) % sites, r = (n + 1) % sites;
      const rho = (q[n]! ** 2 + pp[n]! ** 2) / 2;
      // ψ = (q + ip)/√2: q̇ = ∂H/∂p = −(p₊ + p₋ − 2p) − γ|ψ|²p, ṗ = −∂H/∂q = (q₊ + q₋ − 2q) + γ|ψ|²q.
      expect(dp[n]).toBeCloseTo(-(pp[r]! + pp[l]! - 2 * pp[n]!) - rho * pp[n]!, 12);
      expect(-dq[n]!).toBeCloseTo(q[r]! + q[l]! - 2 * q[n]! + rho * q[n]!, 12);
    }
  });

  it('Cartesian Kepler: angular momentum conserved by gauss4 to 1e-12', async () => {
    const model = kepler({ eccentricity: 0.6 });
    const L = evaluator(model.hamiltonian, model.invariants.angularMomentum!);
    const res = await runModel(model, 'gauss4', 0.01, 10_000);
    expect(Math.abs(L(res.q, res.p) - L(model.q0, model.p0))).toBeLessThan(1e-12);
  });

  it('double pendulum: small oscillations have the normal-mode frequency √(g(2 − √2)) (m = l = 1)', async () => {
    const model = doublePendulum();
    const eps = 1e-4, omega = Math.sqrt(9.81 * (2 - Math.SQRT2));
    const dt = 1e-3, steps = Math.round((2 * Math.PI) / omega / dt);
    const st = await compile(model.hamiltonian, { method: 'gauss4', dt, backend: 'cpu' });
    const res = await st.run({ q0: [eps, Math.SQRT2 * eps], p0: [0, 0], steps }); // the slow mode: θ₂ = √2 θ₁
    expect(Math.abs(res.q[0]! / eps - 1)).toBeLessThan(1e-3);
    expect(Math.abs(res.q[1]! / eps - Math.SQRT2)).toBeLessThan(1e-3);
  });

  it('double well: leapfrog swings through both wells with bounded energy error', async () => {
    const model = doubleWell();
    const h = model.hamiltonian;
    expect(h.energy(model.q0, model.p0)).toBeCloseTo(9 / 64, 15);
    const rec = (await runModel(model, 'leapfrog', model.dt, 10_000, 1)).record!;
    let minQ = Infinity, maxErr = 0;
    for (let k = 0; k < rec.count; k++) {
      minQ = Math.min(minQ, rec.q[k]!);
      maxErr = Math.max(maxErr, Math.abs(h.energy([rec.q[k]!], [rec.p[k]!]) - 9 / 64));
    }
    expect(minQ).toBeLessThan(-1.4);
    expect(maxErr).toBeLessThan(1e-2);
  });

  it('every model has finite energy and invariants at its initial state', () => {
    for (const model of [doubleWell(), coupledOscillator(), doublePendulum(), keplerPolar()]) {
      const h = model.hamiltonian;
      expect(model.q0.length, model.name).toBe(h.dof);
      expect(model.p0.length, model.name).toBe(h.dof);
      expect(Number.isFinite(h.energy(model.q0, model.p0)), model.name).toBe(true);
      for (const expr of Object.values(model.invariants)) expect(Number.isFinite(evaluator(h, expr)(model.q0, model.p0))).toBe(true);
    }
  });
});

describe('implicit solves: failures and statistics', () => {
  it('maxIterations: 2 makes midpoint fail with NO_CONVERGENCE naming step, trajectory, residual and iterations', async () => {
    const model = kepler({ eccentricity: 0.6 });
    const st = await compile(model.hamiltonian, { method: 'midpoint', dt: 0.01, backend: 'cpu', maxIterations: 2 });
    const err = await st.run({ q0: model.q0, p0: model.p0, steps: 10 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DarbouxError);
    const e = err as DarbouxError;
    expect(e.code).toBe('NO_CONVERGENCE');
    expect(e.message).toMatch(/^midpoint: .*at step 1 of trajectory 0 \(residual \d\.\d+e[-+]\d+ after 2 iterations\)/);
    expect(e.message).toMatch(/reduce dt or raise maxIterations/);
    expect(e.details).toMatchObject({ step: 0, trajectory: 0, iterations: 2 });
    expect(e.details.residual).toBeGreaterThan(0);
  });

  it('reports iteration statistics for implicit methods, none for explicit ones', async () => {
    const model = kepler({ eccentricity: 0.6 });
    for (const method of IMPLICIT) {
      const res = await runModel(model, method, 0.01, 1000);
      const it = res.stats!.iterations;
      expect(it.mean, method).toBeGreaterThan(3);
      expect(it.mean, method).toBeLessThan(30);
      expect(it.max, method).toBeGreaterThanOrEqual(Math.ceil(it.mean));
      expect(it.max, method).toBeLessThanOrEqual(100);
    }
    for (const method of [...EXPLICIT_SYMPLECTIC, 'rk4']) expect((await runModel(model, method, 0.01, 10)).stats, method).toBeUndefined();
  });
});

describe('non-separable models', () => {
  const nonSeparable = [coupledOscillator, doublePendulum, keplerPolar];
  it.each(nonSeparable.map((make) => [make().name, make] as const))('%s refuses leapfrog and yoshida4, runs with midpoint', async (_, make) => {
    const model = make();
    expect(model.hamiltonian.isSeparable).toBe(false);
    for (const method of ['leapfrog', 'yoshida4']) {
      const err = await compile(model.hamiltonian, { method, dt: model.dt, backend: 'cpu' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DarbouxError);
      expect((err as DarbouxError).code).toBe('NOT_SEPARABLE');
      expect((err as DarbouxError).message).toMatch(/midpoint/);
    }
    const h = model.hamiltonian;
    const res = await runModel(model, 'midpoint', model.dt, 1000);
    expect(Math.abs(h.energy(res.q, res.p) - h.energy(model.q0, model.p0))).toBeLessThan(1e-2 * Math.max(1, Math.abs(h.energy(model.q0, model.p0))));
  });

  it('the double well is separable and runs with leapfrog', async () => {
    expect(doubleWell().hamiltonian.isSeparable).toBe(true);
    const res = await runModel(doubleWell(), 'leapfrog', 0.05, 100);
    expect(Number.isFinite(res.q[0])).toBe(true);
  });
});
