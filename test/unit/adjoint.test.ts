import { describe, expect, it } from 'vitest';
import {
  add, compile, cos, DarbouxError, dot, doublePendulum, hamiltonian, henonHeiles, kepler, matvec, methodNames, mul, param,
  hnn, phaseSpace, sum, tanh, time, type Hamiltonian, type Stepper, type VjpResult,
} from '../../src/index.js';
import { programVjp, stepProgram } from '../../src/internals.js';
import { jsRunners } from '../../src/backends/cpu/runners.js';

const IMPLICIT = ['midpoint', 'gauss4', 'gauss6'];

/** A separable H whose potential is a small tanh network: V(q) = w·tanh(Wq + b) + |q|²/2. */
function tanhNetwork(): Hamiltonian {
  const s = phaseSpace(2);
  const V = add(dot(param('w', [2]), tanh(add(matvec(param('W', [2, 2]), s.q), param('b', [2])))), mul(0.5, dot(s.q, s.q)));
  return hamiltonian(s, add(mul(0.5, dot(s.p, s.p)), V), { params: { W: [0.8, -0.3, 0.5, 1.1], b: [0.1, -0.2], w: [0.7, -0.4] } });
}

/** A non-separable H with a tensor coupling: |p|²/2 + |q|²/2 + c·p·Mq + sum(tanh(Mq))/4 (implicit methods only). */
function coupledNetwork(): Hamiltonian {
  const s = phaseSpace(2);
  const Mq = matvec(param('M', [2, 2]), s.q);
  const H = add(add(mul(0.5, add(dot(s.p, s.p), dot(s.q, s.q))), mul(param('c'), dot(s.p, Mq))), mul(0.25, sum(tanh(Mq))));
  return hamiltonian(s, H, { params: { M: [0.6, -0.2, 0.3, 0.9], c: 0.3 } });
}

/** A driven oscillator H = p²/2 + q²/2 − ε q cos t: time-dependent, to check the time of every backward step. */
function driven(): Hamiltonian {
  const s = phaseSpace(1);
  const H = add(mul(0.5, add(dot(s.p, s.p), dot(s.q, s.q))), mul(mul(-1, param('eps')), mul(sum(s.q), cos(time()))));
  return hamiltonian(s, H, { params: { eps: 0.4 } });
}

/** A system to test each method on: separable for the explicit methods, non-separable for the implicit ones. */
const systemFor = (method: string) => (IMPLICIT.includes(method) || method === 'rk4' ? coupledNetwork() : tanhNetwork());

/** Deterministic batch of states and cotangents around a point. */
function inputs(dof: number, batch: number, seed = 1) {
  const wave = (k: number, a: number) => a * Math.sin(seed * 1.7 + 2.3 * k);
  const arr = (a: number, off: number) => Float64Array.from({ length: batch * dof }, (_, k) => wave(k + off, a));
  return { q0: arr(0.5, 0), p0: arr(0.4, 7), dq: arr(1, 13), dp: arr(1, 29), batch };
}

/** ⟨dq, q_N⟩ + ⟨dp, p_N⟩ for a run. */
async function objective(st: Stepper, x: ReturnType<typeof inputs>, steps: number, t0 = 0): Promise<number> {
  const { q, p } = await st.run({ q0: x.q0, p0: x.p0, steps, batch: x.batch, t0 });
  let s = 0;
  for (let i = 0; i < q.length; i++) s += x.dq[i]! * q[i]! + x.dp[i]! * p[i]!;
  return s;
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
};

/** Largest difference between two vjp results over every output, relative to their scale. */
function resultDifference(a: VjpResult, b: VjpResult): number {
  const flat = (r: VjpResult) => [...r.dq0, ...r.dp0, ...Object.values(r.dparams).flatMap((v) => (typeof v === 'number' ? [v] : [...v]))];
  const x = flat(a), y = flat(b);
  const scale = Math.max(1, ...y.map(Math.abs));
  return maxDiff(x, y) / scale;
}

