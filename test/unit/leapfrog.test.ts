import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compile, DarbouxError, dot, Hamiltonian, hamiltonian, henonHeiles, kepler, mul, param, parse, phaseSpace, add,
  symplecticDefect,
} from '../../src/index.js';
import { arbitrarySeparableHamiltonian } from './arbitrary.js';

describe('leapfrog', () => {
  it('has an exactly symplectic Jacobian for random separable Hamiltonians (‖JᵀΩJ − Ω‖ < 1e-12)', async () => {
    await fc.assert(
      fc.asyncProperty(
        arbitrarySeparableHamiltonian(2),
        fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 4, maxLength: 4 }),
        async ({ q, p, H }, z) => {
          const h = new Hamiltonian({ H, q, p });
          expect(h.isSeparable).toBe(true);
          const st = await compile(h, { method: 'leapfrog', dt: 0.01, backend: 'cpu' });
          const J = st.jacobian(z.slice(0, 2), z.slice(2));
          expect(symplecticDefect(J)).toBeLessThan(1e-12);
          st.dispose();
        },
      ),
      { numRuns: 60 },
    );
  });

  it('the Jacobian matches finite differences of the step', async () => {
    const { hamiltonian: h, q0, p0 } = henonHeiles();
    const st = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'cpu' });
    const J = st.jacobian(q0, p0);
    const z0 = [...q0, ...p0];
    const eps = 1e-6;
    for (let j = 0; j < 4; j++) {
      const plus = [...z0], minus = [...z0];
      plus[j]! += eps;
      minus[j]! -= eps;
      const a = await st.run({ q0: plus.slice(0, 2), p0: plus.slice(2), steps: 1 });
      const b = await st.run({ q0: minus.slice(0, 2), p0: minus.slice(2), steps: 1 });
      const da = [...a.q, ...a.p], db = [...b.q, ...b.p];
      for (let i = 0; i < 4; i++) expect(J[i * 4 + j]).toBeCloseTo((da[i]! - db[i]!) / (2 * eps), 8);
    }
  });

  it('is time-reversible and second order', async () => {
    const { hamiltonian: h, q0, p0 } = kepler({ eccentricity: 0.3 });
    const errors: number[] = [];
    for (const dt of [0.02, 0.01, 0.005]) {
      const st = await compile(h, { method: 'leapfrog', dt, backend: 'cpu' });
      const fine = await compile(h, { method: 'leapfrog', dt: dt / 16, backend: 'cpu' });
      const steps = Math.round(1 / dt);
      const a = await st.run({ q0, p0, steps });
      const b = await fine.run({ q0, p0, steps: steps * 16 });
      errors.push(Math.hypot(a.q[0]! - b.q[0]!, a.q[1]! - b.q[1]!));
    }
    expect(Math.log2(errors[0]! / errors[1]!)).toBeCloseTo(2, 0);
    expect(Math.log2(errors[1]! / errors[2]!)).toBeCloseTo(2, 0);
  });

  it('Kepler over 10⁵ steps: bounded energy error for leapfrog, growing for RK4', async () => {
    const model = kepler({ eccentricity: 0.6 });
    const h = model.hamiltonian;
    const e0 = h.energy(model.q0, model.p0);
    const halves = async (method: string) => {
      const st = await compile(h, { method, dt: 0.01, backend: 'cpu' });
      const res = await st.run({ q0: model.q0, p0: model.p0, steps: 100_000, record: 10 });
      const rec = res.record!;
      let first = 0, second = 0;
      for (let k = 0; k < rec.count; k++) {
        const err = Math.abs(h.energy(rec.q.subarray(2 * k, 2 * k + 2), rec.p.subarray(2 * k, 2 * k + 2)) - e0);
        if (k < rec.count / 2) first = Math.max(first, err);
        else second = Math.max(second, err);
      }
      return { first, second };
    };
    const lf = await halves('leapfrog');
    expect(lf.second).toBeLessThanOrEqual(1.5 * lf.first);
    const rk = await halves('rk4');
    expect(rk.second).toBeGreaterThan(1.5 * rk.first); // linear drift: the control fails the same check
  });

  it('conserves angular momentum of Kepler to rounding (a quadratic invariant)', async () => {
    const model = kepler({ eccentricity: 0.6 });
    const st = await compile(model.hamiltonian, { method: 'leapfrog', dt: 0.01, backend: 'cpu' });
    const L = (q: ArrayLike<number>, p: ArrayLike<number>) => q[0]! * p[1]! - q[1]! * p[0]!;
    const res = await st.run({ q0: model.q0, p0: model.p0, steps: 20_000 });
    expect(Math.abs(L(res.q, res.p) - L(model.q0, model.p0))).toBeLessThan(1e-11);
  });

  it('runs batches trajectory-major and records every k-th state', async () => {
    const { hamiltonian: h } = henonHeiles();
    const st = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'cpu' });
    const q0 = [0.1, 0.2, -0.1, 0.05], p0 = [0.2, 0.1, 0.3, -0.2];
    const both = await st.run({ q0, p0, steps: 100, batch: 2, record: 25 });
    const second = await st.run({ q0: q0.slice(2), p0: p0.slice(2), steps: 100 });
    expect([...both.q.slice(2)]).toEqual([...second.q]);
    expect(both.record!.count).toBe(4);
    expect([...both.record!.q.slice(3 * 4, 3 * 4 + 4)]).toEqual([...both.q]);
  });
});

