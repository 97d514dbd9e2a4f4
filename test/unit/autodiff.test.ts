import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  abs, add, constant, cos, cosh, div, dot, exp, index, input, log, matvec, mul, param, pow,
  powi, sigmoid, sin, sinh, softplus, sqrt, stack, sub, sum, tan, tanh, type Expr,
} from '../../src/index.js';
import { compileJs, gradient, jvp, vjp } from '../../src/internals.js';
import { arbitraryExpr } from './arbitrary.js';

const evaluate = (inputs: Expr[], outputs: Expr[], values: number[][]) => {
  const f = compileJs(inputs, outputs);
  const outs = outputs.map((o) => new Float64Array(Math.max(1, o.shape.reduce((a, b) => a * b, 1))));
  f(values, outs);
  return outs;
};

describe('closed-form derivative table', () => {
  const z = input('aux', 'z', [1]);
  const x = index(z, 0);
  const table: [string, (e: Expr) => Expr, (v: number) => number, number][] = [
    ['sin', sin, Math.cos, 0.7],
    ['cos', cos, (v) => -Math.sin(v), 0.7],
    ['tan', tan, (v) => 1 / Math.cos(v) ** 2, 0.7],
    ['exp', exp, Math.exp, 0.7],
    ['log', log, (v) => 1 / v, 0.7],
    ['sqrt', sqrt, (v) => 0.5 / Math.sqrt(v), 0.7],
    ['tanh', tanh, (v) => 1 - Math.tanh(v) ** 2, 0.7],
    ['sinh', sinh, Math.cosh, 0.7],
    ['cosh', cosh, Math.sinh, 0.7],
    ['abs', abs, Math.sign, -0.7],
    ['softplus', softplus, (v) => 1 / (1 + Math.exp(-v)), 0.7],
    ['sigmoid', sigmoid, (v) => Math.exp(-v) / (1 + Math.exp(-v)) ** 2, 0.7],
    ['x^5', (e) => powi(e, 5), (v) => 5 * v ** 4, 0.7],
    ['x^-3', (e) => powi(e, -3), (v) => -3 * v ** -4, 0.7],
    ['x^2.5', (e) => pow(e, 2.5), (v) => 2.5 * v ** 1.5, 0.7],
    ['2^x', (e) => pow(2, e), (v) => Math.log(2) * 2 ** v, 0.7],
    ['1/x', (e) => div(1, e), (v) => -1 / v ** 2, 0.7],
    ['x·sin x', (e) => mul(e, sin(e)), (v) => Math.sin(v) + v * Math.cos(v), 0.7],
  ];
  it.each(table)('d/dx %s', (_name, f, df, at) => {
    const [g] = gradient(f(x), [z]);
    const [out] = evaluate([z], [g!], [[at]]);
    expect(out![0]).toBeCloseTo(df(at), 13);
  });
});

