import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DarbouxError, ParamStore, add, compile, createRandom, glorot, graphSize, he, hnn, input, mlpField, normal,
  symplecticDefect, sympnet, zerosInit, type Expr, type NeuralModel,
} from '../../src/index.js';
import { compileJs, jvp } from '../../src/internals.js';

const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e instanceof DarbouxError ? e.code : `not a DarbouxError: ${String(e)}`;
  }
  return 'no error';
};

const stats = (xs: ArrayLike<number>) => {
  const n = xs.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += xs[i]! / n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (xs[i]! - mean) ** 2 / n;
  return { mean, std: Math.sqrt(v) };
};

describe('seeded random stream', () => {
  it('is deterministic by seed and differs between seeds', () => {
    const a = createRandom(7), b = createRandom(7), c = createRandom(8);
    const xa = Array.from({ length: 5 }, () => a.next()), xb = Array.from({ length: 5 }, () => b.next());
    expect(xa).toEqual(xb);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(xa);
    expect(createRandom(7).fork('x').next()).toBe(createRandom(7).fork('x').next());
    expect(createRandom(7).fork('x').next()).not.toBe(createRandom(7).fork('y').next());
  });

  it('has uniform and normal moments, in-range integers and permutation shuffles', () => {
    const r = createRandom(1);
    const u = Float64Array.from({ length: 20000 }, () => r.next());
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(1);
    expect(stats(u).mean).toBeCloseTo(0.5, 2);
    expect(stats(u).std).toBeCloseTo(Math.sqrt(1 / 12), 2);
    const z = stats(Float64Array.from({ length: 20000 }, () => r.normal()));
    expect(Math.abs(z.mean)).toBeLessThan(0.03);
    expect(Math.abs(z.std - 1)).toBeLessThan(0.03);
    const ints = Array.from({ length: 1000 }, () => r.int(5));
    expect(new Set(ints)).toEqual(new Set([0, 1, 2, 3, 4]));
    const perm = r.shuffle(Array.from({ length: 50 }, (_, i) => i));
    expect([...perm].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(perm).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(code(() => createRandom(0.5))).toBe('OPTION');
  });
});

describe('initialisers and parameter store', () => {
  it('glorot is uniform within ±√(6/(fan_in+fan_out)) with variance a²/3', () => {
    const v = glorot().sample([200, 300], createRandom(0));
    const a = Math.sqrt(6 / 500);
    expect(v.length).toBe(60000);
    expect(Math.max(...v.map(Math.abs))).toBeLessThanOrEqual(a);
    expect(Math.max(...v.map(Math.abs))).toBeGreaterThan(0.999 * a);
    expect(Math.abs(stats(v).std / (a / Math.sqrt(3)) - 1)).toBeLessThan(0.02);
  });

  it('he has std √(2/fan_in); normal(std) has its std; zeros are zeros', () => {
    const h = stats(he().sample([400, 100], createRandom(1)));
    expect(Math.abs(h.mean)).toBeLessThan(0.003);
    expect(Math.abs(h.std / Math.sqrt(2 / 100) - 1)).toBeLessThan(0.02);
    expect(Math.abs(stats(normal(0.3).sample([100, 100], createRandom(2))).std / 0.3 - 1)).toBeLessThan(0.03);
    expect([...zerosInit().sample([3, 4], createRandom(3))]).toEqual(new Array(12).fill(0));
    expect(code(() => normal(-1))).toBe('OPTION');
  });

  it('values depend on seed and name, not on creation order; names are unique', () => {
    const s1 = new ParamStore(5), s2 = new ParamStore(5), s3 = new ParamStore(6);
    s1.tensor('W', [3, 2], glorot());
    s1.tensor('b', [3], normal(1));
    s2.tensor('b', [3], normal(1));
    s2.tensor('W', [3, 2], glorot());
    s3.tensor('W', [3, 2], glorot());
    expect(s1.values()).toEqual({ W: s2.values().W, b: s2.values().b });
    expect(s3.values().W).not.toEqual(s1.values().W);
    expect(s1.nodes().map((n) => n.attrs.name)).toEqual(['W', 'b']);
    expect(s1.nodes()[0]!.shape).toEqual([3, 2]);
    expect(code(() => s1.tensor('W', [3, 2], glorot()))).toBe('SPEC');
  });
});

/** f64 evaluation of expressions of a model at (q, p) with its current parameters. */
function evaluator(model: NeuralModel, outputs: Expr[]) {
  const f = compileJs([model.q, model.p, ...model.paramNodes], outputs);
  return (q: number[], p: number[]) => {
    const outs = outputs.map((o) => new Float64Array(Math.max(1, o.shape.reduce((a, b) => a * b, 1))));
    f([q, p, ...model.paramNodes.map((n) => model.params[n.attrs.name as string]!)], outs);
    return outs;
  };
}

/** Dense layer by hand: W [out × in] row-major. */
const affine = (W: number[], b: number[] | null, x: number[], out: number) =>
  Array.from({ length: out }, (_, i) => x.reduce((s, xj, j) => s + W[i * x.length + j]! * xj, b?.[i] ?? 0));

describe('hnn', () => {
  it('H equals a hand-written MLP with the stored parameters (W is [out × in], row-major)', () => {
    const m = hnn({ dof: 2, hidden: [5, 4], activation: 'tanh', seed: 3 });
    const P = m.params;
    const q = [0.3, -0.2], p = [0.1, 0.5];
    const h0 = affine(P['H.l0.W0']!, P['H.l0.b']!, q, 5).map((v, i) => v + affine(P['H.l0.W1']!, null, p, 5)[i]!).map(Math.tanh);
    const h1 = affine(P['H.l1.W']!, P['H.l1.b']!, h0, 4).map(Math.tanh);
    const H = h1.reduce((s, v, i) => s + v * P['H.out.w']![i]!, 0);
    expect(m.hamiltonian!.energy(q, p)).toBeCloseTo(H, 14);
  });

  it.each(['tanh', 'softplus', 'sigmoid', 'sin'] as const)('∇H agrees with central differences (%s) and field = (∂H/∂p, −∂H/∂q)', (activation) => {
    const m = hnn({ dof: 2, hidden: [16, 16], activation, seed: 1 });
    const h = m.hamiltonian!;
    const q = [0.4, -0.3], p = [0.2, 0.7];
    const { dq, dp } = h.gradient(q, p);
    const eps = 1e-5;
    for (let i = 0; i < 4; i++) {
      const shifted = (s: number) => {
        const z = [...q, ...p];
        z[i]! += s;
        return h.energy(z.slice(0, 2), z.slice(2));
      };
      const fd = (shifted(eps) - shifted(-eps)) / (2 * eps);
      expect(Math.abs((i < 2 ? dq[i]! : dp[i - 2]!) - fd)).toBeLessThan(1e-8);
    }
    const [fq, fp] = evaluator(m, [m.field!().q, m.field!().p])(q, p);
    expect([...fq!]).toEqual([...dp]);
    expect([...fp!]).toEqual([...dq].map((v) => -v));
  });

  it('separable: H = T(p) + V(q) is recognised and compiles with leapfrog; the plain one needs an implicit method', async () => {
    const sep = hnn({ dof: 2, hidden: [8], activation: 'softplus', seed: 0, separable: true });
    expect(sep.hamiltonian!.isSeparable).toBe(true);
    expect(Object.keys(sep.params).every((k) => k.startsWith('T.') || k.startsWith('V.'))).toBe(true);
    const st = await compile(sep.hamiltonian!, { method: 'leapfrog', dt: 0.05, backend: 'cpu' });
    const q0 = [0.5, -0.2], p0 = [0.1, 0.3];
    const { q, p } = await st.run({ q0, p0, steps: 200 });
    expect(Math.abs(sep.hamiltonian!.energy(q, p) - sep.hamiltonian!.energy(q0, p0))).toBeLessThan(1e-3);
    st.dispose();

    const plain = hnn({ dof: 2, hidden: [8], activation: 'tanh', seed: 0 });
    expect(plain.hamiltonian!.isSeparable).toBe(false);
    await expect(compile(plain.hamiltonian!, { method: 'leapfrog', dt: 0.05, backend: 'cpu' })).rejects.toMatchObject({ code: 'NOT_SEPARABLE' });
    const g = await compile(plain.hamiltonian!, { method: 'gauss4', dt: 0.05, backend: 'cpu' });
    const r = await g.run({ q0, p0, steps: 100 });
    expect(Math.abs(plain.hamiltonian!.energy(r.q, r.p) - plain.hamiltonian!.energy(q0, p0))).toBeLessThan(1e-10);
    g.dispose();
  });

  it('graph size does not grow with the width (no scalarised matrices)', () => {
    const size = (hidden: number[]) => {
      const m = hnn({ dof: 1, hidden, activation: 'tanh', seed: 0 });
      return [graphSize([m.hamiltonian!.H]), graphSize([m.field!().q, m.field!().p])];
    };
    expect(size([200])).toEqual(size([3]));
    expect(size([200])[1]).toBeLessThan(40);
  });
});

describe('seeds, JSON and withParams', () => {
  const builders: [string, (seed: number) => NeuralModel][] = [
    ['hnn', (seed) => hnn({ dof: 2, hidden: [6], activation: 'tanh', seed })],
    ['separable hnn', (seed) => hnn({ dof: 2, hidden: [6], activation: 'tanh', seed, separable: true })],
    ['mlpField', (seed) => mlpField({ dof: 2, hidden: [6], seed })],
    ['sympnet LA', (seed) => sympnet({ dof: 2, kind: 'LA', layers: 2, seed })],
    ['sympnet G', (seed) => sympnet({ dof: 2, kind: 'G', layers: 2, width: 5, seed })],
  ];
  const outputsOf = (m: NeuralModel) => (m.map ? [m.map().q, m.map().p] : [m.field!().q, m.field!().p]);

  it.each(builders)('%s: equal seeds give equal params, different seeds different ones', (_name, build) => {
    expect(build(4).params).toEqual(build(4).params);
    const a = build(4).params, b = build(5).params;
    expect(Object.keys(a)).toEqual(Object.keys(b));
    expect(Object.keys(a).some((k) => a[k]!.some((v, i) => v !== b[k]![i]))).toBe(true);
  });

  it.each(builders)('%s: JSON round trip through withParams restores the model', (_name, build) => {
    const original = build(11);
    const restored = build(12).withParams(JSON.parse(JSON.stringify(original.params)));
    expect(restored.params).toEqual(original.params);
    const q = [0.3, -0.1], p = [0.2, 0.4];
    const a = evaluator(original, outputsOf(original))(q, p), b = evaluator(restored, outputsOf(restored))(q, p);
    expect(b).toEqual(a);
    expect(restored.kind).toBe(original.kind);
    expect(JSON.parse(JSON.stringify(original.options))).toEqual(original.options);
  });

  it('withParams keeps missing names and rejects unknown names, wrong lengths and non-finite values', () => {
    const m = hnn({ dof: 1, hidden: [3], activation: 'tanh', seed: 0 });
    const next = m.withParams({ 'H.l0.b': [1, 2, 3] });
    expect(next.params['H.l0.b']).toEqual([1, 2, 3]);
    expect(next.params['H.l0.W0']).toEqual(m.params['H.l0.W0']);
    expect(next.hamiltonian!.energy([0.1], [0.2])).not.toBe(m.hamiltonian!.energy([0.1], [0.2]));
    expect(m.params['H.l0.b']).toEqual([0, 0, 0]);
    expect(code(() => m.withParams({ nope: [1] }))).toBe('SPEC');
    expect(code(() => m.withParams({ 'H.l0.b': [1, 2] }))).toBe('INPUT');
    expect(code(() => m.withParams({ 'H.l0.b': [1, NaN, 2] }))).toBe('INPUT');
    expect(code(() => m.withParams({ 'H.l0.b': 'x' as unknown as number[] }))).toBe('INPUT');
  });

  it('rejects bad options', () => {
    expect(code(() => hnn({ dof: 0, hidden: [3] }))).toBe('OPTION');
    expect(code(() => hnn({ dof: 1, hidden: [] }))).toBe('OPTION');
    expect(code(() => hnn({ dof: 1, hidden: [3], activation: 'relu' as 'tanh' }))).toBe('OPTION');
    expect(code(() => hnn({ dof: 1, hidden: [3], seed: 0.5 }))).toBe('OPTION');
    expect(code(() => hnn({ dof: 1, hidden: [3], init: 'orthogonal' as 'he' }))).toBe('OPTION');
    expect(code(() => mlpField({ dof: 1, hidden: [2.5] }))).toBe('OPTION');
    expect(code(() => sympnet({ dof: 1, kind: 'X' as 'G', layers: 2, width: 3 }))).toBe('OPTION');
    expect(code(() => sympnet({ dof: 1, kind: 'G', layers: 2 }))).toBe('OPTION');
    expect(code(() => sympnet({ dof: 1, kind: 'LA', layers: 0 }))).toBe('OPTION');
  });
});

/** Exact (2n)×(2n) Jacobian of (q, p) ↦ (fq, fp), by forward mode column by column. */
function jacobian(model: NeuralModel, out: { q: Expr; p: Expr }) {
  const n = model.dof;
  const tq = input('aux', 'tq', [n]), tp = input('aux', 'tp', [n]);
  const [dq, dp] = jvp([out.q, out.p], new Map([[model.q, tq], [model.p, tp]]));
  const f = compileJs([model.q, model.p, tq, tp, ...model.paramNodes], [dq!, dp!]);
  const values = model.paramNodes.map((node) => model.params[node.attrs.name as string]!);
  return (q: number[], p: number[]) => {
    const m = 2 * n, J = new Float64Array(m * m);
    for (let j = 0; j < m; j++) {
      const e = Array.from({ length: m }, (_, k) => (k === j ? 1 : 0));
      const oq = new Float64Array(n), op = new Float64Array(n);
      f([q, p, e.slice(0, n), e.slice(n), ...values], [oq, op]);
      for (let i = 0; i < n; i++) {
        J[i * m + j] = oq[i]!;
        J[(n + i) * m + j] = op[i]!;
      }
    }
    return J;
  };
}

describe('symplectic structure', () => {
  const state = fc.record({
    dof: fc.integer({ min: 1, max: 3 }),
    seed: fc.integer({ min: 0, max: 10_000 }),
    z: fc.array(fc.double({ min: -1.5, max: 1.5, noNaN: true }), { minLength: 6, maxLength: 6 }),
  });

  // Weights far larger than the default normal(0.01), so the map is far from the identity. The rounding of
  // JᵀΩJ grows like ε·max|J|², so the bound is 1e-13·max(1, max|J|)² (1e-12 absolute for |J| ≲ 3); a
  // non-symplectic map misses it by orders of magnitude (below).
  it.each([['LA', 'normal(0.3)'], ['G', 'normal(0.5)']] as const)('sympnet %s: the exact Jacobian of map() satisfies JᵀΩJ = Ω for random θ (%s)', (kind, init) => {
    fc.assert(
      fc.property(state, ({ dof, seed, z }) => {
        const net = sympnet({ dof, kind, layers: 4, width: 6, seed, init, activation: kind === 'G' ? 'tanh' : 'sigmoid' });
        const J = jacobian(net, net.map!())(z.slice(0, dof), z.slice(3, 3 + dof));
        const distanceFromIdentity = Math.max(...J.map((v, k) => Math.abs(v - (k % (2 * dof + 1) === 0 ? 1 : 0))));
        expect(distanceFromIdentity).toBeGreaterThan(1e-2);
        expect(symplecticDefect(J)).toBeLessThan(1e-13 * Math.max(1, ...J.map(Math.abs)) ** 2);
      }),
      { numRuns: 20 },
    );
  });

  it('the same check rejects a non-symplectic map z ↦ z + f(z) built from mlpField', () => {
    const base = mlpField({ dof: 2, hidden: [8], seed: 0, init: 'normal(0.8)' });
    const { q: fq, p: fp } = base.field!();
    const J = jacobian(base, { q: add(base.q, fq), p: add(base.p, fp) })([0.3, -0.2], [0.1, 0.4]);
    expect(symplecticDefect(J)).toBeGreaterThan(1e-2);
  });

  it('the field of an hnn is infinitesimally symplectic (ΩA symmetric), that of mlpField is not', () => {
    const asymmetry = (model: NeuralModel) => {
      const A = jacobian(model, model.field!())([0.3, -0.2], [0.1, 0.4]);
      const m = 4, n = 2;
      // (ΩA)_ij = A_{i+n, j} for i < n, −A_{i−n, j} otherwise; Hamiltonian fields give ΩA = −∇²H (symmetric).
      const OA = (i: number, j: number) => (i < n ? A[(i + n) * m + j]! : -A[(i - n) * m + j]!);
      let worst = 0;
      for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) worst = Math.max(worst, Math.abs(OA(i, j) - OA(j, i)));
      return worst;
    };
    expect(asymmetry(hnn({ dof: 2, hidden: [8], activation: 'tanh', seed: 0, init: 'normal(0.8)' }))).toBeLessThan(1e-12);
    expect(asymmetry(mlpField({ dof: 2, hidden: [8], seed: 0, init: 'normal(0.8)' }))).toBeGreaterThan(1e-2);
  });
});

describe('mapJacobian', () => {
  it('equals the forward-mode Jacobian of the map and is symplectic; refuses models without a map', async () => {
    const { mapJacobian, hnn: makeHnn } = await import('../../src/index.js');
    const net = sympnet({ dof: 2, kind: 'G', layers: 3, width: 8, seed: 4 });
    const J = mapJacobian(net)([0.3, -0.1], [0.2, 0.5]);
    const reference = jacobian(net, net.map!())([0.3, -0.1], [0.2, 0.5]);
    for (let i = 0; i < 16; i++) expect(J[i]).toBeCloseTo(reference[i]!, 14);
    expect(symplecticDefect(J)).toBeLessThan(1e-13);
    expect(() => mapJacobian(makeHnn({ dof: 1, hidden: [4], seed: 0 }))).toThrow(/has no map/);
  });
});
