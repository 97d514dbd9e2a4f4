/**
 * Lagrangian neural networks: the unconstrained LNN (Cranmer et al. 2020) and the Noether-invariant ones (Müller
 * 2023) — invariant input layers (counts and values against direct formulas), exact invariance for random θ,
 * discrete Noether charges conserved to rounding by the variational integrators, the acceleration loss and its
 * parameter gradient (against the host LU and finite differences), and learning a small system with `fit`.
 */
import { describe, expect, it } from 'vitest';
import { compile, DarbouxError, fit, hnn, integrateModel, invariantCount, lnn, noetherCharge, type LnnSymmetry } from '../../src/index.js';
import { configurationSpace } from '../../src/system/lagrangian-spec.js';
import { graphEvaluator } from '../../src/ir/evaluate-graph.js';
import { invariantLayer } from '../../src/models/neural/lnn-invariants.js';
import { compileCpuGradient } from '../../src/train/cpu-gradient.js';
import { planTraining } from '../../src/train/fit.js';

/** A seeded uniform stream in (−1, 1) (Park–Miller). */
function uniform(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 16807) % 2147483647;
    return (s / 2147483647) * 2 - 1;
  };
}

/** Samples of the isotropic oscillator a = −q in `dof` coordinates: q uniform in (−1, 1), v uniform in (−0.5, 0.5). */
function oscillatorSamples(dof: number, count: number, seed: number) {
  const r = uniform(seed);
  const q = Float64Array.from({ length: dof * count }, () => r());
  const v = Float64Array.from({ length: dof * count }, () => 0.5 * r());
  const a = q.map((x) => -x);
  return { q, v, a };
}

/** A random rotation of R^D (a product of Givens rotations in every plane), row-major. */
function randomRotation(D: number, r: () => number): Float64Array {
  const R = new Float64Array(D * D);
  for (let i = 0; i < D; i++) R[i * D + i] = 1;
  for (let i = 0; i < D; i++) {
    for (let j = i + 1; j < D; j++) {
      const t = Math.PI * r(), c = Math.cos(t), s = Math.sin(t);
      for (let k = 0; k < D; k++) {
        const a = R[i * D + k]!, b = R[j * D + k]!;
        R[i * D + k] = c * a - s * b;
        R[j * D + k] = s * a + c * b;
      }
    }
  }
  return R;
}

/** Applies a D×D matrix to every particle of a particle-major vector. */
function applyToParticles(M: Float64Array, x: ArrayLike<number>, D: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let p = 0; p < x.length / D; p++) for (let i = 0; i < D; i++) for (let k = 0; k < D; k++) out[p * D + i]! += M[i * D + k]! * x[p * D + k]!;
  return out;
}

/** The same network with |output weights| (with one softplus layer, L is then convex in v). */
function convexInV(model: ReturnType<typeof lnn>) {
  return model.withParams({ 'L.out.w': model.params['L.out.w']!.map(Math.abs) });
}

function thrown(f: () => unknown): DarbouxError {
  try {
    f();
  } catch (e) {
    return e as DarbouxError;
  }
  throw new Error('expected a throw');
}