describe('reverse mode', () => {
  const dof = 3;
  const z = input('aux', 'z', [dof]);
  const leaves = Array.from({ length: dof }, (_, i) => index(z, i));

  it('symbolic gradient equals central finite differences', () => {
    fc.assert(
      fc.property(arbitraryExpr(leaves, 4), fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: dof, maxLength: dof }), (f, point) => {
        const [g] = gradient(f, [z]);
        const fn = compileJs([z], [f]);
        const [grad] = evaluate([z], [g!], [point]);
        const at = (v: number[]) => {
          const out = [new Float64Array(1)];
          fn([v], out);
          return out[0]![0]!;
        };
        for (let i = 0; i < dof; i++) {
          const h = 1e-5;
          const plus = [...point], minus = [...point];
          plus[i]! += h;
          minus[i]! -= h;
          const fd = (at(plus) - at(minus)) / (2 * h);
          expect(Math.abs(grad![i]! - fd)).toBeLessThan(1e-5 * (1 + Math.abs(fd)));
        }
      }),
      { numRuns: 150 },
    );
  });

  it('JVP and VJP agree: ⟨u, J v⟩ = ⟨Jᵀ u, v⟩', () => {
    const v = input('aux', 'v', [dof]), u = input('aux', 'u', [2]);
    fc.assert(
      fc.property(arbitraryExpr(leaves, 3), arbitraryExpr(leaves, 3), fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 3 * dof + 2, maxLength: 3 * dof + 2 }), (f0, f1, r) => {
        const F = stack([f0, f1]);
        const [Jv] = jvp([F], new Map([[z, v]]));
        const [JTu] = vjp([F], [u], [z]);
        const lhs = Jv === null ? constant(0) : dot(u, Jv);
        const rhs = dot(JTu!, v);
        const [a, b] = evaluate([z, v, u], [lhs, rhs], [r.slice(0, dof), r.slice(dof, 2 * dof), r.slice(2 * dof, 2 * dof + 2)]);
        expect(Math.abs(a![0]! - b![0]!)).toBeLessThan(1e-10 * (1 + Math.abs(a![0]!)));
      }),
      { numRuns: 150 },
    );
  });

  it('differentiates tensor ops: gradient of vᵀ tanh(W q + b) matches finite differences', () => {
    const q = input('q', 'q', [2]);
    const W = param('W', [5, 2]), b = param('b', [5]), c = param('c', [5]);
    const H = dot(c, tanh(add(matvec(W, q), b)));
    const [gq, gW] = gradient(H, [q, W]);
    const Wv = [0.3, -0.2, 0.5, 0.1, -0.4, 0.7, 0.2, 0.2, -0.6, 0.05], bv = [0.1, 0, -0.1, 0.2, 0.3], cv = [1, -1, 0.5, 0.25, 2];
    const qv = [0.4, -0.3];
    const [g, gw] = evaluate([q, W, b, c], [gq!, gW!], [qv, Wv, bv, cv]);
    const f = compileJs([q, W, b, c], [H]);
    const at = (qq: number[], ww: number[]) => {
      const out = [new Float64Array(1)];
      f([qq, ww, bv, cv], out);
      return out[0]![0]!;
    };
    const h = 1e-6;
    for (let i = 0; i < 2; i++) {
      const p = [...qv], m = [...qv];
      p[i]! += h;
      m[i]! -= h;
      expect(g![i]).toBeCloseTo((at(p, Wv) - at(m, Wv)) / (2 * h), 8);
    }
    for (let k = 0; k < 10; k++) {
      const p = [...Wv], m = [...Wv];
      p[k]! += h;
      m[k]! -= h;
      expect(gw![k]).toBeCloseTo((at(qv, p) - at(qv, m)) / (2 * h), 8);
    }
  });

  it('broadcast scalars get summed cotangents', () => {
    const s = input('aux', 's', [1]);
    const v = param('v', [4]);
    const f = sum(mul(index(s, 0), v)); // s · Σ v
    const [g] = gradient(f, [s]);
    const [out] = evaluate([s, v], [g!], [[2], [1, 2, 3, 4]]);
    expect(out![0]).toBe(10);
  });

  it('shares work: the gradient of a repeated subexpression is built once', () => {
    const x = leaves[0]!;
    let e: Expr = x;
    for (let k = 0; k < 200; k++) e = sin(add(e, mul(e, e))); // a chain with reuse at every level
    const [g] = gradient(e, [z]);
    // The value, against forward-mode dual numbers in plain JS: e ← sin(e + e²), ė ← cos(e + e²)·(1 + 2e)·ė.
    const x0 = -0.05; // slowly attracted to a fixed point near 0: the derivative stays O(1e-2) over 200 levels
    let value = x0, derivative = 1;
    for (let k = 0; k < 200; k++) {
      derivative *= Math.cos(value + value * value) * (1 + 2 * value);
      value = Math.sin(value + value * value);
    }
    const [grad] = evaluate([z], [g!], [[x0, 0.8, -0.4]]);
    expect(Math.abs(derivative)).toBeGreaterThan(1e-6); // a nonzero derivative, so the check below means something
    expect(Math.abs(grad![0]! - derivative)).toBeLessThan(1e-10 * Math.abs(derivative));
    expect([grad![1], grad![2]]).toEqual([0, 0]);
    const nodes = new Set<Expr>();
    const walk = (n: Expr) => {
      if (nodes.has(n)) return;
      nodes.add(n);
      n.args.forEach(walk);
    };
    walk(g!);
    expect(nodes.size).toBeLessThan(200 * 12);
  });

  it('Hessian-vector products are the JVP of the gradient', () => {
    const [x, y] = leaves as [Expr, Expr];
    const f = add(mul(powi(x, 3), y), sin(y));
    const [g] = gradient(f, [z]);
    const t = input('aux', 't', [dof]);
    const [hv] = jvp([g!], new Map([[z, t]]));
    const [out] = evaluate([z, t], [hv!], [[0.5, 0.3, 0], [1, 2, 0]]);
    // Hessian = [[6xy, 3x²], [3x², −sin y]] at (0.5, 0.3).
    expect(out![0]).toBeCloseTo(6 * 0.5 * 0.3 * 1 + 3 * 0.25 * 2, 14);
    expect(out![1]).toBeCloseTo(3 * 0.25 * 1 - Math.sin(0.3) * 2, 14);
    void sub;
  });
});
