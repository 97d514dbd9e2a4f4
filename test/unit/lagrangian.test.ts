/**
 * Lagrangian systems: definition (formula and DSL), the Euler–Lagrange accelerations against closed forms and
 * finite differences, momenta and energy, the SINGULAR refusal, Noether charges and the symmetry check, the
 * Legendre transform, and the bad-input list.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  add, configurationSpace, cos, DarbouxError, dot, lagrangian, mul, noetherCharge, param, sqrt, sub, time, type Lagrangian,
} from '../../src/index.js';
import { arbitraryState3, doublePendulumLagrangian, keplerLagrangian, rotationInvariantLagrangian, translationInvariantLagrangian } from './lagrangian-fixtures.js';

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.max(...Array.from(a, (x, i) => Math.abs(x - b[i]!)));

/** The DarbouxError a function throws (fails the test when it throws nothing or something else). */
function thrown(f: () => unknown): DarbouxError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(DarbouxError);
    return e as DarbouxError;
  }
  throw new Error('expected a DarbouxError');
}

describe('lagrangian: definition', () => {
  it('keeps the contract of the issue (dof, value, accelerations, momenta, energy, charges)', () => {
    const L = lagrangian({ q: ['x', 'y', 'z'], v: ['vx', 'vy', 'vz'], L: '(vx^2+vy^2+vz^2)/2 + 1/sqrt(x^2+y^2+z^2)', params: {} });
    const q = [1, 2, 2], v = [0.3, -0.2, 0.5];
    expect(L.dof).toBe(3);
    expect(L.value(q, v)).toBeCloseTo((0.09 + 0.04 + 0.25) / 2 + 1 / 3, 15);
    const a = L.accelerations(q, v);
    expect(a).toBeInstanceOf(Float64Array);
    expect(maxDiff(a, q.map((x) => -x / 27))).toBeLessThan(1e-16);
    expect(Array.from(L.momenta(q, v))).toEqual(v);
    expect(L.energy(q, v)).toBeCloseTo((0.09 + 0.04 + 0.25) / 2 - 1 / 3, 15);
    expect(L.charge({ rotation: [0, 1] })(q, v)).toBeCloseTo(1 * -0.2 - 2 * 0.3, 15);
    expect(L.charge({ translation: [1, 0, 0] }, { check: false })(q, v)).toBe(0.3);
  });

  it('builds the same Lagrangian from the DSL as from the formula', () => {
    const S = configurationSpace(2);
    const [a, b] = S.qs;
    const fromDsl = lagrangian(S, add(mul(0.5, dot(S.v, S.v)), mul(param('g'), cos(sub(a!, b!)))), { params: { g: 2 } });
    const fromFormula = lagrangian({ q: ['a', 'b'], v: ['va', 'vb'], L: '(va^2+vb^2)/2 + g*cos(a-b)', params: { g: 2 } });
    const q = [0.3, -0.4], v = [0.7, 0.1];
    expect(fromDsl.value(q, v)).toBeCloseTo(fromFormula.value(q, v), 14);
    expect(maxDiff(fromDsl.accelerations(q, v), fromFormula.accelerations(q, v))).toBeLessThan(1e-15);
  });

  it('allows time-dependent L (t in formulas, time() in the DSL), including ∂²L/∂v∂t', () => {
    // L = vx²/2 − (1 + t)x²/2: ẍ = −(1 + t)x.
    const driven = lagrangian({ q: ['x'], v: ['vx'], L: 'vx^2/2 - (1+t)*x^2/2' });
    expect(driven.accelerations([0.5], [0.2], 2)[0]).toBeCloseTo(-1.5, 15);
    // L = vx²/2 + t·x·vx: d/dt(vx + t x) = t vx, so ẍ = −x (the ∂²L/∂v∂t term is what cancels x).
    const S = configurationSpace(1);
    const gauge = lagrangian(S, add(mul(0.5, dot(S.v, S.v)), mul(time(), mul(S.qs[0]!, S.vs[0]!))));
    expect(gauge.accelerations([0.7], [0.3], 1.5)[0]).toBeCloseTo(-0.7, 15);
  });
});

