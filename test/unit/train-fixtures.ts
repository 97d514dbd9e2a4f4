/**
 * Small NeuralModel objects for the training tests, built directly against the interface in
 * src/models/neural/model.ts (the real models live elsewhere): an HNN-like H = w2·tanh(Wq·q + Wp·p + b1) + b2,
 * an mlpField-like unconstrained field, and a symplectic map of two gradient shears for the sympnet kind.
 * Parameter values are deterministic (a fixed trigonometric sequence, scaled like Glorot).
 */
import { add, dot, matTvec, matvec, mul, neg, param, tanh, input } from '../../src/ir/build.js';
import type { Expr } from '../../src/ir/expr.js';
import { expect } from 'vitest';
import { gradient } from '../../src/autodiff/vjp.js';
import { Hamiltonian } from '../../src/system/hamiltonian.js';
import type { NeuralKind, NeuralModel, ParamTensors } from '../../src/models/neural/model.js';
import type { FitOptions, TrainingData } from '../../src/train/types.js';
import type { gradientProgram } from '../../src/train/gradient-program.js';

/** Deterministic pseudo-random values in [−scale, scale] (no RNG needed for fixtures). */
export function fixtureValues(n: number, salt: number, scale: number): number[] {
  return Array.from({ length: n }, (_, i) => scale * Math.sin(12.9898 * (i + 1) + 78.233 * salt) * 0.999);
}

interface Spec {
  kind: NeuralKind;
  dof: number;
  nodes: Expr[];
  params: ParamTensors;
  options: Record<string, unknown>;
  build: (model: NeuralModel) => Partial<NeuralModel>;
}

function makeModel(spec: Spec): NeuralModel {
  const q = input('q', 'q', [spec.dof]);
  const p = input('p', 'p', [spec.dof]);
  const model: NeuralModel = {
    kind: spec.kind,
    dof: spec.dof,
    q,
    p,
    paramNodes: spec.nodes,
    params: spec.params,
    options: spec.options,
    withParams(values) {
      const merged: ParamTensors = { ...spec.params };
      for (const [k, v] of Object.entries(values)) merged[k] = typeof v === 'number' ? [v] : Array.from(v);
      return makeModel({ ...spec, params: merged });
    },
  };
  return Object.assign(model, spec.build(model));
}

/** An HNN-like model: H(q, p) = w2·tanh(Wq q + Wp p + b1) + b2 with `hidden` units. */
export function fixtureHnn(dof = 1, hidden = 8, prefix = 'h'): NeuralModel {
  const Wq = param(`${prefix}Wq`, [hidden, dof]), Wp = param(`${prefix}Wp`, [hidden, dof]);
  const b1 = param(`${prefix}b1`, [hidden]), w2 = param(`${prefix}w2`, [hidden]), b2 = param(`${prefix}b2`);
  const q = input('q', 'q', [dof]), p = input('p', 'p', [dof]);
  const H = add(dot(w2, tanh(add(add(matvec(Wq, q), matvec(Wp, p)), b1))), b2);
  const glorot = Math.sqrt(6 / (hidden + 2 * dof));
  const params: ParamTensors = {
    [`${prefix}Wq`]: fixtureValues(hidden * dof, 1, glorot),
    [`${prefix}Wp`]: fixtureValues(hidden * dof, 2, glorot),
    [`${prefix}b1`]: fixtureValues(hidden, 3, 0.1),
    [`${prefix}w2`]: fixtureValues(hidden, 4, Math.sqrt(6 / (hidden + 1))),
    [`${prefix}b2`]: [0.05],
  };
  return makeModel({
    kind: 'hnn',
    dof,
    nodes: [Wq, Wp, b1, w2, b2],
    params,
    options: { dof, hidden: [hidden], activation: 'tanh', fixture: true },
    build: (m) => {
      const [dHdq, dHdp] = gradient(H, [q, p]);
      return {
        hamiltonian: new Hamiltonian({ H, q, p, params: m.params }),
        field: () => ({ q: dHdp!, p: neg(dHdq!) }),
      };
    },
  });
}

