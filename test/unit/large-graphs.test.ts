/**
 * Large inputs: a Hamiltonian with 50 000 terms and one with a product of 5 000 factors go through parsing,
 * evaluation, the symbolic gradient, the separability test, compilation (leapfrog and the implicit midpoint rule,
 * CPU) and a few steps, each checked against an independent evaluation in plain JavaScript. Every pass must be
 * iterative: no RangeError from recursion over the length of a sum, no generated expression nested too deeply
 * for V8's parser.
 */
import { describe, expect, it } from 'vitest';
import { add, compile, constant, DarbouxError, Hamiltonian, index, input, parse, powi, printExpr, sin, type Expr } from '../../src/index.js';
import { compileJs, deserializeGraph, serializeGraph } from '../../src/internals.js';

/** A one-dof H = p²/2 + V(q) with an independent f64 V and V′. */
interface Case {
  h: () => Hamiltonian;
  V: (q: number) => number;
  dV: (q: number) => number;
  d2V: (q: number) => number;
}

const once = <T>(make: () => T): (() => T) => {
  let value: T | undefined;
  return () => (value ??= make());
};

/** V(q) = Σₖ cₖ cos(k q), k = 1…K, with cₖ ≈ 1/k³ written as text (so both sides use the same doubles). */
function cosineSum(K: number): Case {
  const text = Array.from({ length: K }, (_, j) => (1 / (j + 1) ** 3).toPrecision(15));
  const c = text.map(Number);
  const sum = (f: (k: number, ck: number) => number) => {
    let s = 0;
    for (let j = 0; j < K; j++) s += f(j + 1, c[j]!);
    return s;
  };
  return {
    h: once(() => parse({ q: ['q'], p: ['p'], H: `p^2/2 + ${text.map((ck, j) => `${ck}*cos(${j + 1}*q)`).join(' + ')}` })),
    V: (q) => sum((k, ck) => ck * Math.cos(k * q)),
    dV: (q) => sum((k, ck) => -ck * k * Math.sin(k * q)),
    d2V: (q) => sum((k, ck) => -ck * k * k * Math.cos(k * q)),
  };
}

/** V(q) = Πₖ (1 + aₖ q), k = 1…K, aₖ = k·10⁻⁷ (V ≈ e^{1.25 q} for K = 5 000). */
function product(K: number): Case {
  const a = Array.from({ length: K }, (_, j) => (j + 1) * 1e-7);
  const V = (q: number) => a.reduce((acc, ak) => acc * (1 + ak * q), 1);
  const s1 = (q: number) => a.reduce((acc, ak) => acc + ak / (1 + ak * q), 0);
  const s2 = (q: number) => a.reduce((acc, ak) => acc + (ak / (1 + ak * q)) ** 2, 0);
  return {
    h: once(() => parse({ q: ['q'], p: ['p'], H: `p^2/2 + ${a.map((ak) => `(1 + ${ak}*q)`).join('*')}` })),
    V,
    dV: (q) => V(q) * s1(q),
    d2V: (q) => V(q) * (s1(q) ** 2 - s2(q)),
  };
}

/** Kick–drift–kick by hand. */
function leapfrog(c: Case, q: number, p: number, dt: number, steps: number): [number, number] {
  for (let s = 0; s < steps; s++) {
    p -= (dt / 2) * c.dV(q);
    q += dt * p;
    p -= (dt / 2) * c.dV(q);
  }
  return [q, p];
}

/** The implicit midpoint rule by hand: z₁ = z + dt·f((z + z₁)/2), iterated to a fixed point. */
function midpoint(c: Case, q: number, p: number, dt: number, steps: number): [number, number] {
  for (let s = 0; s < steps; s++) {
    let q1 = q, p1 = p;
    for (let it = 0; it < 200; it++) {
      const qm = (q + q1) / 2, pm = (p + p1) / 2;
      const nq = q + dt * pm, np = p - dt * c.dV(qm);
      const done = Math.abs(nq - q1) + Math.abs(np - p1) <= 1e-15 * (1 + Math.abs(q) + Math.abs(p));
      q1 = nq;
      p1 = np;
      if (done) break;
    }
    q = q1;
    p = p1;
  }
  return [q, p];
}

const relative = (a: number, b: number) => Math.abs(a - b) / Math.max(1, Math.abs(b));

// The Hessian-vector product (a JVP of the gradient, three times H's size) is checked on the product only, to
// keep the 50 000-term case's time down.
const cases: [string, Case, { q: number; p: number; dt: number; hvp: boolean }][] = [
  ['a sum of 50 000 terms', cosineSum(50_000), { q: 0.3, p: 0.2, dt: 0.01, hvp: false }],
  ['a product of 5 000 factors', product(5_000), { q: 0.7, p: -0.4, dt: 0.01, hvp: true }],
];