describe('bad input gets a clear error', () => {
  const hh = parse({ q: ['x', 'y'], p: ['px', 'py'], H: '(px^2+py^2)/2 + (x^2+y^2)/2 + lam*(x^2*y - y^3/3)', params: { lam: 1 } });
  it('refuses leapfrog on a non-separable H, naming a coupling term and suggesting midpoint', async () => {
    const h = parse({ q: ['x'], p: ['px'], H: 'px^2/2 + x^2/2 + x*px^2' });
    expect(h.isSeparable).toBe(false);
    await expect(compile(h, { method: 'leapfrog', dt: 0.1 })).rejects.toThrow(/not separable: the term 'x\*px\^2' couples q and p/);
    await expect(compile(h, { method: 'leapfrog', dt: 0.1 })).rejects.toThrow(/midpoint/);
  });
  it.each([0, NaN, Infinity, -Infinity])('refuses dt = %s', async (dt) => {
    await expect(compile(hh, { method: 'leapfrog', dt })).rejects.toThrow(/dt must be a finite nonzero number/);
  });
  it.each(['leapfrog', 'yoshida4', 'midpoint', 'gauss4'] as const)('%s: negative dt integrates backwards (N steps of dt then N of −dt return to the start)', async (method) => {
    const forward = await compile(hh, { method, dt: 0.05, backend: 'cpu' });
    const backward = await compile(hh, { method, dt: -0.05, backend: 'cpu' });
    const q0 = [0.1, -0.2], p0 = [0.3, 0.2];
    const there = await forward.run({ q0, p0, steps: 400 });
    const back = await backward.run({ q0: there.q, p0: there.p, steps: 400, t0: 20 });
    for (let k = 0; k < 2; k++) {
      expect(Math.abs(there.q[k]! - q0[k]!)).toBeGreaterThan(1e-3);
      expect(back.q[k]!).toBeCloseTo(q0[k]!, 11);
      expect(back.p[k]!).toBeCloseTo(p0[k]!, 11);
    }
  });
  it('lists the known methods for an unknown one', async () => {
    await expect(compile(hh, { method: 'verlet9', dt: 0.1 })).rejects.toThrow(/unknown method 'verlet9'; known methods: leapfrog/);
  });
  it('says the expected array length', async () => {
    const st = await compile(hh, { method: 'leapfrog', dt: 0.1, backend: 'cpu' });
    await expect(st.run({ q0: [1, 2, 3], p0: [0, 0], steps: 1 })).rejects.toThrow(/q0 must have length batch·dof = 1·2 = 2, got 3/);
    await expect(st.run({ q0: [1, 2, 3, 4], p0: [0, 0, 0, 0], steps: 1, batch: 2 })).resolves.toBeDefined();
  });
  it('names the step and trajectory of a non-finite state', async () => {
    const h = parse({ q: ['x'], p: ['px'], H: 'px^2/2 - x^4' }); // escapes to infinity in finite time
    const st = await compile(h, { method: 'leapfrog', dt: 0.1, backend: 'cpu' });
    const err = await st.run({ q0: [0, 3], p0: [0, 0], steps: 1000, batch: 2 }).catch((e) => e);
    expect(err).toBeInstanceOf(DarbouxError);
    expect(err.code).toBe('NONFINITE');
    expect(err.message).toMatch(/non-finite state at step \d+ of trajectory 1/);
  });
});

describe('generated code never contains user names', () => {
  it('compiles and runs a parameter named like an injection', async () => {
    const s = phaseSpace(1);
    const evil = 'x);process.exit(1);//';
    const H = add(mul(0.5, dot(s.p, s.p)), mul(param(evil), dot(s.q, s.q)));
    const h = hamiltonian(s, H, { params: { [evil]: 0.5 } });
    const st = await compile(h, { method: 'leapfrog', dt: 0.1, backend: 'cpu' });
    expect(st.source).not.toContain('process');
    const res = await st.run({ q0: [1], p0: [0], steps: 10 });
    expect(Number.isFinite(res.q[0])).toBe(true);
    expect(h.energy([1], [0])).toBe(0.5);
  });
  it('rejects formula names that are not identifiers', () => {
    expect(() => parse({ q: ['x);process.exit(1);//'], p: ['p'], H: 'p' })).toThrow(/not a valid identifier/);
  });
});
