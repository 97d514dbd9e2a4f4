import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compile, constant, DarbouxError, doublePendulum, parse, symplecticDefect, type Expr } from '../../src/index.js';
import { solveLinearSystem } from '../../src/internals.js';

const IMPLICIT = ['midpoint', 'gauss4', 'gauss6'];

describe('symbolic dense solve', () => {
  it('solves random diagonally dominant systems like a numeric solver', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 42, maxLength: 42 }), (m, r) => {
        const A = Array.from({ length: m }, (_, i) => Array.from({ length: m }, (_, j) => (i === j ? 4 : 0) + r[i * m + j]!));
        const b = Array.from({ length: m }, (_, i) => r[36 + i]!);
        const x = solveLinearSystem(A.map((row) => row.map((v) => constant(v))), b.map((v) => constant(v)));
        // Every entry is a constant, so the elimination folded to numbers: check the residual A·x − b.
        const xs = x.map((e: Expr) => e.attrs.value as number);
        for (let i = 0; i < m; i++) {
          const lhs = A[i]!.reduce((s, a, j) => s + a * xs[j]!, 0);
          expect(Math.abs(lhs - b[i]!)).toBeLessThan(1e-12);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('refuses a structurally zero pivot and non-square systems', () => {
    expect(() => solveLinearSystem([[constant(0), constant(1)], [constant(1), constant(0)]], [constant(1), constant(1)])).toThrow(/zero pivot/);
    expect(() => solveLinearSystem([[constant(1)]], [constant(1), constant(2)])).toThrow(DarbouxError);
  });
});

describe('Newton iteration for implicit steps', () => {
  // A stiff oscillator: ω = 100, h = 0.05, so h·ω = 5 and the plain fixed-point iteration diverges.
  const stiff = parse({ q: ['x'], p: ['px'], H: 'px^2/2 + 1e4*x^2/2' });

  it('plain fixed-point iteration fails loudly on a stiff problem', async () => {
    const st = await compile(stiff, { method: 'midpoint', dt: 0.05, backend: 'cpu' });
    await expect(st.run({ q0: [1], p0: [0], steps: 3 })).rejects.toMatchObject({ code: 'NO_CONVERGENCE' });
  });

  for (const solver of ['newton', 'simplifiedNewton'] as const) {
    for (const method of IMPLICIT) {
      it(`${solver} solves the stiff ${method} step, conserving the quadratic energy exactly`, async () => {
        const st = await compile(stiff, { method, dt: 0.05, backend: 'cpu', solver });
        const r = await st.run({ q0: [1], p0: [0], steps: 2000 });
        const e0 = stiff.energy([1], [0]);
        // Gauss–Legendre methods conserve quadratic invariants: only rounding remains.
        expect(Math.abs(stiff.energy(r.q, r.p) - e0) / e0).toBeLessThan(1e-11);
        // A linear problem: Newton lands on the solution in one update; the rest only polish rounding.
        if (solver === 'newton') expect(r.stats!.iterations.max).toBeLessThanOrEqual(4);
        expect(symplecticDefect(st.jacobian([0.3], [2]))).toBeLessThan(1e-11);
      });
    }
  }

  it('agrees with fixed-point iteration on a non-separable problem, in fewer iterations', async () => {
    const { hamiltonian: h, q0, p0 } = doublePendulum();
    for (const method of IMPLICIT) {
      const plain = await compile(h, { method, dt: 0.01, backend: 'cpu' });
      const newton = await compile(h, { method, dt: 0.01, backend: 'cpu', solver: 'newton' });
      const a = await plain.run({ q0, p0, steps: 200 });
      const b = await newton.run({ q0, p0, steps: 200 });
      for (let i = 0; i < q0.length; i++) {
        expect(Math.abs(a.q[i]! - b.q[i]!)).toBeLessThan(1e-12);
        expect(Math.abs(a.p[i]! - b.p[i]!)).toBeLessThan(1e-12);
      }
      expect(b.stats!.iterations.mean).toBeLessThan(a.stats!.iterations.mean);
      expect(symplecticDefect(newton.jacobian(q0, p0))).toBeLessThan(1e-12);
    }
  });

  it('rejects an unknown solver', async () => {
    await expect(compile(stiff, { method: 'midpoint', dt: 0.05, backend: 'cpu', solver: 'broyden' as never })).rejects.toThrow(/unknown solver 'broyden'/);
  });
});

describe('parameter specialisation', () => {
  it('compiles small parameters in as constants without changing results', async () => {
    const { specializeParameters } = await import('../../src/integrators/specialize.js');
    const { compileJsRunner, JS_FIXED_POINT } = await import('../../src/codegen/emit-js-stepper.js');
    const { henonHeiles, coupledOscillator } = await import('../../src/index.js');
    const { stepProgram } = await import('../../src/internals.js');
    for (const [model, method] of [[henonHeiles({ lambda: 0.7 }), 'yoshida4'], [coupledOscillator(), 'gauss4']] as const) {
      const program = stepProgram(model.hamiltonian, method);
      const generic = compileJsRunner(program, JS_FIXED_POINT), special = compileJsRunner(specializeParameters(program), JS_FIXED_POINT);
      // The parameter is still bound (unused) but no arithmetic reads it any more.
      const uses = (source: string) => (source.match(/\bth0\b/g) ?? []).length;
      expect(uses(generic.source)).toBeGreaterThan(1);
      expect(uses(special.source)).toBe(1);
      const n = model.q0.length;
      const run = (runner: typeof generic) => {
        const Q = Float64Array.from(model.q0), P = Float64Array.from(model.p0);
        runner(Q, P, model.hamiltonian.paramValues, 1, 100, model.dt, 0, 0, null, null);
        return [...Q, ...P];
      };
      const a = run(generic), b = run(special);
      for (let i = 0; i < 2 * n; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-13);
    }
  });
});

describe('GPU options are validated before any device work', () => {
  it('rejects non-positive or fractional dispatch sizes', async () => {
    const h = parse({ q: ['x'], p: ['px'], H: 'px^2/2 + x^2/2' });
    await expect(compile(h, { dt: 0.1, backend: 'gpu', stepsPerDispatch: 0 })).rejects.toThrow(/stepsPerDispatch must be a positive integer/);
    await expect(compile(h, { dt: 0.1, backend: 'gpu', maxTrajectoriesPerChunk: 2.5 })).rejects.toThrow(/maxTrajectoriesPerChunk/);
  });
});

describe('exact gradients of stiff implicit steps (Newton in the backward solves too)', () => {
  it('st.vjp through Newton-solved midpoint and gauss4 matches finite differences, in reverse and store modes', async () => {
    const h = parse({ q: ['x'], p: ['px'], H: 'px^2/2 + k*x^2/2 + x^4/4', params: { k: 1e4 } });
    for (const method of ['midpoint', 'gauss4']) {
      const st = await compile(h, { method, dt: 0.05, backend: 'cpu', solver: 'newton' });
      const args = { q0: [0.3], p0: [1], steps: 20, dq: [1], dp: [0.5] };
      const reverse = await st.vjp({ ...args, memory: 'reverse' }), store = await st.vjp({ ...args, memory: 'store' });
      const value = async (k: number) => {
        const r = await (await compile(h.withParams({ k }), { method, dt: 0.05, backend: 'cpu', solver: 'newton' })).run({ q0: [0.3], p0: [1], steps: 20 });
        return r.q[0]! + 0.5 * r.p[0]!;
      };
      const fd = ((await value(1e4 + 1e-2)) - (await value(1e4 - 1e-2))) / 2e-2;
      expect(Math.abs((reverse.dparams.k as number) - fd)).toBeLessThan(1e-8 * Math.abs(fd) + 1e-12);
      expect(Math.abs((store.dparams.k as number) - (reverse.dparams.k as number))).toBeLessThan(1e-12);
      // The plain fixed-point iteration cannot do it: an error, never a wrong gradient.
      const plain = await compile(h, { method, dt: 0.05, backend: 'cpu' });
      await expect(plain.vjp({ ...args, memory: 'store' })).rejects.toMatchObject({ code: 'NO_CONVERGENCE' });
    }
  });
});
