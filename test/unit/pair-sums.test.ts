import { describe, expect, it } from 'vitest';
import { add, div, dot, exp, input, mul, param, powi, sub, index, tanh } from '../../src/ir/build.js';
import type { Expr } from '../../src/ir/expr.js';
import { graphEvaluator } from '../../src/ir/evaluate-graph.js';
import { graphSize } from '../../src/ir/traverse.js';
import { gradient, vjp } from '../../src/autodiff/vjp.js';
import { jvp } from '../../src/autodiff/jvp.js';
import { compileJs } from '../../src/codegen/emit-js.js';
import { pairSum, edgeSum } from '../../src/ir/ops/pairs.js';
import { siteSum } from '../../src/ir/ops/sites.js';
import { Hamiltonian } from '../../src/system/hamiltonian.js';
import { DarbouxError } from '../../src/errors.js';
import { seededRandom } from './op-cases.js';
import { deserializeGraph, serializeGraph } from '../../src/ir/json.js';
import { printExpr } from '../../src/ir/printer.js';

type Pot = { name: string; V: (r: Expr) => Expr; f: (r: number) => number; df: (r: number) => number; params: Record<string, number> };
const eps = param('eps'), sig = param('sig'), k = param('k'), r0 = param('r0');
const potentials: Pot[] = [
  { name: 'LJ', V: (r) => mul(mul(4, eps), sub(powi(div(sig, r), 12), powi(div(sig, r), 6))), f: (r) => 4 * 1.2 * ((0.9 / r) ** 12 - (0.9 / r) ** 6), df: (r) => 4 * 1.2 * (-12 * 0.9 ** 12 / r ** 13 + 6 * 0.9 ** 6 / r ** 7), params: { eps: 1.2, sig: 0.9 } },
  { name: 'harmonic', V: (r) => mul(k, powi(sub(r, r0), 2)), f: (r) => 3 * (r - 1.1) ** 2, df: (r) => 6 * (r - 1.1), params: { k: 3, r0: 1.1 } },
  { name: 'Morse', V: (r) => mul(eps, powi(sub(1, exp(neg1(sub(r, r0)))), 2)), f: (r) => 1.2 * (1 - Math.exp(-(r - 1.1))) ** 2, df: (r) => 2 * 1.2 * (1 - Math.exp(-(r - 1.1))) * Math.exp(-(r - 1.1)), params: { eps: 1.2, r0: 1.1 } },
];
function neg1(e: Expr): Expr { return mul(-1, e); }

/** Independent O(N²) energy and forces (−∂E/∂q) by minimum image, from V and its hand-written derivative. */
function reference(q: Float64Array, n: number, dim: number, f: (r: number) => number, dfdr: (r: number) => number, box?: number[], cutoff?: number, shift?: boolean, edges?: [number, number][]) {
  let E = 0;
  const F = new Float64Array(n * dim);
  const pairs: [number, number][] = edges ?? [];
  if (!edges) for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) pairs.push([i, j]);
  const fc = cutoff !== undefined && shift ? f(cutoff) : 0;
  for (const [i, j] of pairs) {
    const d: number[] = [];
    for (let a = 0; a < dim; a++) {
      let x = q[i * dim + a]! - q[j * dim + a]!;
      if (box) x -= box[a]! * Math.round(x / box[a]!);
      d.push(x);
    }
    const r = Math.hypot(...d);
    if (cutoff !== undefined && r >= cutoff) continue;
    E += f(r) - fc;
    const df = dfdr(r);
    for (let a = 0; a < dim; a++) {
      F[i * dim + a]! -= (df * d[a]!) / r;
      F[j * dim + a]! += (df * d[a]!) / r;
    }
  }
  return { E, F };
}

function randomSystem(rng: () => number, n: number, dim: number, box: number[]): Float64Array {
  // Jittered grid so no two particles overlap.
  const side = Math.ceil(n ** (1 / dim));
  const q = new Float64Array(n * dim);
  for (let i = 0; i < n; i++) {
    let c = i;
    for (let a = 0; a < dim; a++) {
      const cell = c % side;
      c = Math.floor(c / side);
      q[i * dim + a] = ((cell + 0.5 + 0.3 * (rng() - 0.5)) * box[a]!) / side + (rng() < 0.3 ? box[a]! : 0);
    }
  }
  return q;
}