describe('vjp of one step equals Jᵀ·cotangent (f64, every method)', () => {
  for (const method of methodNames()) {
    it(method, async () => {
      const h = systemFor(method);
      const st = await compile(h, { method, dt: 0.05, backend: 'cpu' });
      const x = inputs(2, 3);
      for (const memory of method === 'rk4' ? (['store', 'checkpoint'] as const) : (['reverse', 'store', 'checkpoint'] as const)) {
        const r = await st.vjp({ ...x, steps: 1, memory });
        for (let b = 0; b < x.batch; b++) {
          const J = st.jacobian(x.q0.subarray(2 * b, 2 * b + 2), x.p0.subarray(2 * b, 2 * b + 2));
          const lam = [x.dq[2 * b]!, x.dq[2 * b + 1]!, x.dp[2 * b]!, x.dp[2 * b + 1]!];
          const expected = [0, 1, 2, 3].map((j) => lam.reduce((s, l, i) => s + l * J[i * 4 + j]!, 0));
          const got = [r.dq0[2 * b]!, r.dq0[2 * b + 1]!, r.dp0[2 * b]!, r.dp0[2 * b + 1]!];
          expect(maxDiff(got, expected), `${memory}, trajectory ${b}`).toBeLessThan(1e-12);
        }
      }
      st.dispose();
    });
  }
});

describe('vjp over many steps equals central finite differences (state and parameters)', () => {
  const cases: [string, () => Hamiltonian, number][] = [
    ['leapfrog', () => henonHeiles().hamiltonian, 0.05],
    ['midpoint', () => henonHeiles().hamiltonian, 0.05],
    ['yoshida4', tanhNetwork, 0.05],
    ['gauss4', coupledNetwork, 0.05],
    ['leapfrog', driven, 0.1],
    ['midpoint', driven, 0.1],
    ['rk4', coupledNetwork, 0.05],
  ];
  for (const [method, build, dt] of cases) {
    it(`${method} on ${build === driven ? 'a driven oscillator (t0 = 0.3)' : build().params.map((p) => p.attrs.name).join(', ')}`, async () => {
      const h = build();
      const steps = 60, t0 = build === driven ? 0.3 : 0, eps = 1e-6;
      const st = await compile(h, { method, dt, backend: 'cpu' });
      const x = inputs(h.dof, 2, 3);
      const r = await st.vjp({ ...x, steps, t0 });
      const fd = async (perturb: (x: ReturnType<typeof inputs>, e: number) => ReturnType<typeof inputs>, stepper = (_e: number) => Promise.resolve(st)) => {
        const up = await objective(await stepper(eps), perturb(x, eps), steps, t0);
        const down = await objective(await stepper(-eps), perturb(x, -eps), steps, t0);
        return (up - down) / (2 * eps);
      };
      for (const key of ['q0', 'p0'] as const) {
        for (let i = 0; i < x.batch * h.dof; i++) {
          const shifted = (y: ReturnType<typeof inputs>, e: number) => {
            const z = { ...y, [key]: y[key].slice() };
            z[key][i]! += e;
            return z;
          };
          const got = (key === 'q0' ? r.dq0 : r.dp0)[i]!;
          expect(Math.abs(got - (await fd(shifted))), `${key}[${i}]`).toBeLessThan(1e-6 * Math.max(1, Math.abs(got)));
        }
      }
      const values = h.paramsByName();
      for (const [name, value] of Object.entries(values)) {
        const n = typeof value === 'number' ? 1 : value.length;
        for (let i = 0; i < n; i++) {
          const moved = (e: number) => {
            const v = typeof value === 'number' ? value + e : Float64Array.from(value, (w, k) => (k === i ? w + e : w));
            return compile(h.withParams({ [name]: v }), { method, dt, backend: 'cpu' });
          };
          const got = r.dparams[name];
          const g = typeof got === 'number' ? got : got![i]!;
          expect(typeof got === 'number').toBe(typeof value === 'number');
          expect(Math.abs(g - (await fd((y) => y, moved))), `${name}[${i}]`).toBeLessThan(1e-6 * Math.max(1, Math.abs(g)));
        }
      }
      st.dispose();
    });
  }
});