describe.each(cases)('%s', (_name, c, z) => {
  it('parses, evaluates, differentiates and is separable (vs an independent evaluation)', () => {
    const h = c.h();
    expect(relative(h.energy([z.q], [z.p]), z.p ** 2 / 2 + c.V(z.q))).toBeLessThan(1e-12);
    const { dq, dp } = h.gradient([z.q], [z.p]);
    expect(relative(dq[0]!, c.dV(z.q))).toBeLessThan(1e-11);
    expect(dp[0]).toBe(z.p);
    if (z.hvp) {
      const { dq: hq } = h.hessianVectorProduct([z.q], [z.p], [1], [0]);
      expect(relative(hq[0]!, c.d2V(z.q))).toBeLessThan(1e-9);
    }
    expect(h.isSeparable).toBe(true);
  });

  it('prints and round-trips through JSON', () => {
    const h = c.h();
    const text = printExpr(h.H, { name: (n) => (n.op === 'index' ? (n.args[0] === h.q ? 'q' : 'p') : undefined) });
    expect(parse({ q: ['q'], p: ['p'], H: text }).H).toBe(h.H);
    expect(deserializeGraph(serializeGraph(h.H))[0]).toBe(h.H);
  });

  const leapfrogStepper = once(() => compile(c.h(), { method: 'leapfrog', dt: z.dt, backend: 'cpu' }));

  it('compiles for leapfrog and runs (vs a hand-written leapfrog)', async () => {
    const st = await leapfrogStepper();
    const { q, p } = await st.run({ q0: [z.q], p0: [z.p], steps: 3 });
    const [eq, ep] = leapfrog(c, z.q, z.p, z.dt, 3);
    expect(relative(q[0]!, eq)).toBeLessThan(1e-12);
    expect(relative(p[0]!, ep)).toBeLessThan(1e-11);
  });

  it('the Jacobian of the compiled leapfrog step matches finite differences of the hand-written one', async () => {
    const st = await leapfrogStepper();
    const J = st.jacobian([z.q], [z.p]);
    const eps = 1e-6;
    const plus = [leapfrog(c, z.q + eps, z.p, z.dt, 1), leapfrog(c, z.q, z.p + eps, z.dt, 1)];
    const minus = [leapfrog(c, z.q - eps, z.p, z.dt, 1), leapfrog(c, z.q, z.p - eps, z.dt, 1)];
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 2; j++) expect(relative(J[i * 2 + j]!, (plus[j]![i]! - minus[j]![i]!) / (2 * eps))).toBeLessThan(1e-7);
    }
    st.dispose();
  });

  it('compiles for the implicit midpoint rule and runs (vs a hand-written fixed-point iteration)', async () => {
    const h = c.h();
    const st = await compile(h, { method: 'midpoint', dt: z.dt, backend: 'cpu' });
    const { q, p } = await st.run({ q0: [z.q], p0: [z.p], steps: 3 });
    const [eq, ep] = midpoint(c, z.q, z.p, z.dt, 3);
    expect(relative(q[0]!, eq)).toBeLessThan(1e-11);
    expect(relative(p[0]!, ep)).toBeLessThan(1e-11);
    st.dispose();
  });
});

describe('deep formulas', () => {
  it('nested 999 levels deep (parentheses, signs, powers, calls) evaluate and compile; 1 001 levels are a PARSE error', async () => {
    const deep = ['('.repeat(999) + 'q' + ')'.repeat(999), '-'.repeat(999) + 'q', 'sin('.repeat(999) + 'q' + ')'.repeat(999)];
    const oracles = [(q: number) => q, (q: number) => -q, (q: number) => {
      for (let k = 0; k < 999; k++) q = Math.sin(q);
      return q;
    }];
    for (const [k, V] of deep.entries()) {
      const h = parse({ q: ['q'], p: ['p'], H: `p^2/2 + ${V}` });
      expect(relative(h.energy([0.5], [0.1]), 0.005 + oracles[k]!(0.5))).toBeLessThan(1e-14);
      expect(h.isSeparable).toBe(true);
      const st = await compile(h, { method: 'leapfrog', dt: 0.01, backend: 'cpu' });
      const { q } = await st.run({ q0: [0.5], p0: [0.1], steps: 2 });
      expect(Number.isFinite(q[0])).toBe(true);
      st.dispose();
    }
    expect(() => parse({ q: ['q'], p: ['p'], H: '('.repeat(1001) + 'q' + ')'.repeat(1001) })).toThrow(DarbouxError);
  });

  it('generated code nests inlined expressions at most MAX_INLINE_DEPTH deep', async () => {
    const { MAX_INLINE_DEPTH } = await import('../../src/codegen/lowering.js');
    const h = parse({ q: ['q'], p: ['p'], H: `p^2/2 + ${Array.from({ length: 2000 }, (_, k) => `${k + 1}*q^2`).join(' + ')}` });
    const st = await compile(h, { method: 'leapfrog', dt: 0.001, backend: 'cpu' });
    let depth = 0, deepest = 0;
    for (const ch of st.source) {
      if (ch === '(') deepest = Math.max(deepest, ++depth);
      else if (ch === ')') depth--;
    }
    // Each inlined binary op adds one pair of parentheses; the function header adds one.
    expect(deepest).toBeLessThanOrEqual(MAX_INLINE_DEPTH + 2);
    const { q, p } = await st.run({ q0: [0.5], p0: [0], steps: 1 });
    const k = (2000 * 2001) / 2; // V = k q², V' = 2 k q
    const [eq, ep] = leapfrog({ h: () => h, V: (x) => k * x * x, dV: (x) => 2 * k * x, d2V: () => 2 * k }, 0.5, 0, 0.001, 1);
    expect(relative(q[0]!, eq)).toBeLessThan(1e-12);
    expect(relative(p[0]!, ep)).toBeLessThan(1e-12);
    st.dispose();
  });

  it('a function with more temporaries than V8 compiles is a SPEC DarbouxError, not a RangeError', () => {
    // 150 000 shared subexpressions, one `const` each: V8 (Node 20) runs out of stack compiling that function.
    const q = input('q', 'q', [1]);
    let acc: Expr = constant(0);
    for (let k = 1; k <= 150_000; k++) acc = add(acc, powi(sin(add(index(q, 0), k)), 2));
    const f = compileJs([q], [acc]);
    let error: unknown;
    try {
      f([[0.3]], [new Float64Array(1)]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DarbouxError);
    expect((error as DarbouxError).code).toBe('SPEC');
    expect((error as DarbouxError).message).toMatch(/too large for this engine/);
  });
});