const values = (pot: Pot, names: Expr[]) => names.map((p) => Float64Array.of(pot.params[p.attrs.name as string]!));
const rel = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) { num = Math.max(num, Math.abs(a[i]! - b[i]!)); den = Math.max(den, Math.abs(b[i]!)); }
  return num / den;
};

describe('pairSum', () => {
  const rng = seededRandom(7);
  for (const dim of [2, 3]) {
    for (const pot of potentials) {
      for (const mode of ['open', 'box', 'cutoff', 'shift'] as const) {
        it(`${pot.name}, ${dim}D, ${mode}: energy and forces vs an O(N²) reference (f64, evaluator and compiled JS)`, () => {
          const n = 11;
          const box = Array.from({ length: dim }, () => 3 + 2 * rng());
          const q = input('q', 'q', [n * dim]);
          const cutoff = mode === 'cutoff' || mode === 'shift' ? 0.45 * Math.min(...box) : undefined;
          const E = pairSum(q, { n, dim, potential: pot.V, box: mode === 'open' ? undefined : box, cutoff, shift: mode === 'shift' });
          const [dE] = gradient(E, [q]);
          const params = [eps, sig, k, r0].filter((p) => (p.attrs.name as string) in pot.params);
          const qv = randomSystem(rng, n, dim, box);
          const ref = reference(qv, n, dim, pot.f, pot.df, mode === 'open' ? undefined : box, cutoff, mode === 'shift');
          const outs = [new Float64Array(1), new Float64Array(n * dim)];
          graphEvaluator([q, ...params], [E, dE!])([qv, ...values(pot, params)], outs);
          expect(Math.abs(outs[0]![0]! - ref.E) / Math.abs(ref.E)).toBeLessThan(1e-12);
          expect(rel(outs[1]!.map((x) => -x), ref.F)).toBeLessThan(1e-12);
          const js = [new Float64Array(1), new Float64Array(n * dim)];
          compileJs([q, ...params], [E, dE!])([qv, ...values(pot, params)], js);
          expect(Math.abs(js[0]![0]! - ref.E) / Math.abs(ref.E)).toBeLessThan(1e-12);
          expect(rel(js[1]!, outs[1]!)).toBeLessThan(1e-12);
        });
      }
    }
  }

  it('forces match the exact analytic LJ derivative to 1e-12', () => {
    const n = 9, dim = 3, box = [4, 4.5, 5];
    const q = input('q', 'q', [n * dim]);
    const E = pairSum(q, { n, dim, potential: potentials[0]!.V, box, cutoff: 1.9 });
    const qv = randomSystem(seededRandom(3), n, dim, box);
    const [dE] = gradient(E, [q]);
    const out = [new Float64Array(n * dim)];
    compileJs([q, eps, sig], [dE!])([qv, [1.2], [0.9]], out);
    const F = new Float64Array(n * dim);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      if (i === j) continue;
      const d = [0, 1, 2].map((a) => { const x = qv[i * 3 + a]! - qv[j * 3 + a]!; return x - box[a]! * Math.round(x / box[a]!); });
      const r = Math.hypot(...d);
      if (r >= 1.9) continue;
      const dV = 4 * 1.2 * (-12 * 0.9 ** 12 / r ** 13 + 6 * 0.9 ** 6 / r ** 7);
      for (let a = 0; a < 3; a++) F[i * 3 + a]! += (dV * d[a]!) / r;
    }
    expect(rel(out[0]!, F)).toBeLessThan(1e-12);
  });

  it('graph size of H is the same for n = 8 and n = 10 000', () => {
    const sizeFor = (n: number) => {
      const q = input('q', 'q', [n * 3]), p = input('p', 'p', [n * 3]);
      const H = add(mul(0.5, index(p, 0)), pairSum(q, { n, dim: 3, potential: potentials[0]!.V, box: [30, 30, 30], cutoff: 2.5 }));
      return graphSize([H]);
    };
    expect(sizeFor(8)).toBe(sizeFor(10_000));
  });

  it('Hessian-vector product vs finite differences of the gradient; parameter gradient vs finite differences', () => {
    const n = 5, dim = 2, box = [3.3, 3.7];
    const q = input('q', 'q', [n * dim]), v = input('aux', 'v', [n * dim]);
    const E = pairSum(q, { n, dim, potential: potentials[0]!.V, box, cutoff: 1.6, shift: true });
    const [g] = gradient(E, [q]);
    const [Hv] = jvp([g!], new Map([[q, v]]));
    const [dEps, dSig] = gradient(E, [eps, sig]);
    const f = compileJs([q, v, eps, sig], [E, g!, Hv!, dEps!, dSig!]);
    const rng = seededRandom(5);
    const qv = randomSystem(rng, n, dim, box), vv = Float64Array.from({ length: n * dim }, () => rng() - 0.5);
    const run = (qq: Float64Array, e = 1.2, s = 0.9) => {
      const out = [new Float64Array(1), new Float64Array(n * dim), new Float64Array(n * dim), new Float64Array(1), new Float64Array(1)];
      f([qq, vv, [e], [s]], out);
      return out;
    };
    const base = run(qv), h = 1e-6;
    const gp = run(qv.map((x, i) => x + h * vv[i]!))[1]!, gm = run(qv.map((x, i) => x - h * vv[i]!))[1]!;
    expect(rel(base[2]!, gp.map((x, i) => (x - gm[i]!) / (2 * h)))).toBeLessThan(1e-6);
    expect(Math.abs(base[3]![0]! - (run(qv, 1.2 + h)[0]![0]! - run(qv, 1.2 - h)[0]![0]!) / (2 * h)) / Math.abs(base[3]![0]!)).toBeLessThan(1e-7);
    expect(Math.abs(base[4]![0]! - (run(qv, 1.2, 0.9 + h)[0]![0]! - run(qv, 1.2, 0.9 - h)[0]![0]!) / (2 * h)) / Math.abs(base[4]![0]!)).toBeLessThan(1e-7);
    // Mixed derivative: ∂/∂eps of the gradient (a projected pair sum through vjp).
    const [dg] = vjp([g!], [v], [eps]);
    const mixed = [new Float64Array(1)];
    compileJs([q, v, eps, sig], [dg!])([qv, vv, [1.2], [0.9]], mixed);
    const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);
    const fd = (dot(run(qv, 1.2 + h)[1]!, vv) - dot(run(qv, 1.2 - h)[1]!, vv)) / (2 * h);
    expect(Math.abs(mixed[0]![0]! - fd) / Math.abs(fd)).toBeLessThan(1e-7);
  });

  it('refuses bad input', () => {
    const q = input('q', 'q', [6]);
    const code = (f: () => unknown) => { try { f(); } catch (e) { return e instanceof DarbouxError ? e.code : 'other'; } return 'none'; };
    const V = potentials[1]!.V;
    expect(code(() => pairSum(q, { n: 3, dim: 2, potential: V, box: [4, 4], cutoff: 2.5 }))).toBe('OPTION');
    expect(code(() => pairSum(q, { n: 3, dim: 2, potential: V, cutoff: 0 }))).toBe('OPTION');
    expect(code(() => pairSum(q, { n: 3, dim: 2, potential: V, box: [4, -1] }))).toBe('SPEC');
    expect(code(() => pairSum(q, { n: 4, dim: 2, potential: V }))).toBe('SPEC');
    expect(code(() => edgeSum(q, { n: 3, dim: 2, potential: V, edges: [[0, 3]] }))).toBe('SPEC');
    expect(code(() => edgeSum(q, { n: 3, dim: 2, potential: V, edges: [[1, 1]] }))).toBe('SPEC');
    expect(code(() => pairSum(q, { n: 1.5, dim: 2, potential: V }))).toBe('SPEC');
  });
});