/** An mlpField-like model: (q̇, ṗ) = (Aq h + cq, Ap h + cp), h = tanh(Wq q + Wp p + b1). */
export function fixtureField(dof = 1, hidden = 8): NeuralModel {
  const Wq = param('fWq', [hidden, dof]), Wp = param('fWp', [hidden, dof]), b1 = param('fb1', [hidden]);
  const Aq = param('fAq', [dof, hidden]), Ap = param('fAp', [dof, hidden]), cq = param('fcq', [dof]), cp = param('fcp', [dof]);
  const q = input('q', 'q', [dof]), p = input('p', 'p', [dof]);
  const h = tanh(add(add(matvec(Wq, q), matvec(Wp, p)), b1));
  const g = Math.sqrt(6 / (hidden + 2 * dof));
  const params: ParamTensors = {
    fWq: fixtureValues(hidden * dof, 11, g),
    fWp: fixtureValues(hidden * dof, 12, g),
    fb1: fixtureValues(hidden, 13, 0.1),
    fAq: fixtureValues(dof * hidden, 14, g),
    fAp: fixtureValues(dof * hidden, 15, g),
    fcq: fixtureValues(dof, 16, 0.1),
    fcp: fixtureValues(dof, 17, 0.1),
  };
  return makeModel({
    kind: 'mlpField',
    dof,
    nodes: [Wq, Wp, b1, Aq, Ap, cq, cp],
    params,
    options: { dof, hidden: [hidden], fixture: true },
    build: () => ({ field: () => ({ q: add(matvec(Aq, h), cq), p: add(matvec(Ap, h), cp) }) }),
  });
}

/**
 * A sympnet-like map of two gradient shears (symplectic for every θ):
 * p₁ = p + Kᵀ(a ⊙ tanh(K q + b)), q₁ = q + Lᵀ(c ⊙ tanh(L p₁ + d)).
 */
export function fixtureSympnet(dof = 1, width = 6): NeuralModel {
  const K = param('sK', [width, dof]), b = param('sb', [width]), a = param('sa', [width]);
  const L = param('sL', [width, dof]), d = param('sd', [width]), c = param('sc', [width]);
  const q = input('q', 'q', [dof]), p = input('p', 'p', [dof]);
  const p1 = add(p, matTvec(K, mul(a, tanh(add(matvec(K, q), b)))));
  const q1 = add(q, matTvec(L, mul(c, tanh(add(matvec(L, p1), d)))));
  const params: ParamTensors = {
    sK: fixtureValues(width * dof, 21, 0.8),
    sb: fixtureValues(width, 22, 0.2),
    sa: fixtureValues(width, 23, 0.3),
    sL: fixtureValues(width * dof, 24, 0.8),
    sd: fixtureValues(width, 25, 0.2),
    sc: fixtureValues(width, 26, 0.3),
  };
  return makeModel({
    kind: 'sympnet',
    dof,
    nodes: [K, b, a, L, d, c],
    params,
    options: { dof, width, fixture: true },
    build: () => ({ map: () => ({ q: q1, p: p1 }) }),
  });
}

/**
 * Samples of the ideal spring H = q² + p² (q̇ = 2p, ṗ = −2q) on circles of a few radii, with exact
 * derivatives: trajectory k has radius 0.3 + 0.2·k and is sampled at `perTrajectory` times in [0, 3].
 */
export function springData(trajectories = 6, perTrajectory = 20, dof = 1) {
  const n = trajectories * perTrajectory;
  const q = new Float64Array(n * dof), p = new Float64Array(n * dof), dqdt = new Float64Array(n * dof), dpdt = new Float64Array(n * dof);
  const trajectoryIndex = new Int32Array(n);
  for (let k = 0; k < trajectories; k++) {
    const r = 0.3 + 0.2 * k, phase = 0.7 * k;
    for (let j = 0; j < perTrajectory; j++) {
      const s = k * perTrajectory + j, t = (3 * j) / perTrajectory;
      trajectoryIndex[s] = k;
      for (let i = 0; i < dof; i++) {
        const qi = r * Math.cos(2 * t + phase + i), pi = -r * Math.sin(2 * t + phase + i);
        q[s * dof + i] = qi;
        p[s * dof + i] = pi;
        dqdt[s * dof + i] = 2 * pi;
        dpdt[s * dof + i] = -2 * qi;
      }
    }
  }
  return { q, p, dqdt, dpdt, trajectoryIndex };
}

/** One-step pairs of the spring flow over time h: (q, p) ↦ rotation by angle 2h (exact). */
export function springPairs(n = 60, h = 0.1, dof = 1) {
  const q = new Float64Array(n * dof), p = new Float64Array(n * dof), qNext = new Float64Array(n * dof), pNext = new Float64Array(n * dof);
  for (let s = 0; s < n; s++) {
    for (let i = 0; i < dof; i++) {
      const r = 0.2 + (0.8 * s) / n, th = 0.37 * s + i;
      q[s * dof + i] = r * Math.cos(th);
      p[s * dof + i] = -r * Math.sin(th);
      qNext[s * dof + i] = r * Math.cos(th + 2 * h);
      pNext[s * dof + i] = -r * Math.sin(th + 2 * h);
    }
  }
  return { q, p, qNext, pNext };
}

