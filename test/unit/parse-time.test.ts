import { describe, expect, it } from 'vitest';
import { add, compile, cos, DarbouxError, dot, hamiltonian, lagrangian, methodNames, mul, param, parse, phaseSpace, sum, time } from '../../src/index.js';

const A = 0.3, w = 1.7;

/** The driven oscillator H = p²/2 + x²/2 − A·x·cos(ω t) from a formula with `time: 't'`. */
const drivenFormula = () => parse({ q: ['x'], p: ['px'], H: 'px^2/2 + x^2/2 - A*x*cos(w*t)', params: { A, w }, time: 't' });

/** The same H built with the DSL's time(). */
function drivenDsl() {
  const s = phaseSpace(1);
  const x = sum(s.q);
  const H = add(add(mul(0.5, dot(s.p, s.p)), mul(0.5, mul(x, x))), mul(mul(-1, mul(param('A'), x)), cos(mul(param('w'), time()))));
  return hamiltonian(s, H, { params: { A, w } });
}

/** Refusal code of `f`, or 'none'. */
function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return e instanceof DarbouxError ? e.code : `not a DarbouxError: ${String(e)}`;
  }
  return 'none';
}

describe('parse({ …, time }): the time as a formula name', () => {
  it('evaluates energy(q, p, t) at the given time (closed form)', () => {
    const h = drivenFormula();
    for (const [x, px, t] of [[1, 0, 0], [0.7, -0.2, 1.3], [-2, 0.5, 10]] as const) {
      const exact = px * px / 2 + x * x / 2 - A * x * Math.cos(w * t);
      expect(h.energy([x], [px], t)).toBeCloseTo(exact, 14);
    }
    // Time-dependent: the default t = 0 differs from t = 1.
    expect(h.energy([1], [0])).not.toBeCloseTo(h.energy([1], [0], 1), 6);
  });

  it('gives the same CPU runs, bit for bit, as the DSL time() for every method', async () => {
    const f = drivenFormula(), d = drivenDsl();
    const q0 = [1, -0.4, 0.2], p0 = [0, 0.3, -1];
    for (const method of methodNames()) {
      const a = await compile(f, { method, dt: 0.05, backend: 'cpu' });
      const b = await compile(d, { method, dt: 0.05, backend: 'cpu' });
      const ra = await a.run({ q0, p0, steps: 120, batch: 3, t0: 0.7, record: 40 });
      const rb = await b.run({ q0, p0, steps: 120, batch: 3, t0: 0.7, record: 40 });
      expect(Array.from(ra.q), method).toEqual(Array.from(rb.q));
      expect(Array.from(ra.p), method).toEqual(Array.from(rb.p));
      expect(Array.from(ra.record!.q), method).toEqual(Array.from(rb.record!.q));
      // And the drive matters: a run from another start time ends elsewhere.
      const later = await a.run({ q0, p0, steps: 120, batch: 3, t0: 2.3 });
      expect(Math.abs(later.q[0]! - ra.q[0]!), method).toBeGreaterThan(1e-3);
      a.dispose();
      b.dispose();
    }
  });

  it('leapfrog on a separable time-dependent H kicks at t and t + h (hand-written oracle)', async () => {
    const h = drivenFormula();
    expect(h.isSeparable).toBe(true);
    const dt = 0.1, steps = 50, t0 = 0.4;
    const st = await compile(h, { method: 'leapfrog', dt, backend: 'cpu' });
    const r = await st.run({ q0: [1], p0: [0.2], steps, t0 });
    st.dispose();
    // ∇V(x, t) = x − A cos(ω t); kick–drift–kick with the kicks at the times `kick1(t)`, `kick2(t)`.
    const leapfrog = (kick1: (t: number) => number, kick2: (t: number) => number) => {
      let x = 1, px = 0.2;
      for (let n = 0; n < steps; n++) {
        const t = t0 + n * dt;
        px -= (dt / 2) * (x - A * Math.cos(w * kick1(t)));
        x += dt * px;
        px -= (dt / 2) * (x - A * Math.cos(w * kick2(t)));
      }
      return [x, px];
    };
    const [x, px] = leapfrog((t) => t, (t) => t + dt);
    expect(Math.abs(r.q[0]! - x)).toBeLessThan(1e-13);
    expect(Math.abs(r.p[0]! - px)).toBeLessThan(1e-13);
    // Kicking both halves at the midpoint would be a different (also second-order) method: measurably off.
    const [xm] = leapfrog((t) => t + dt / 2, (t) => t + dt / 2);
    expect(Math.abs(r.q[0]! - xm)).toBeGreaterThan(1e-6);
  });

  it('refuses a time name that clashes with a position, momentum, parameter or function, or is not a name', () => {
    const spec = { q: ['x'], p: ['px'], H: 'px^2/2 + x^2/2 - A*x', params: { A: 1 } };
    for (const name of ['x', 'px', 'A', 'cos', '1t', '', 'a b']) {
      expect(codeOf(() => parse({ ...spec, time: name })), name).toBe('SPEC');
    }
    expect(codeOf(() => parse({ ...spec, time: 42 as unknown as string }))).toBe('SPEC');
    try {
      parse({ ...spec, time: 'x' });
    } catch (e) {
      expect((e as Error).message).toMatch(/duplicate name 'x'.*position.*time/);
    }
  });

  it('without the option a formula with t is refused (the Hamiltonian is autonomous) and any name can be the time', () => {
    expect(codeOf(() => parse({ q: ['x'], p: ['px'], H: 'px^2/2 + x^2*t' }))).not.toBe('none');
    const h = parse({ q: ['x'], p: ['px'], H: 'px^2/2 + x^2*cos(τ)/2', time: 'τ' });
    expect(h.energy([2], [0], Math.PI)).toBeCloseTo(-2, 14);
    // t can be a coordinate when the time is named otherwise.
    const g = parse({ q: ['t'], p: ['pt'], H: 'pt^2/2 + t^2*s', time: 's' });
    expect(g.energy([3], [0], 2)).toBeCloseTo(18, 14);
  });

  it('lagrangian takes the same option: an explicit time name, clashes refused; t stays the default', () => {
    const named = lagrangian({ q: ['x'], v: ['vx'], L: 'vx^2/2 - x^2/2 + x*s', time: 's' });
    const implicit = lagrangian({ q: ['x'], v: ['vx'], L: 'vx^2/2 - x^2/2 + x*t' });
    // ẍ = −x + t: at x = 1, t = 3 the acceleration is 2.
    expect(named.accelerations([1], [0], 3)[0]).toBeCloseTo(2, 12);
    expect(implicit.accelerations([1], [0], 3)[0]).toBeCloseTo(2, 12);
    expect(codeOf(() => lagrangian({ q: ['x'], v: ['vx'], L: 'vx^2/2', time: 'vx' }))).toBe('SPEC');
  });
});