describe('lagrangian: Euler–Lagrange accelerations', () => {
  it('match the closed forms of Kepler and the pendulum', () => {
    const K = keplerLagrangian(2);
    const q = [0.6, -0.8], r3 = 1;
    expect(maxDiff(K.accelerations(q, [0.1, 0.4]), q.map((x) => (-2 * x) / r3))).toBeLessThan(1e-15);
    const P = lagrangian({ q: ['th'], v: ['w'], L: 'm*l^2*w^2/2 + m*g*l*cos(th)', params: { m: 1.3, l: 0.7, g: 9.81 } });
    expect(P.accelerations([0.4], [1.1])[0]).toBeCloseTo((-9.81 / 0.7) * Math.sin(0.4), 13);
  });

  it('match the closed form of a relativistic particle (non-constant Hessian mγ(I + γ²vvᵀ))', () => {
    // L = −m√(1 − |v|²) − k|q|²/2: F = −kq and a = (F − (v·F)v)/(γm).
    const R = lagrangian({ q: ['x', 'y'], v: ['vx', 'vy'], L: '-m*sqrt(1 - vx^2 - vy^2) - k*(x^2+y^2)/2', params: { m: 1.5, k: 2 } });
    const q = [0.3, -0.7], v = [0.6, 0.5];
    const F = q.map((x) => -2 * x), vF = v[0]! * F[0]! + v[1]! * F[1]!, gamma = 1 / Math.sqrt(1 - 0.61);
    const expected = F.map((f, i) => (f - vF * v[i]!) / (gamma * 1.5));
    expect(maxDiff(R.accelerations(q, v), expected)).toBeLessThan(1e-14);
    // The inverse Legendre map recovers v from p = γmv even far from rest (Newton with backtracking).
    const fast = [0.9, 0.3];
    expect(maxDiff(R.velocities(q, R.momenta(q, fast)), fast)).toBeLessThan(1e-14);
  });

  it('pivot on indefinite Hessians with a zero diagonal (L = vx·vy − V)', () => {
    // ∂²L/∂v² = [[0, 1], [1, 0]]: d/dt vy = −∂V/∂x, d/dt vx = −∂V/∂y.
    const L = lagrangian({ q: ['x', 'y'], v: ['vx', 'vy'], L: 'vx*vy - (x^2 + 3*x*y^2)/2' });
    const [x, y] = [0.4, -0.9];
    const a = L.accelerations([x, y], [0.2, 0.3]);
    expect(maxDiff(a, [-3 * x * y, -(x + 1.5 * y * y)])).toBeLessThan(1e-15);
    const lorentzian = lagrangian({ q: ['x', 'tau'], v: ['vx', 'vt'], L: '-(1 + x^2)*vt^2/2 + vx^2/2' });
    // d/dt(−(1 + x²)vt) = 0 ⇒ ät = −2x·vx·vt/(1 + x²); ẍ = −x·vt².
    const at = lorentzian.accelerations([0.5, 3], [0.2, 1.1]);
    expect(maxDiff(at, [-0.5 * 1.21, (-2 * 0.5 * 0.2 * 1.1) / 1.25])).toBeLessThan(1e-15);
  });

  it('solve the Euler–Lagrange equations (finite differences of ∂L/∂v along the motion, random Lagrangians)', () => {
    fc.assert(
      fc.property(fc.oneof(rotationInvariantLagrangian, translationInvariantLagrangian), arbitraryState3, (L, { q, v }) => {
        const a = L.accelerations(q, v);
        // M·a = rhs (the LU solve), and d/dt ∂L/∂v (central differences along (v, a)) = ∂L/∂q (differences of L).
        const { hessian: M, rhs } = L.hessians(q, v), n = L.dof;
        const Ma = Array.from({ length: n }, (_, i) => a.reduce((s, aj, j) => s + M[i * n + j]! * aj, 0));
        expect(maxDiff(Ma, rhs)).toBeLessThan(1e-12);
        const eps = 1e-5;
        const momentaAt = (s: number) => L.momenta(q.map((x, i) => x + s * eps * v[i]!), v.map((x, i) => x + s * eps * a[i]!));
        const [plus, minus] = [momentaAt(1), momentaAt(-1)];
        const dpdt = plus.map((x, i) => (x - minus[i]!) / (2 * eps));
        expect(maxDiff(dpdt, directPositionGradient(L, q, v))).toBeLessThan(1e-7);
      }),
      { numRuns: 40, seed: 7 },
    );
  });
});

/** ∂L/∂q by central finite differences of L.value. */
function directPositionGradient(L: Lagrangian, q: readonly number[], v: readonly number[]): number[] {
  const eps = 1e-5;
  return q.map((_, i) => {
    const at = (s: number) => L.value(q.map((x, j) => (j === i ? x + s * eps : x)), v);
    return (at(1) - at(-1)) / (2 * eps);
  });
}

