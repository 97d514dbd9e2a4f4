/**
 * Adam (Kingma & Ba 2015) on a flat f64 parameter vector, in the arrangement of torch.optim.Adam:
 * gradient-norm clipping first (torch's clip_grad_norm_: scale by c/(‖g‖ + 1e-6) when that is < 1), then weight
 * decay — 'l2' adds wd·θ to the gradient (torch.optim.Adam's weight_decay, what Greydanus et al. used) or
 * 'decoupled' shrinks θ by lr·wd (AdamW) — then the bias-corrected moment update
 * θ ← θ − (lr/(1 − β₁ᵗ))·m / (√v/√(1 − β₂ᵗ) + ε). The learning rate is constant or follows a cosine decay to 0.
 * The GPU kernel (wgsl-training.ts) runs the same sequence in f32.
 */

/** Settings of the optimiser. */
export interface AdamSettings {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** AdamW-style decay instead of L2. */
  decoupled: boolean;
  /** Gradient-norm clipping threshold (0: none). */
  clipNorm: number;
  /** Cosine learning-rate decay over `steps`. */
  cosine: boolean;
  steps: number;
}

/**
 * The learning rate at step t (0-based): lr, or lr·(1 + cos(π·t/steps))/2 with the cosine schedule
 * (torch's CosineAnnealingLR with T_max = steps and η_min = 0).
 *
 * @example
 * learningRate({ lr: 1e-3, cosine: true, steps: 100 }, 50); // 5e-4
 */
export function learningRate(s: Pick<AdamSettings, 'lr' | 'cosine' | 'steps'>, t: number): number {
  return s.cosine ? (s.lr * (1 + Math.cos((Math.PI * t) / s.steps))) / 2 : s.lr;
}

/**
 * The factor torch's clip_grad_norm_ scales a gradient of norm `norm` by (1 when not clipping).
 *
 * @example
 * clipFactor(10, 1); // 1 / (10 + 1e-6)
 */
export function clipFactor(norm: number, clipNorm: number): number {
  if (clipNorm <= 0) return 1;
  const coef = clipNorm / (norm + 1e-6);
  return coef < 1 ? coef : 1;
}

/**
 * Adam state (first and second moments, step count) for P parameters.
 *
 * @example
 * const adam = new Adam(theta.length, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false, clipNorm: 0, cosine: false, steps: 100 });
 * adam.step(theta, grad); // θ updated in place; returns ‖grad‖ before clipping
 */
export class Adam {
  readonly m: Float64Array;
  readonly v: Float64Array;
  /** Updates done so far. */
  t = 0;

  constructor(readonly size: number, readonly settings: AdamSettings) {
    this.m = new Float64Array(size);
    this.v = new Float64Array(size);
  }

  /**
   * One update of θ (in place) from the minibatch-mean gradient `grad` (which is overwritten with the clipped,
   * decayed gradient). Returns the gradient's Euclidean norm before clipping.
   */
  step(theta: Float64Array, grad: Float64Array): number {
    const s = this.settings;
    const lr = learningRate(s, this.t);
    this.t += 1;
    let sq = 0;
    for (let j = 0; j < this.size; j++) sq += grad[j]! * grad[j]!;
    const norm = Math.sqrt(sq);
    const clip = clipFactor(norm, s.clipNorm);
    const bc1 = 1 - Math.pow(s.beta1, this.t);
    const bc2 = Math.sqrt(1 - Math.pow(s.beta2, this.t));
    const stepSize = lr / bc1;
    const shrink = s.decoupled ? 1 - lr * s.weightDecay : 1;
    const l2 = s.decoupled ? 0 : s.weightDecay;
    const { m, v } = this;
    for (let j = 0; j < this.size; j++) {
      const g = grad[j]! * clip + l2 * theta[j]!;
      grad[j] = g;
      m[j] = s.beta1 * m[j]! + (1 - s.beta1) * g;
      v[j] = s.beta2 * v[j]! + (1 - s.beta2) * g * g;
      theta[j] = theta[j]! * shrink - (stepSize * m[j]!) / (Math.sqrt(v[j]!) / bc2 + s.eps);
    }
    return norm;
  }
}