describe('invariant input layers', () => {
  it('count the inputs as Müller\'s Tab. 2 (two particles in 4-D) and as the formulas say', () => {
    const counts = (['none', 'rotation', 'translation', 'euclidean'] as LnnSymmetry[]).map((s) => invariantCount(s, 2, 4));
    expect(counts).toEqual([16, 11, 12, 6]);
    expect(invariantCount('rotation', 1, 3)).toBe(3); // |q|², q·v, |v|² (Kepler)
    expect(invariantCount('rotation', 1, 2)).toBe(4); // … and the 2-D Levi-Civita contraction q × v
    expect(invariantCount('euclidean', 2, 3)).toBe(7); // 6 dot products of (x¹−x², v¹, v²) and their triple product
    for (const [symmetry, P, D] of [['rotation', 2, 4], ['translation', 3, 2], ['euclidean', 2, 3], ['none', 2, 2]] as const) {
      expect(lnn({ particles: P, dim: D, symmetry, hidden: [4], seed: 0 }).inputs).toBe(invariantCount(symmetry, P, D));
    }
    expect(lnn({ dof: 5, hidden: [4] }).inputs).toBe(10);
  });

  it('evaluate to the dot products and determinants written out by hand', () => {
    const s = configurationSpace(4); // two particles in 2-D
    const layer = invariantLayer(s.q, s.v, 'rotation', 2, 2);
    const f = graphEvaluator([s.q, s.v], [layer]);
    const q = [0.3, -1.2, 0.7, 0.4], v = [-0.5, 0.9, 0.2, 1.1];
    const out = [new Float64Array(16)];
    f([q, v], out);
    const vecs = [q.slice(0, 2), q.slice(2), v.slice(0, 2), v.slice(2)];
    const expected: number[] = [];
    for (let i = 0; i < 4; i++) for (let j = i; j < 4; j++) expected.push(vecs[i]![0]! * vecs[j]![0]! + vecs[i]![1]! * vecs[j]![1]!);
    for (let i = 0; i < 4; i++) for (let j = i + 1; j < 4; j++) expected.push(vecs[i]![0]! * vecs[j]![1]! - vecs[i]![1]! * vecs[j]![0]!);
    expect(Array.from(out[0]!)).toEqual(expected.map((x) => expect.closeTo(x, 14)));

    const t = configurationSpace(6); // two particles in 3-D, translations: x¹ − x², v¹, v²
    const g = graphEvaluator([t.q, t.v], [invariantLayer(t.q, t.v, 'translation', 2, 3)]);
    const out3 = [new Float64Array(9)];
    g([[1, 2, 3, 4, 6, 8], [9, 8, 7, 6, 5, 4]], out3);
    expect(Array.from(out3[0]!)).toEqual([-3, -4, -5, 9, 8, 7, 6, 5, 4]);
  });
});

describe('Noether-invariant LNNs are exactly invariant for random θ', () => {
  it('one particle in 3-D, rotation: checkSymmetry passes in every plane; the unconstrained LNN fails it', () => {
    for (const seed of [0, 1, 2]) {
      const L = lnn({ particles: 1, dim: 3, symmetry: 'rotation', hidden: [16, 16], seed }).lagrangian;
      for (const plane of [[0, 1], [0, 2], [1, 2]] as const) {
        const report = L.checkSymmetry({ rotation: plane }, { seed: seed + 7 });
        expect(report.invariant, report.message).toBe(true);
        expect(report.maxViolation).toBeLessThan(1e-12);
      }
    }
    const free = lnn({ dof: 3, hidden: [16, 16], seed: 0 }).lagrangian;
    expect(free.checkSymmetry({ rotation: [0, 1] }).invariant).toBe(false);
  });

  it('two particles: finite rotations of every particle (and translations) leave L unchanged to rounding', () => {
    const r = uniform(11);
    for (const [symmetry, D] of [['rotation', 2], ['rotation', 3], ['euclidean', 3], ['euclidean', 2]] as const) {
      const L = lnn({ particles: 2, dim: D, symmetry, hidden: [16], seed: 3 }).lagrangian;
      for (let k = 0; k < 5; k++) {
        const q = Float64Array.from({ length: 2 * D }, () => r()), v = Float64Array.from({ length: 2 * D }, () => 0.5 * r());
        const R = randomRotation(D, r);
        const before = L.value(q, v), after = L.value(applyToParticles(R, q, D), applyToParticles(R, v, D));
        expect(Math.abs(after - before)).toBeLessThan(1e-12 * (1 + Math.abs(before)));
      }
    }
    // Translations: a simultaneous shift of both particles is a symmetry; moving one particle alone is not.
    for (const symmetry of ['translation', 'euclidean'] as const) {
      const L = lnn({ particles: 2, dim: 2, symmetry, hidden: [16], seed: 4 }).lagrangian;
      expect(L.checkSymmetry({ translation: [1, 0, 1, 0] }).invariant).toBe(true);
      expect(L.checkSymmetry({ translation: [0.3, -2, 0.3, -2] }).invariant).toBe(true);
      expect(L.checkSymmetry({ translation: [1, 0, 0, 0] }).invariant).toBe(false);
    }
  });

  it('SO(D), not O(D): with a Levi-Civita input a reflection changes L', () => {
    const L = lnn({ particles: 1, dim: 2, symmetry: 'rotation', hidden: [16], seed: 5 }).lagrangian;
    const q = [0.4, -0.3], v = [0.2, 0.5];
    expect(Math.abs(L.value([q[0]!, -q[1]!], [v[0]!, -v[1]!]) - L.value(q, v))).toBeGreaterThan(1e-6);
  });
});

