import { describe, expect, it } from 'vitest';
import { compile, DarbouxError, fit, param, input } from '../../src/index.js';
import { Adam, clipFactor, learningRate, type AdamSettings } from '../../src/train/adam.js';
import { compileCpuGradient } from '../../src/train/cpu-gradient.js';
import { planTraining } from '../../src/train/fit.js';
import { minibatchSampler } from '../../src/train/minibatch.js';
import type { FitOptions } from '../../src/train/types.js';
import type { TrainingPlan } from '../../src/train/plan.js';
import type { NeuralModel, ParamTensors } from '../../src/models/neural/model.js';
import { fixtureField, fixtureHnn, lossCases, rolloutTargets, springData, springPairs } from './train-fixtures.js';

/** Batch loss sum and gradient sums of a plan at θ over `rows` (CPU, f64). */
function cpuSums(plan: TrainingPlan, theta: Float64Array, rows: Uint32Array): Float64Array {
  const out = new Float64Array(1 + plan.program.layout.total);
  compileCpuGradient(plan.program)(plan.train.rows, theta, rows, rows.length, out);
  return out;
}

/** Central finite differences of the batch loss sum in every parameter. */
function finiteDifferences(plan: TrainingPlan, theta: Float64Array, rows: Uint32Array): Float64Array {
  const loss = compileCpuGradient(plan.program, { gradients: false });
  const out = new Float64Array(1);
  const at = (th: Float64Array) => (loss(plan.train.rows, th, rows, rows.length, out), out[0]!);
  const fd = new Float64Array(theta.length);
  const th = theta.slice();
  for (let j = 0; j < theta.length; j++) {
    const h = 1e-5 * Math.max(1, Math.abs(theta[j]!));
    th[j] = theta[j]! + h;
    const up = at(th);
    th[j] = theta[j]! - h;
    const down = at(th);
    th[j] = theta[j]!;
    fd[j] = (up - down) / (2 * h);
  }
  return fd;
}

function maxAbs(v: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i]!));
  return m;
}

describe('parameter gradients (CPU, f64) against central finite differences', () => {
  for (const c of lossCases) {
    it(c.name, () => {
      const plan = planTraining(c.model(), c.data(), { steps: 1, lr: 1e-3, ...c.options });
      const n = plan.train.count;
      for (const rows of [Uint32Array.of(1), Uint32Array.from({ length: n }, (_, i) => (3 * i) % n)]) {
        const sums = cpuSums(plan, plan.theta, rows);
        const grad = sums.subarray(1);
        const fd = finiteDifferences(plan, plan.theta, rows);
        const scale = maxAbs(grad);
        expect(scale).toBeGreaterThan(1e-3);
        for (let j = 0; j < grad.length; j++) expect(Math.abs(grad[j]! - fd[j]!)).toBeLessThan(1e-6 * scale);
      }
    });
  }
});

describe('loss values against independent evaluations', () => {
  it('derivative loss of an hnn = mean over components of (J∇H − ż)², with ∇H from the Hamiltonian', () => {
    const model = fixtureHnn(2, 6, 'e');
    const data = springData(2, 3, 2);
    const plan = planTraining(model, data, { steps: 1, lr: 1e-3 });
    const h = model.hamiltonian!;
    let expected = 0;
    for (let s = 0; s < plan.train.count; s++) {
      const { dq, dp } = h.gradient(data.q.subarray(2 * s, 2 * s + 2), data.p.subarray(2 * s, 2 * s + 2));
      for (let i = 0; i < 2; i++) expected += ((dp[i]! - data.dqdt[2 * s + i]!) ** 2 + (-dq[i]! - data.dpdt[2 * s + i]!) ** 2) / 4;
    }
    const rows = Uint32Array.from({ length: plan.train.count }, (_, i) => i);
    expect(cpuSums(plan, plan.theta, rows)[0]).toBeCloseTo(expected, 12);
  });

  it('rollout loss of an hnn matches a compiled rk4 run of the same Hamiltonian', async () => {
    const model = fixtureHnn(1, 5);
    const data = rolloutTargets(springPairs(4, 0.1), 3, 1);
    const plan = planTraining(model, data, { steps: 1, lr: 1e-3, loss: 'rollout', rollout: { steps: 3, method: 'rk4', dt: 0.1 } });
    const st = await compile(model.hamiltonian!, { method: 'rk4', dt: 0.1, backend: 'cpu' });
    const run = await st.run({ q0: data.q, p0: data.p, steps: 3, batch: 4, record: 1 });
    let expected = 0;
    for (let j = 0; j < 3; j++) {
      for (let s = 0; s < 4; s++) {
        expected += ((run.record!.q[j * 4 + s]! - data.qNext![s * 3 + j]!) ** 2 + (run.record!.p[j * 4 + s]! - data.pNext![s * 3 + j]!) ** 2) / 6;
      }
    }
    expect(cpuSums(plan, plan.theta, Uint32Array.of(0, 1, 2, 3))[0]).toBeCloseTo(expected, 12);
  });
});