describe('lagrangian: SINGULAR', () => {
  it('refuses a singular velocity Hessian, naming the state and the condition estimate', () => {
    // L = v0·v1·v2: det ∂²L/∂v² = 2v0v1v2, singular wherever a velocity vanishes.
    const L = lagrangian({ q: ['a', 'b', 'c'], v: ['va', 'vb', 'vc'], L: 'va*vb*vc - (a^2+b^2+c^2)/2' });
    expect(maxDiff(L.accelerations([1, 0, 0], [1, 2, 3]), L.accelerations([1, 0, 0], [1, 2, 3]))).toBe(0);
    const e = thrown(() => L.accelerations([1, 0, 0], [1, 2, 0]));
    expect(e.code).toBe('SINGULAR');
    expect(e.message).toMatch(/singular at q = \[1, 0, 0\], v = \[1, 2, 0\]/);
    expect(e.details).toMatchObject({ q: [1, 0, 0], v: [1, 2, 0], condition: Infinity });
    // A velocity that does not enter L at all.
    expect(thrown(() => lagrangian({ q: ['x', 'y'], v: ['vx', 'vy'], L: 'vx^2/2 - y^2' }).accelerations([0, 0], [1, 1])).code).toBe('SINGULAR');
  });

  it('refuses a near-singular one with its condition number', () => {
    const L = lagrangian({ q: ['x', 'y'], v: ['vx', 'vy'], L: 'vx^2/2 + eps*vy^2/2', params: { eps: 1e-15 } });
    const e = thrown(() => L.accelerations([0, 0], [1, 1]));
    expect(e.code).toBe('SINGULAR');
    expect(e.message).toMatch(/near-singular.*condition number 1\.00e\+15/);
    expect(e.details.condition).toBeCloseTo(1e15, -3);
    expect(L.withParams({ eps: 1e-6 }).accelerations([0, 0], [1, 1])).toEqual(Float64Array.of(0, 0));
  });
});