describe('discrete Noether charges of invariant LNNs', () => {
  it('angular momenta (rotation) and total momentum (translation) are conserved to rounding by the variational integrators', async () => {
    const cases = [
      { model: lnn({ particles: 1, dim: 3, symmetry: 'rotation', hidden: [16, 16], seed: 1 }), generators: [{ rotation: [0, 1] }, { rotation: [0, 2] }, { rotation: [1, 2] }] as const },
      // One softplus layer with positive output weights: L is convex in v, so ∂²L/∂v² stays positive definite.
      { model: convexInV(lnn({ particles: 2, dim: 2, symmetry: 'translation', hidden: [16], seed: 1 })), generators: [{ translation: [1, 0, 1, 0] }, { translation: [0, 1, 0, 1] }] as const },
    ];
    for (const { model, generators } of cases) {
      const n = model.dof, batch = 3, r = uniform(17);
      const q0 = Float64Array.from({ length: batch * n }, () => 0.8 * r()), v0 = Float64Array.from({ length: batch * n }, () => 0.2 * r());
      for (const method of ['variationalMidpoint', 'variationalTrapezoid'] as const) {
        const st = await compile(model.lagrangian, { method, dt: 0.01, backend: 'cpu' });
        const p0 = Float64Array.from({ length: batch * n }, (_, i) => model.lagrangian.momenta(q0.subarray(Math.floor(i / n) * n, Math.floor(i / n) * n + n), v0.subarray(Math.floor(i / n) * n, Math.floor(i / n) * n + n))[i % n]!);
        const run = await st.run({ q0, v0, steps: 100, batch });
        for (let b = 0; b < batch; b++) {
          const part = (x: ArrayLike<number>) => Array.from(x).slice(b * n, (b + 1) * n);
          for (const g of generators) {
            const before = noetherCharge(g, part(q0), part(p0)), after = noetherCharge(g, part(run.q), part(run.p));
            expect(Math.abs(after - before), `${method} ${JSON.stringify(g)}`).toBeLessThan(1e-13 * (1 + Math.abs(before)));
          }
        }
      }
    }
  });
});

describe('the acceleration loss', () => {
  const model = lnn({ particles: 1, dim: 2, symmetry: 'rotation', hidden: [8, 8], seed: 0 });
  const data = oscillatorSamples(2, 16, 3);

  it('is the mean squared error of the host LU accelerations; its parameter gradient matches finite differences', () => {
    const plan = planTraining(model, data, { loss: 'acceleration', steps: 1, lr: 1e-3 });
    const gradient = compileCpuGradient(plan.program);
    const rows = Uint32Array.from({ length: 16 }, (_, i) => i);
    const out = new Float64Array(1 + plan.program.layout.total);
    gradient(plan.train.rows, plan.theta, rows, 16, out);
    let expected = 0;
    for (let s = 0; s < 16; s++) {
      const acc = model.lagrangian.accelerations(data.q.subarray(2 * s, 2 * s + 2), data.v.subarray(2 * s, 2 * s + 2));
      expected += ((acc[0]! - data.a[2 * s]!) ** 2 + (acc[1]! - data.a[2 * s + 1]!) ** 2) / 2;
    }
    expect(out[0]!).toBeCloseTo(expected, 10);
    const h = 1e-6, probe = new Float64Array(out.length);
    const lossAt = (theta: Float64Array) => (gradient(plan.train.rows, theta, rows, 16, probe), probe[0]!);
    for (let j = 0; j < plan.program.layout.total; j += 7) {
      const tp = plan.theta.slice(), tm = plan.theta.slice();
      tp[j]! += h;
      tm[j]! -= h;
      const fd = (lossAt(tp) - lossAt(tm)) / (2 * h);
      expect(Math.abs(out[1 + j]! - fd), `θ[${j}]`).toBeLessThan(1e-6 * (1 + Math.abs(fd)));
    }
  });

  it('refuses bad combinations with clear errors', () => {
    expect(thrown(() => planTraining(model, { q: data.q, v: data.v } as never, { loss: 'acceleration', steps: 1, lr: 1e-3 })).message).toMatch(/data\.a is missing/);
    expect(thrown(() => planTraining(model, data, { loss: 'derivative', steps: 1, lr: 1e-3 })).code).toBe('OPTION');
    const h = hnn({ dof: 2, hidden: [4] });
    const e = thrown(() => planTraining(h, { q: data.q, p: data.v, dqdt: data.v, dpdt: data.a }, { loss: 'acceleration', steps: 1, lr: 1e-3 }));
    expect([e.code, e.message]).toEqual(['OPTION', expect.stringMatching(/'acceleration' does not apply to a hnn/)]);
  });
});