/** One case per loss and model kind, for gradient checks. */
export const lossCases: { name: string; model: () => NeuralModel; data: () => TrainingData; options: Partial<FitOptions> }[] = [
  { name: 'hnn derivative', model: () => fixtureHnn(1, 8), data: () => springData(3, 5), options: { loss: 'derivative' } },
  { name: 'hnn derivative, dof 2, energy regulariser', model: () => fixtureHnn(2, 6, 'e'), data: () => springData(3, 4, 2), options: { loss: 'derivative', energyWeight: 0.7 } },
  { name: 'mlpField derivative', model: () => fixtureField(1, 8), data: () => springData(3, 5), options: { loss: 'derivative' } },
  { name: 'sympnet map', model: () => fixtureSympnet(1, 6), data: () => springPairs(12), options: { loss: 'map' } },
  {
    name: 'sympnet rollout (3 maps)',
    model: () => fixtureSympnet(2, 4),
    data: () => rolloutTargets(springPairs(8, 0.1, 2), 3, 2),
    options: { loss: 'rollout', rollout: { steps: 3 } },
  },
  {
    name: 'hnn rollout (rk4, 2 steps) with energy regulariser',
    model: () => fixtureHnn(1, 5),
    data: () => rolloutTargets(springPairs(8, 0.1), 2, 1),
    options: { loss: 'rollout', rollout: { steps: 2, method: 'rk4', dt: 0.1 }, energyWeight: 0.3 },
  },
];

/** Rollout data: the exact spring flow (rotation by 2h per step) after 1 … k steps. */
export function rolloutTargets(pairs: { q: Float64Array; p: Float64Array }, k: number, dof: number): TrainingData {
  const n = pairs.q.length / dof;
  const qNext = new Float64Array(n * k * dof), pNext = new Float64Array(n * k * dof);
  for (let s = 0; s < n; s++) {
    for (let j = 0; j < k; j++) {
      const a = 2 * 0.1 * (j + 1), c = Math.cos(a), sn = Math.sin(a);
      for (let i = 0; i < dof; i++) {
        const q = pairs.q[s * dof + i]!, p = pairs.p[s * dof + i]!;
        qNext[(s * k + j) * dof + i] = c * q + sn * p;
        pNext[(s * k + j) * dof + i] = -sn * q + c * p;
      }
    }
  }
  return { q: pairs.q, p: pairs.p, qNext, pNext };
}

/** A batch gradient (`compileCpuGradient`'s contract: out[0] = Σ loss, out[1 + j] = Σ ∂loss/∂θ_j). */
type BatchGradient = (data: Float64Array, theta: Float64Array, rows: Uint32Array, count: number, out: Float64Array) => void;

/**
 * Expects every `stride`-th component of f's gradient at theta to equal a central difference of its loss (step 1e-6)
 * to `tolerance` · (1 + |gradient|).
 */
export function expectGradientMatchesDifferences(f: BatchGradient, data: Float64Array, theta: Float64Array, rows: Uint32Array, count: number, stride: number, tolerance: number): void {
  const out = new Float64Array(1 + theta.length);
  f(data, theta, rows, count, out);
  const grad = out.slice(1);
  const h = 1e-6;
  for (let j = 0; j < theta.length; j += stride) {
    const t = theta.slice();
    t[j] = theta[j]! + h;
    f(data, t, rows, count, out);
    const up = out[0]!;
    t[j] = theta[j]! - h;
    f(data, t, rows, count, out);
    const fd = (up - out[0]!) / (2 * h);
    expect(Math.abs(fd - grad[j]!)).toBeLessThan(tolerance * (1 + Math.abs(grad[j]!)));
  }
}

/**
 * Largest |a − b| over the loss (element 0) and each parameter tensor of a packed gradient, relative to that tensor's
 * largest |b|. With `exactZeros` (the default) a tensor whose reference is all zeros must match exactly.
 *
 * @example
 * expect(worstRelative(program, batched, perSample)).toBeLessThan(1e-12);
 */
export function worstRelative(program: ReturnType<typeof gradientProgram>, a: Float64Array, b: Float64Array, exactZeros = true): number {
  let worst = Math.abs(a[0]! - b[0]!) / Math.abs(b[0]!);
  program.layout.offsets.forEach((o, k) => {
    let diff = 0, scale = 0;
    for (let i = 0; i < program.layout.sizes[k]!; i++) {
      diff = Math.max(diff, Math.abs(a[1 + o + i]! - b[1 + o + i]!));
      scale = Math.max(scale, Math.abs(b[1 + o + i]!));
    }
    if (scale > 0) worst = Math.max(worst, diff / scale);
    else if (exactZeros) expect(diff).toBe(0);
  });
  return worst;
}