/** The textbook sequence, written out per scalar: clip, decay, moments, bias-corrected step (torch's arrangement). */
function referenceAdam(theta0: number[], gradient: (th: number[]) => number[], s: AdamSettings): number[][] {
  const th = theta0.slice(), m = th.map(() => 0), v = th.map(() => 0);
  const trace: number[][] = [];
  for (let t = 1; t <= s.steps; t++) {
    const lr = s.cosine ? (s.lr * (1 + Math.cos((Math.PI * (t - 1)) / s.steps))) / 2 : s.lr;
    const g = gradient(th);
    const norm = Math.sqrt(g.reduce((a, x) => a + x * x, 0));
    const coef = s.clipNorm > 0 ? s.clipNorm / (norm + 1e-6) : 1;
    const clip = coef < 1 ? coef : 1;
    for (let j = 0; j < th.length; j++) {
      const gj = g[j]! * clip + (s.decoupled ? 0 : s.weightDecay) * th[j]!;
      m[j] = s.beta1 * m[j]! + (1 - s.beta1) * gj;
      v[j] = s.beta2 * v[j]! + (1 - s.beta2) * gj * gj;
      const stepSize = lr / (1 - Math.pow(s.beta1, t));
      th[j] = th[j]! * (s.decoupled ? 1 - lr * s.weightDecay : 1) - (stepSize * m[j]!) / (Math.sqrt(v[j]!) / Math.sqrt(1 - Math.pow(s.beta2, t)) + s.eps);
    }
    trace.push(th.slice());
  }
  return trace;
}

describe('Adam', () => {
  const a = [1, 4, 0.25, 9], c = [0.5, -1, 2, 0.1];
  const quadraticGradient = (th: number[]) => th.map((x, j) => a[j]! * (x - c[j]!));
  const base: AdamSettings = { lr: 0.05, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false, clipNorm: 0, cosine: false, steps: 200 };
  const variants: [string, Partial<AdamSettings>][] = [
    ['plain', {}],
    ['L2 weight decay', { weightDecay: 0.1 }],
    ['decoupled weight decay', { weightDecay: 0.1, decoupled: true }],
    ['gradient clipping', { clipNorm: 0.5 }],
    ['cosine schedule', { cosine: true, beta1: 0.8 }],
  ];
  for (const [name, extra] of variants) {
    it(`matches the reference sequence exactly on a convex quadratic: ${name}`, () => {
      const s = { ...base, ...extra };
      const theta = Float64Array.of(2, 2, -3, 1);
      const reference = referenceAdam(Array.from(theta), quadraticGradient, s);
      const adam = new Adam(4, s);
      for (let t = 0; t < s.steps; t++) {
        adam.step(theta, Float64Array.from(quadraticGradient(Array.from(theta))));
        expect(Array.from(theta)).toEqual(reference[t]);
      }
      // and it goes downhill: the quadratic drops by at least 100×
      const f = (th: ArrayLike<number>) => a.reduce((sum, aj, j) => sum + 0.5 * aj * (th[j]! - c[j]!) ** 2, 0);
      expect(f(theta)).toBeLessThan(f([2, 2, -3, 1]) / 100);
    });
  }

  it('learning-rate schedule and clip factor', () => {
    expect(learningRate({ lr: 1e-3, cosine: false, steps: 10 }, 7)).toBe(1e-3);
    expect(learningRate({ lr: 1e-3, cosine: true, steps: 10 }, 0)).toBe(1e-3);
    expect(learningRate({ lr: 1e-3, cosine: true, steps: 10 }, 5)).toBeCloseTo(5e-4, 15);
    expect(clipFactor(0.4, 1)).toBe(1);
    expect(clipFactor(4, 1)).toBeCloseTo(0.25, 6);
    expect(clipFactor(4, 0)).toBe(1);
  });

  it('fit on a model whose loss is a quadratic in θ follows the same Adam sequence', async () => {
    // field = (θ_q, θ_p), constant in (q, p): the derivative loss on one sample is ((θ_q − a)² + (θ_p − b)²)/2.
    const tq = param('quadQ', [1]), tp = param('quadP', [1]);
    const q = input('q', 'q', [1]), p = input('p', 'p', [1]);
    const make = (values: ParamTensors): NeuralModel => ({
      kind: 'mlpField', dof: 1, q, p, paramNodes: [tq, tp], params: values, options: {},
      withParams: (v) => make({ ...values, ...(v as ParamTensors) }),
      field: () => ({ q: tq, p: tp }),
    });
    const settings = { ...base, weightDecay: 0.01, steps: 40, lr: 0.1 };
    const res = await fit(make({ quadQ: [3], quadP: [-2] }), { q: [0.3], p: [0.1], dqdt: [0.5], dpdt: [1.5] }, { steps: 40, lr: 0.1, weightDecay: 0.01 });
    const reference = referenceAdam([3, -2], (th) => [(th[0]! - 0.5) / 1, (th[1]! - 1.5) / 1], settings);
    expect(res.params.quadQ![0]).toBeCloseTo(reference[39]![0]!, 13);
    expect(res.params.quadP![0]).toBeCloseTo(reference[39]![1]!, 13);
    expect(res.history[0]).toBeCloseTo(((3 - 0.5) ** 2 + (-2 - 1.5) ** 2) / 2, 13);
  });
});