describe('lnn options', () => {
  it('refuses relu and other piecewise-linear activations, explaining that ∂²L/∂v² would vanish', () => {
    for (const activation of ['relu', 'leakyRelu', 'linear']) {
      const e = thrown(() => lnn({ dof: 2, hidden: [8], activation: activation as never }));
      expect(e).toBeInstanceOf(DarbouxError);
      expect(e.code).toBe('OPTION');
      expect(e.message).toMatch(/∂²L\/∂v² would be zero/);
    }
    expect(thrown(() => lnn({ dof: 2, hidden: [8], activation: 'gelu' as never })).message).toMatch(/unknown activation 'gelu'/);
    expect(thrown(() => lnn({ dof: 3, hidden: [8], symmetry: 'rotation' })).message).toMatch(/needs particles and dim/);
    expect(thrown(() => lnn({ particles: 1, dim: 3, symmetry: 'boost' as never, hidden: [8] })).message).toMatch(/unknown symmetry/);
    expect(thrown(() => lnn({ particles: 2, dim: 1, symmetry: 'rotation', hidden: [8] })).message).toMatch(/dim ≥ 2/);
  });

  it("'cranmer' initialisation: normal with σ = 2/√n₁, 1/√n₂, √n₂ (output), zero biases; equal seeds give equal values", () => {
    const m = lnn({ dof: 2, hidden: [400, 300], init: 'cranmer', seed: 9 });
    const std = (x: number[]) => Math.sqrt(x.reduce((s, y) => s + y * y, 0) / x.length);
    expect(std([...m.params['L.l0.W0']!, ...m.params['L.l0.W1']!]) * Math.sqrt(400)).toBeCloseTo(2, 1);
    expect(std(m.params['L.l1.W']!) * Math.sqrt(300)).toBeCloseTo(1, 1);
    expect(std(m.params['L.out.w']!) / Math.sqrt(300)).toBeGreaterThan(0.85);
    expect(std(m.params['L.out.w']!) / Math.sqrt(300)).toBeLessThan(1.15);
    expect(m.params['L.l0.b']!.every((b) => b === 0)).toBe(true);
    expect(lnn({ dof: 2, hidden: [400, 300], init: 'cranmer', seed: 9 }).params).toEqual(m.params);
  });
});