describe("memory modes agree: 'reverse' and 'checkpoint' equal 'store' to 1e-10 (f64)", () => {
  for (const method of methodNames()) {
    it(method, async () => {
      const h = systemFor(method);
      const st = await compile(h, { method, dt: 0.05, backend: 'cpu' });
      const x = { ...inputs(2, 3, 5), steps: 37, t0: 0.25 };
      const store = await st.vjp({ ...x, memory: 'store' });
      expect(store.memory.mode).toBe('store');
      const checkpoint = await st.vjp({ ...x, memory: 'checkpoint', checkpointEvery: 5 });
      expect(checkpoint.memory).toMatchObject({ mode: 'checkpoint', checkpointEvery: 5 });
      expect(resultDifference(checkpoint, store)).toBeLessThan(1e-10);
      if (method === 'rk4') {
        expect((await st.vjp(x)).memory.mode).toBe('checkpoint'); // the default where no inverse exists
      } else {
        const reverse = await st.vjp(x);
        expect(reverse.memory.mode).toBe('reverse'); // the default for reversible methods
        expect(resultDifference(reverse, store)).toBeLessThan(1e-10);
      }
      st.dispose();
    });
  }
  it('on a time-dependent H from t0 ≠ 0 (the time of each backward step), splitting and implicit methods', async () => {
    for (const method of ['leapfrog', 'symplecticEulerB', 'yoshida4', 'gauss6']) {
      const st = await compile(driven(), { method, dt: 0.1, backend: 'cpu' });
      const x = { ...inputs(1, 2), steps: 50, t0: 1.3 };
      expect(resultDifference(await st.vjp({ ...x, memory: 'reverse' }), await st.vjp({ ...x, memory: 'store' }))).toBeLessThan(1e-10);
    }
  });
});

describe('splitting methods in reverse mode: stage by stage, with values carried between backward steps', () => {
  const separableHnn = (hidden: number) => hnn({ dof: 2, hidden: [hidden], activation: 'tanh', seed: 2, separable: true }).hamiltonian!;
  for (const [method, hidden] of [['leapfrog', 8], ['leapfrog', 24], ['yoshida4', 24], ['symplecticEulerA', 24]] as const) {
    it(`${method} on a separable HNN of ${hidden} units equals 'store' to 1e-10 (activations carried ${hidden > 16 ? 'in arrays' : 'in registers'})`, async () => {
      const st = await compile(separableHnn(hidden), { method, dt: 0.05, backend: 'cpu' });
      const x = { ...inputs(2, 3, 4), steps: 25 };
      expect(resultDifference(await st.vjp({ ...x, memory: 'reverse' }), await st.vjp({ ...x, memory: 'store' }))).toBeLessThan(1e-10);
      st.dispose();
    });
  }
  it('the leapfrog backward step evaluates no more activations than the forward step (the opening force is carried)', () => {
    for (const hidden of [8, 24]) {
      const program = stepProgram(separableHnn(hidden), 'leapfrog');
      const runners = jsRunners(program);
      // Activations evaluated inside the step loop (the loop over steps is the last `for (let s` of a runner).
      const count = (source: string) => source.slice(source.indexOf('for (let s = ')).split('Math.tanh(').length - 1;
      const perLoop = hidden <= 16 ? hidden : 1; // unrolled below the unroll limit, one call per loop above it
      // Forward: T at p½ and V at q′ per step (V at q carried); backward: T at p½ and V at q_n (V at q_{n+1} carried).
      expect(count(runners.forward.source)).toBe(2 * perLoop);
      expect(count(runners.backward('reverse').source)).toBe(2 * perLoop);
    }
  });
});

describe('memory', () => {
  it("peak state bytes: constant in steps for 'reverse', linear for 'store', ~2√N·state for 'checkpoint'", async () => {
    const st = await compile(kepler().hamiltonian, { method: 'leapfrog', dt: 0.01, backend: 'cpu' });
    const x = { q0: [0.4, 0], p0: [0, 2], dq: [1, 0], dp: [0, 1] };
    const bytes = async (steps: number, memory: 'reverse' | 'store' | 'checkpoint') => (await st.vjp({ ...x, steps, memory })).memory.stateBytes;
    const state = 2 * 2 * 8; // one f64 state (q, p of dof 2)
    for (const steps of [4, 64, 1024]) {
      expect(await bytes(steps, 'reverse')).toBe(state);
      const { reconstructionError } = (await st.vjp({ ...x, steps, memory: 'reverse' })).memory;
      expect(reconstructionError).toBeGreaterThanOrEqual(0);
      expect(reconstructionError).toBeLessThan(1e-11); // rounding only: leapfrog's inverse is exact
      expect(await bytes(steps, 'store')).toBe(steps * state);
      expect(await bytes(steps, 'checkpoint')).toBe((Math.ceil(steps / Math.ceil(Math.sqrt(steps))) + Math.ceil(Math.sqrt(steps))) * state);
    }
  });
});