describe('edgeSum and siteSum', () => {
  it('edge sum: energy and forces vs reference; site sum: energy and gradient vs closed form', () => {
    const n = 6, dim = 2, box = [5, 6];
    const edges: [number, number][] = [[0, 1], [1, 2], [2, 3], [3, 4], [4, 5], [5, 0], [0, 3]];
    const q = input('q', 'q', [n * dim]);
    const pot = potentials[2]!;
    const E = edgeSum(q, { n, dim, edges, potential: pot.V, box });
    const g = param('g');
    const U = siteSum(q, { n, dim, body: (x) => add(mul(g, index(x, 1)), mul(0.5, powi(index(x, 0), 2))) });
    const [dE] = gradient(E, [q]);
    const [dU, dg] = gradient(U, [q, g]);
    const qv = randomSystem(seededRandom(11), n, dim, box);
    const ref = reference(qv, n, dim, pot.f, pot.df, box, undefined, false, edges);
    const out = [new Float64Array(1), new Float64Array(n * dim), new Float64Array(1), new Float64Array(n * dim), new Float64Array(1)];
    compileJs([q, eps, r0, g], [E, dE!, U, dU!, dg!])([qv, [1.2], [1.1], [0.7]], out);
    expect(Math.abs(out[0]![0]! - ref.E) / ref.E).toBeLessThan(1e-12);
    expect(rel(out[1]!.map((x) => -x), ref.F)).toBeLessThan(1e-12);
    let Uref = 0, ySum = 0;
    const dUref = new Float64Array(n * dim);
    for (let i = 0; i < n; i++) { Uref += 0.7 * qv[2 * i + 1]! + 0.5 * qv[2 * i]! ** 2; ySum += qv[2 * i + 1]!; dUref[2 * i] = qv[2 * i]!; dUref[2 * i + 1] = 0.7; }
    expect(Math.abs(out[2]![0]! - Uref) / Math.abs(Uref)).toBeLessThan(1e-12);
    expect(rel(out[3]!, dUref)).toBeLessThan(1e-12);
    expect(Math.abs(out[4]![0]! - ySum) / Math.abs(ySum)).toBeLessThan(1e-12);
  });
});