describe('learning with fit', () => {
  it('the rotation-invariant LNN learns the 2-D oscillator: loss down by > 500×, accelerations within 10 % of −q', async () => {
    const inv = lnn({ particles: 1, dim: 2, symmetry: 'rotation', hidden: [32, 32], seed: 0 });
    const res = await fit(inv, oscillatorSamples(2, 512, 1), { loss: 'acceleration', steps: 300, lr: 2e-3, batchSize: 64, backend: 'cpu', seed: 0 });
    const tail = res.history.slice(-50).reduce((s, x) => s + x, 0) / 50;
    expect(tail / res.history[0]!).toBeLessThan(2e-3);
    const test = oscillatorSamples(2, 64, 99);
    let err = 0, norm = 0;
    for (let s = 0; s < 64; s++) {
      const acc = res.lagrangian!.accelerations(test.q.subarray(2 * s, 2 * s + 2), test.v.subarray(2 * s, 2 * s + 2));
      for (let i = 0; i < 2; i++) {
        err += (acc[i]! - test.a[2 * s + i]!) ** 2;
        norm += test.a[2 * s + i]! ** 2;
      }
    }
    expect(Math.sqrt(err / norm)).toBeLessThan(0.1);
    expect(res.model.kind).toBe('lnn');
    expect(res.lagrangian!.checkSymmetry({ rotation: [0, 1] }).invariant).toBe(true);
    // The learned L rolled out by the variational integrators at a moderate dt (0.1, ~60 steps per period): every
    // Newton solve converges from the continuation predictor, the learned angular momentum q × p is conserved to
    // rounding, and the orbit stays within O(dt²) of rk4 on the same L at dt/10.
    const q0 = [0.8, 0], v0 = [0, 0.4];
    const reference = await (await compile(res.lagrangian!, { method: 'rk4', dt: 0.01, backend: 'cpu' })).run({ q0, v0, steps: 2000 });
    const angular = (q: ArrayLike<number>, p: ArrayLike<number>) => q[0]! * p[1]! - q[1]! * p[0]!;
    for (const method of ['variationalMidpoint', 'variationalTrapezoid'] as const) {
      const st = await compile(res.lagrangian!, { method, dt: 0.1, backend: 'cpu' });
      const r = await st.run({ q0, v0, steps: 200 });
      expect(r.stats!.iterations.max, method).toBeLessThanOrEqual(8);
      expect(Math.abs(angular(r.q, r.p) - angular(q0, res.lagrangian!.momenta(q0, v0))), method).toBeLessThan(1e-14);
      expect(Math.hypot(r.q[0]! - reference.q[0]!, r.q[1]! - reference.q[1]!), method).toBeLessThan(0.03);
    }
  });

  it('integrateModel runs the learned Lagrangian (velocities in the second slot); trajectory training runs rk4 on its Euler–Lagrange ODE', async () => {
    const model = convexInV(lnn({ particles: 2, dim: 2, symmetry: 'translation', hidden: [16], seed: 1 }));
    const q0 = [0.1, 0.2, -0.3, 0.4], v0 = [0.05, -0.1, 0.02, 0.03];
    const path = await integrateModel(model, { q0, p0: v0, steps: 5, dt: 0.01 });
    const st = await compile(model.lagrangian, { method: 'variationalMidpoint', dt: 0.01, backend: 'cpu' });
    const run = await st.run({ q0, v0, steps: 5 });
    expect(Array.from(path.q.subarray(20))).toEqual(Array.from(run.q));
    expect(Array.from(path.p.subarray(20))).toEqual(Array.from(run.v));
    // Trajectory training with rk4 on the Euler–Lagrange ODE: the model's own rk4 path has zero rollout loss, its
    // variational-midpoint path (another method) does not; Hamiltonian-only methods are refused with the reason.
    const own = await integrateModel(model, { q0, p0: v0, steps: 2, dt: 0.01, method: 'rk4' });
    const res = await fit(model, { trajectories: { q: own.q, p: own.p, dt: 0.01, length: 3 } }, { loss: 'rollout', method: 'rk4', horizon: 2, steps: 1, lr: 1e-3 });
    expect(res.model.kind).toBe('lnn');
    expect(res.history[0]!).toBeLessThan(1e-28);
    const other = await fit(model, { trajectories: { q: path.q.subarray(0, 12), p: path.p.subarray(0, 12), dt: 0.01, length: 3 } }, { loss: 'rollout', method: 'rk4', horizon: 2, steps: 1, lr: 1e-3 });
    expect(other.history[0]!).toBeGreaterThan(1e-20);
    const trajectories = { q: own.q, p: own.p, dt: 0.01, length: 3 };
    const e = await fit(model, { trajectories }, { loss: 'rollout', method: 'leapfrog', steps: 1, lr: 1e-3 }).catch((x: DarbouxError) => x);
    expect([(e as DarbouxError).code, (e as DarbouxError).message]).toEqual(['OPTION', expect.stringMatching(/trajectory training of an lnn integrates with 'variationalMidpoint', 'variationalTrapezoid', 'rk4'/)]);
  });
});