describe('programVjp: the trainer entry point, parameters per call', () => {
  it('equals st.vjp of the Hamiltonian with those parameters, by name or aligned, for one step and many', async () => {
    const h = tanhNetwork();
    const W = [0.5, 0.1, -0.2, 0.9];
    const st = await compile(h.withParams({ W }), { method: 'leapfrog', dt: 0.05, backend: 'cpu' });
    const x = inputs(2, 2);
    for (const steps of [1, 25]) {
      const expected = await st.vjp({ ...x, steps });
      const program = stepProgram(h, 'leapfrog');
      const byName = await programVjp(program, { ...x, steps, dt: 0.05, params: { W } });
      const aligned = await programVjp(program, { ...x, steps, dt: 0.05, params: h.withParams({ W }).paramValues });
      expect(resultDifference(byName, expected)).toBe(0);
      expect(resultDifference(aligned, expected)).toBe(0);
    }
  });
});

describe('bad input', () => {
  it('cotangents of the wrong length, unknown memory modes and bad segment lengths', async () => {
    const st = await compile(henonHeiles().hamiltonian, { method: 'leapfrog', dt: 0.05, backend: 'cpu' });
    const x = { q0: [0.1, 0.2, 0, 0.1], p0: [0.3, 0.1, 0.2, 0], steps: 10, batch: 2, dq: [1, 0, 0, 0], dp: [0, 0, 0, 1] };
    await expect(st.vjp({ ...x, dq: [1, 0, 0] })).rejects.toMatchObject({ code: 'INPUT', message: expect.stringMatching(/dq .* length batch·dof = 2·2 = 4, got 3/) });
    await expect(st.vjp({ ...x, dp: [] })).rejects.toMatchObject({ code: 'INPUT' });
    await expect(st.vjp({ ...x, memory: 'stack' as 'store' })).rejects.toMatchObject({ code: 'OPTION' });
    await expect(st.vjp({ ...x, memory: 'checkpoint', checkpointEvery: 0 })).rejects.toMatchObject({ code: 'OPTION' });
    await expect(st.vjp({ ...x, q0: [1] })).rejects.toBeInstanceOf(DarbouxError);
  });

  it("memory: 'reverse' with rk4 is refused, naming the alternatives", async () => {
    const st = await compile(henonHeiles().hamiltonian, { method: 'rk4', dt: 0.05, backend: 'cpu' });
    await expect(st.vjp({ q0: [0.1, 0.2], p0: [0.3, 0.1], steps: 3, dq: [1, 0], dp: [0, 0], memory: 'reverse' })).rejects.toMatchObject({
      code: 'OPTION',
      message: expect.stringMatching(/rk4.*'checkpoint'.*'store'/s),
    });
  });

  it('an unconverged implicit solve in the backward pass is an error, never a gradient', async () => {
    // The forward solves converge within 5 iterations here; the reconstruction (joint in z_n and the stages,
    // predicted from z_{n+1}) needs more, so 'reverse' must fail while 'store' succeeds.
    const h = doublePendulum().hamiltonian;
    const x = { q0: [0.5, -0.3], p0: [0.2, 0.1], steps: 20, dq: [1, 0], dp: [0, 1] };
    const st = await compile(h, { method: 'midpoint', dt: 0.001, backend: 'cpu', maxIterations: 5 });
    await st.run(x);
    await expect(st.vjp({ ...x, memory: 'reverse' })).rejects.toMatchObject({ code: 'NO_CONVERGENCE', message: expect.stringMatching(/backward step/) });
    const loose = await compile(h, { method: 'midpoint', dt: 0.001, backend: 'cpu' });
    const ok = await loose.vjp({ ...x, memory: 'reverse' });
    expect(resultDifference(ok, await loose.vjp({ ...x, memory: 'store' }))).toBeLessThan(1e-10);
  });
});