describe('minibatches', () => {
  it('draws distinct indices, deterministically for a seed', () => {
    const a = minibatchSampler(50, 12, 7), b = minibatchSampler(50, 12, 7), c = minibatchSampler(50, 12, 8);
    for (let t = 0; t < 5; t++) {
      const ra = Array.from(a.next()), rb = Array.from(b.next()), rc = Array.from(c.next());
      expect(new Set(ra).size).toBe(12);
      expect(ra.every((i) => i >= 0 && i < 50)).toBe(true);
      expect(ra).toEqual(rb);
      expect(ra).not.toEqual(rc);
    }
    expect(Array.from(minibatchSampler(5, 9, 0).next())).toEqual([0, 1, 2, 3, 4]);
  });
});

describe('fit on the ideal spring (CPU)', () => {
  const data = springData(6, 20);
  const options: FitOptions = { loss: 'derivative', steps: 300, lr: 1e-2, weightDecay: 1e-4, batchSize: 40, seed: 3 };

  it('reduces the loss by at least 10×, deterministically for a seed', async () => {
    const a = await fit(fixtureHnn(1, 16), data, options);
    const b = await fit(fixtureHnn(1, 16), data, options);
    const c = await fit(fixtureHnn(1, 16), data, { ...options, seed: 4 });
    expect(a.history).toHaveLength(300);
    const first = a.history.slice(0, 10).reduce((s, x) => s + x, 0) / 10;
    const last = a.history.slice(-10).reduce((s, x) => s + x, 0) / 10;
    expect(last).toBeLessThan(first / 10);
    expect(b.history).toEqual(a.history);
    expect(b.params).toEqual(a.params);
    expect(c.history).not.toEqual(a.history);
    expect(a.backend).toBe('cpu');
    expect(a.samplesPerSecond).toBeGreaterThan(0);
    expect(a.graph.gradient).toBeGreaterThan(a.graph.loss);
  });

  it('returns JSON-safe params that restore the model, and a Hamiltonian usable by compile', async () => {
    const model = fixtureHnn(1, 8);
    const res = await fit(model, data, { ...options, steps: 20 });
    const restored = model.withParams(JSON.parse(JSON.stringify(res.params)) as ParamTensors);
    expect(restored.hamiltonian!.energy([0.3], [0.2])).toBe(res.hamiltonian!.energy([0.3], [0.2]));
    expect(res.hamiltonian!.energy([0.3], [0.2])).not.toBe(model.hamiltonian!.energy([0.3], [0.2]));
    const st = await compile(res.hamiltonian!, { method: 'midpoint', dt: 0.05, backend: 'cpu' });
    const out = await st.run({ q0: [0.5], p0: [0], steps: 10 });
    expect(Number.isFinite(out.q[0]!)).toBe(true);
  });

  it('records the validation loss (cosine schedule, clipping, decoupled decay)', async () => {
    const res = await fit(fixtureHnn(1, 8), data, {
      ...options, steps: 50, schedule: 'cosine', clipNorm: 1, weightDecayMode: 'decoupled', validation: springData(2, 7), validationEvery: 20,
    });
    expect(res.validationSteps).toEqual([0, 20, 40, 50]);
    expect(res.validationHistory).toHaveLength(4);
    expect(res.validationHistory[3]!).toBeLessThan(res.validationHistory[0]!);
  });

  it('stops on a non-finite loss with the step number and the last finite loss', async () => {
    const err = await fit(fixtureHnn(1, 8), data, { ...options, lr: 1e200, steps: 50 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DarbouxError);
    expect((err as DarbouxError).code).toBe('NONFINITE');
    expect((err as DarbouxError).message).toMatch(/diverged at step \d+: .*last finite loss was [0-9.e+-]+ at step \d+/);
    expect((err as DarbouxError).details.step).toBeGreaterThan(1);
  });
});

describe('bad input is rejected before any work', () => {
  const model = fixtureHnn(1, 4);
  const data = springData(2, 5);
  const ok: FitOptions = { steps: 10, lr: 1e-3 };
  const cases: [string, () => Promise<unknown>, string, RegExp][] = [
    ['lr ≤ 0', () => fit(model, data, { ...ok, lr: 0 }), 'OPTION', /lr must be/],
    ['non-finite lr', () => fit(model, data, { ...ok, lr: NaN }), 'OPTION', /lr must be/],
    ['steps not an integer', () => fit(model, data, { ...ok, steps: 2.5 }), 'OPTION', /steps must be a positive integer/],
    ['steps missing', () => fit(model, data, { lr: 1e-3 } as FitOptions), 'OPTION', /steps must be/],
    ['batchSize 0', () => fit(model, data, { ...ok, batchSize: 0 }), 'OPTION', /batchSize/],
    ['unknown loss for the kind', () => fit(model, data, { ...ok, loss: 'map' }), 'OPTION', /'map' does not apply to a hnn model/],
    ['rollout without settings', () => fit(model, data, { ...ok, loss: 'rollout' }), 'OPTION', /needs rollout/],
    ['rollout through an implicit method', () => fit(model, { ...data, qNext: data.q, pNext: data.p }, { ...ok, loss: 'rollout', rollout: { steps: 1, method: 'midpoint', dt: 0.1 } }), 'OPTION', /implicit method 'midpoint'/],
    ['unknown backend', () => fit(model, data, { ...ok, backend: 'tpu' as 'cpu' }), 'OPTION', /backend/],
    ['energy weight on a field model', () => fit(fixtureField(1, 4), data, { ...ok, energyWeight: 1 }), 'OPTION', /energyWeight needs a Hamiltonian/],
    ['inconsistent lengths', () => fit(model, { ...data, dqdt: data.dqdt.subarray(1) }, ok), 'INPUT', /dqdt has 9 values .* expected 10/],
    ['non-finite data', () => fit(model, { ...data, p: Float64Array.from(data.p, (x, i) => (i === 3 ? NaN : x)) }, ok), 'INPUT', /p\[3\] \(sample 3\) is NaN/],
    ['missing targets', () => fit(model, { q: data.q, p: data.p }, ok), 'INPUT', /dqdt is missing/],
    ['energy weight without trajectory indices', () => fit(model, { q: data.q, p: data.p, dqdt: data.dqdt, dpdt: data.dpdt }, { ...ok, energyWeight: 1 }), 'INPUT', /trajectoryIndex is missing/],
    ['data dof ≠ model dof', () => fit(fixtureHnn(2, 4, 'e'), { q: [1, 2, 3], p: [1, 2, 3], dqdt: [1, 2, 3], dpdt: [1, 2, 3] }, ok), 'INPUT', /not a multiple of the model's dof 2/],
    ['validation of the wrong shape', () => fit(model, data, { ...ok, validation: { ...data, dpdt: [1] } }), 'INPUT', /validation\.dpdt/],
  ];
  for (const [name, run, code, message] of cases) {
    it(name, async () => {
      const err = await run().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DarbouxError);
      expect((err as DarbouxError).code).toBe(code);
      expect((err as DarbouxError).message).toMatch(message);
    });
  }
});