describe('pair sums as IR nodes', () => {
  it('JSON round trip gives the identical node; printing shows the body; equal bodies intern to one node', () => {
    const q = input('q', 'q', [8]);
    const E = pairSum(q, { n: 4, dim: 2, potential: potentials[0]!.V, box: [5, 5], cutoff: 2, shift: true });
    expect(deserializeGraph(serializeGraph(E))[0]).toBe(E);
    expect(pairSum(q, { n: 4, dim: 2, potential: potentials[0]!.V, box: [5, 5], cutoff: 2, shift: true })).toBe(E);
    const [g] = gradient(E, [q]);
    expect(deserializeGraph(serializeGraph(g!))[0]).toBe(g);
    const text = printExpr(E);
    expect(text).toContain('pairSum(q, ');
    expect(text).toContain('r ↦');
    expect(text).not.toContain('"op"');
  });
});

describe('overlapping particles', () => {
  it('evaluation refuses r = 0 with NONFINITE naming the pair', () => {
    const q = input('q', 'q', [6]);
    const E = pairSum(q, { n: 3, dim: 2, potential: potentials[1]!.V });
    const h = new Hamiltonian({ H: add(E, mul(0, index(input('p', 'p', [6]), 0))), q, p: input('p', 'p', [6]), params: { k: 3, r0: 1.1 } });
    let err: unknown;
    try { h.energy([0, 0, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0]); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(DarbouxError);
    expect((err as DarbouxError).code).toBe('NONFINITE');
    expect((err as DarbouxError).details).toMatchObject({ i: 1, j: 2 });
  });
});

describe('a learned pair potential (an MLP of r) inside a pair sum', () => {
  it('energy, forces and parameter gradients (vectors of 32) compiled ≡ evaluator, and vs finite differences', () => {
    const n = 5, dim = 3, h = 32, box = [3.5, 3.6, 3.7];
    const W = param('W', [h]), b = param('b', [h]), w = param('w', [h]);
    const q = input('q', 'q', [n * dim]);
    const E = pairSum(q, { n, dim, box, cutoff: 1.7, shift: true, potential: (r) => dot(w, tanh(add(mul(W, r), b))) });
    const [dq] = gradient(E, [q]);
    const [dW, db, dw] = gradient(E, [W, b, w]);
    const rng = seededRandom(9);
    const vals = [W, b, w].map(() => Float64Array.from({ length: h }, () => rng() - 0.5));
    const qv = randomSystem(rng, n, dim, box);
    const outputs = [E, dq!, dW!, db!, dw!];
    const want = outputs.map((o) => new Float64Array(o.shape.length === 0 ? 1 : o.shape[0]!));
    const got = outputs.map((o) => new Float64Array(o.shape.length === 0 ? 1 : o.shape[0]!));
    graphEvaluator([q, W, b, w], outputs)([qv, ...vals], want);
    compileJs([q, W, b, w], outputs)([qv, ...vals], got);
    want.forEach((x, k) => expect(rel(got[k]!, x), `output ${k}`).toBeLessThan(1e-12));
    const energy = (vs: Float64Array[]) => { const o = [new Float64Array(1)]; graphEvaluator([q, W, b, w], [E])([qv, ...vs], o); return o[0]![0]!; };
    const e = 1e-6;
    for (const [k, grad] of [[0, want[2]!], [1, want[3]!], [2, want[4]!]] as const) {
      for (const at of [0, 7, 31]) {
        const up = vals.map((v) => Float64Array.from(v)), dn = vals.map((v) => Float64Array.from(v));
        up[k]![at]! += e; dn[k]![at]! -= e;
        const fd = (energy(up) - energy(dn)) / (2 * e);
        expect(Math.abs(grad[at]! - fd)).toBeLessThan(1e-7 * Math.max(1, Math.abs(fd)));
      }
    }
  });
});

describe('second derivatives in parameters', () => {
  it('∂/∂eps and ∂/∂sig of ⟨c, H v⟩ (a pair sum on two vectors) vs finite differences', () => {
    const n = 5, dim = 3, box = [3.4, 3.5, 3.6];
    const q = input('q', 'q', [n * dim]), v = input('aux', 'v', [n * dim]), c = input('aux', 'c', [n * dim]);
    const E = pairSum(q, { n, dim, potential: potentials[0]!.V, box, cutoff: 1.7 });
    const [Hv] = jvp([gradient(E, [q])[0]!], new Map([[q, v]]));
    const [dEps, dSig] = vjp([Hv!], [c], [eps, sig]);
    const rng = seededRandom(33);
    const qv = randomSystem(rng, n, dim, box);
    const vv = Float64Array.from({ length: n * dim }, () => rng() - 0.5), cv = Float64Array.from({ length: n * dim }, () => rng() - 0.5);
    const f = compileJs([q, v, c, eps, sig], [Hv!, dEps!, dSig!]);
    const at = (e: number, s: number) => {
      const out = [new Float64Array(n * dim), new Float64Array(1), new Float64Array(1)];
      f([qv, vv, cv, [e], [s]], out);
      return out;
    };
    const chv = (e: number, s: number) => at(e, s)[0]!.reduce((acc, x, i) => acc + x * cv[i]!, 0);
    const base = at(1.2, 0.9), h = 1e-6;
    const fdEps = (chv(1.2 + h, 0.9) - chv(1.2 - h, 0.9)) / (2 * h), fdSig = (chv(1.2, 0.9 + h) - chv(1.2, 0.9 - h)) / (2 * h);
    expect(Math.abs(base[1]![0]! - fdEps) / Math.abs(fdEps)).toBeLessThan(1e-6);
    expect(Math.abs(base[2]![0]! - fdSig) / Math.abs(fdSig)).toBeLessThan(1e-6);
  });
});

describe('derivatives the pair ops do not have are refused, never zero', () => {
  it('third derivatives throw SPEC where needed; reverse-over-forward in v works', () => {
    const n = 4, dim = 2;
    const q = input('q', 'q', [n * dim]), v = input('aux', 'v', [n * dim]), c = input('aux', 'c', [n * dim]);
    const E = pairSum(q, { n, dim, potential: potentials[0]!.V, box: [3, 3], cutoff: 1.4 });
    const [g] = gradient(E, [q]);
    const [Hv] = jvp([g!], new Map([[q, v]]));
    const code = (f: () => unknown) => { try { f(); } catch (e) { return e instanceof DarbouxError ? e.code : 'other'; } return 'none'; };
    expect(code(() => vjp([Hv!], [c], [q]))).toBe('SPEC');
    expect(code(() => jvp([Hv!], new Map([[q, c]])))).toBe('SPEC');
    // ⟨c, H v⟩ is symmetric in (c, v): its v-gradient is H c.
    const [Hc] = vjp([Hv!], [c], [v]);
    const [Hc2] = jvp([g!], new Map([[q, c]]));
    const rng = seededRandom(21);
    const vals = [randomSystem(rng, n, dim, [3, 3]), ...[0, 1].map(() => Float64Array.from({ length: n * dim }, () => rng() - 0.5))];
    const out = [new Float64Array(n * dim), new Float64Array(n * dim)];
    graphEvaluator([q, v, c, eps, sig], [Hc!, Hc2!])([...vals, [1.2], [0.9]], out);
    expect(rel(out[0]!, out[1]!)).toBeLessThan(1e-12);
  });
});