describe('lagrangian: Noether charges and the symmetry check', () => {
  it('conserve the charges of invariant Lagrangians along the exact flow (d/dt p·X(q) = 0 by finite differences)', () => {
    fc.assert(
      fc.property(rotationInvariantLagrangian, arbitraryState3, (L, { q, v }) => {
        expect(L.checkSymmetry({ rotation: [0, 1] }).invariant).toBe(true);
        const charge = L.charge({ rotation: [0, 1] }, { check: false });
        const a = L.accelerations(q, v), eps = 1e-4;
        const at = (s: number) => charge(q.map((x, i) => x + s * eps * v[i]!), v.map((x, i) => x + s * eps * a[i]!));
        expect(Math.abs(at(1) - at(-1)) / (2 * eps)).toBeLessThan(1e-7);
      }),
      { numRuns: 20, seed: 3 },
    );
  });

  it('reports a non-invariant L instead of returning a silent number', () => {
    const K = keplerLagrangian();
    const report = K.checkSymmetry({ translation: [1, 0] });
    expect(report.invariant).toBe(false);
    expect(report.maxViolation).toBeGreaterThan(0.1);
    expect(report.message).toMatch(/not invariant under translation along \[1, 0\].*at q = \[/);
    expect(report.worst!.q).toHaveLength(2);
    const e = thrown(() => K.charge({ translation: [1, 0] }));
    expect(e.code).toBe('SPEC');
    expect(e.details.report).toEqual(report);
    expect(K.checkSymmetry({ rotation: [0, 1] })).toMatchObject({ invariant: true, samples: 64 });
    // A shift of all three coordinates is the translation along [1, 1, 1].
    fc.assert(
      fc.property(translationInvariantLagrangian, arbitraryState3, (L, { q, v }) => {
        expect(L.checkSymmetry({ shift: [0, 1, 2] }).invariant).toBe(true);
        expect(L.checkSymmetry({ translation: [1, 0, 0] }).invariant).toBe(false);
        const p = L.momenta(q, v);
        expect(L.charge({ shift: [0, 1, 2] })(q, v)).toBeCloseTo(p[0]! + p[1]! + p[2]!, 14);
        expect(noetherCharge({ translation: [1, 1, 1] }, q, p)).toBeCloseTo(p[0]! + p[1]! + p[2]!, 14);
      }),
      { numRuns: 5, seed: 5 },
    );
  });

  it('refuses malformed generators', () => {
    const K = keplerLagrangian();
    for (const bad of [{ rotation: [0, 0] }, { rotation: [0, 2] }, { translation: [1] }, { translation: [0, 0] }, { shift: [] }, { shift: [1, 1] }, { spin: [0, 1] }, { rotation: [0, 1], shift: [0] }]) {
      expect(thrown(() => K.checkSymmetry(bad as never)).code).toBe('INPUT');
    }
  });
});

describe('lagrangian: Legendre transform', () => {
  it('gives H = ½(p − b)ᵀM⁻¹(p − b) − L₀ with H(q, ∂L/∂v) = E(q, v) (double pendulum: non-constant M)', () => {
    const L = doublePendulumLagrangian();
    const h = L.toHamiltonian();
    expect(h.isSeparable).toBe(false);
    for (const [q, v] of [[[0.3, -0.5], [1.2, -0.4]], [[2, 1], [0.1, 3]]] as const) {
      const p = L.momenta(q, v);
      expect(h.energy(q, p)).toBeCloseTo(L.energy(q, v), 12);
      // Hamilton's equations: ∂H/∂p = v.
      expect(maxDiff(h.gradient(q, p).dp, v)).toBeLessThan(1e-13);
    }
  });

  it('keeps a constant mass matrix separable, with the linear term b(q) (a charge in a magnetic field)', () => {
    const K = keplerLagrangian();
    expect(K.toHamiltonian().isSeparable).toBe(true);
    // L = |v|²/2 + B(x·vy − y·vx)/2: p = v + A(q), H = |p − A|²/2.
    const B = lagrangian({ q: ['x', 'y'], v: ['vx', 'vy'], L: '(vx^2+vy^2)/2 + B*(x*vy - y*vx)/2 - (x^2+y^2)/2', params: { B: 0.7 } });
    const h = B.toHamiltonian();
    const q = [0.4, -0.3], v = [0.2, 0.9], p = B.momenta(q, v);
    expect(h.energy(q, p)).toBeCloseTo(B.energy(q, v), 14);
    expect(maxDiff(h.gradient(q, p).dp, v)).toBeLessThan(1e-15);
  });

  it('refuses Lagrangians not quadratic in v, singular mass matrices and large non-constant ones', () => {
    const R = lagrangian({ q: ['x'], v: ['vx'], L: '-sqrt(1 - vx^2)' });
    const e = thrown(() => R.toHamiltonian());
    expect(e.code).toBe('SPEC');
    expect(e.message).toMatch(/not quadratic in the velocities.*variationalMidpoint/);
    expect(thrown(() => lagrangian({ q: ['x', 'y'], v: ['vx', 'vy'], L: 'vx^2/2 - y^2' }).toHamiltonian()).code).toBe('SINGULAR');
    const S = configurationSpace(7);
    const big = lagrangian(S, mul(0.5, mul(sqrt(mul(1, sub(2, cos(S.qs[0]!)))), dot(S.v, S.v))));
    expect(thrown(() => big.toHamiltonian()).message).toMatch(/7 degrees of freedom is beyond the symbolic inverse's limit \(6\)/);
  });
});

describe('lagrangian: bad input', () => {
  const base = { q: ['x', 'y'], v: ['vx', 'vy'], L: 'vx^2 + vy^2' };
  it('refuses duplicate, invalid, missing and mismatched names', () => {
    expect(thrown(() => lagrangian({ ...base, v: ['vx', 'x'] })).message).toMatch(/duplicate name 'x'/);
    expect(thrown(() => lagrangian({ ...base, params: { vx: 1 } })).message).toMatch(/duplicate name 'vx'/);
    expect(thrown(() => lagrangian({ ...base, v: ['vx'] })).message).toMatch(/same length \(got 2 positions and 1 velocities\)/);
    expect(thrown(() => lagrangian({ ...base, q: [], v: [] })).code).toBe('SPEC');
    expect(thrown(() => lagrangian({ q: ['x'], L: 'x^2' } as never)).message).toMatch(/q and v must be arrays of names/);
    expect(thrown(() => lagrangian({ q: ['x'], v: ['vx'] } as never)).message).toMatch(/L must be a formula string/);
    expect(thrown(() => lagrangian({ ...base, q: ['x', '2y'] })).message).toMatch(/not a valid identifier/);
    expect(thrown(() => lagrangian({ ...base, q: ['x', 'sin'] })).message).toMatch(/function name/);
    const missing = thrown(() => lagrangian({ ...base, L: 'vx^2 + vz^2' }));
    expect(missing.code).toBe('PARSE');
    expect(missing.message).toMatch(/vz/);
    expect(thrown(() => lagrangian({ ...base, L: 'vx^2 + k*vy^2' })).code).toBe('PARSE');
    expect(thrown(() => lagrangian({ ...base, params: { k: Number.NaN } })).message).toMatch(/finite number/);
    expect(thrown(() => lagrangian(configurationSpace(2), param('m'))).message).toMatch(/parameter 'm' has no value/);
    expect(thrown(() => configurationSpace(0)).code).toBe('SPEC');
  });

  it('refuses states of the wrong length', () => {
    const L = lagrangian(base);
    expect(thrown(() => L.accelerations([1, 2], [1])).code).toBe('INPUT');
    expect(thrown(() => L.value([1], [1, 2])).message).toMatch(/length 2 \(dof\), got 1 and 2/);
    expect(thrown(() => L.velocities([1, 2], [1, 2, 3])).code).toBe('INPUT');
  });
});
