/**
 * A run's frames as derivative samples for `darboux train hnn|mlpField`: the time derivatives of q and p at each
 * interior frame estimated by a 6th-order central difference over the frame spacing (as Greydanus et al. estimate
 * them from trajectory data), with a resolution check that refuses frames too far apart to resolve the motion.
 */
import { DarbouxError, type TrainingData } from '../index.js';

/** Central-difference weights: f'(x) ≈ Σ_k w_k (f(x + k·h) − f(x − k·h)) / h, for k = 1, 2, 3 (orders 6 and 4). */
const ORDER6 = [3 / 4, -3 / 20, 1 / 60] as const;
const ORDER4 = [2 / 3, -1 / 12, 0] as const;
/** Largest relative RMS difference of the 4th- and 6th-order estimates that counts as resolved (6th-order error then ≲ 1%). */
export const RESOLUTION_TOLERANCE = 0.05;

/** Derivative samples from frames, with how they were made. */
export interface FrameDerivatives {
  readonly data: TrainingData;
  /** Number of samples (interior frames × trajectories with finite stencils). */
  readonly samples: number;
  /** The frame spacing h (time between consecutive frames). */
  readonly spacing: number;
  /** Relative RMS difference of the 4th- and 6th-order estimates (a bound-like estimate of the 4th-order error). */
  readonly mismatch: number;
}

function uniformSpacing(t: Float64Array, path: string): number {
  const h = t[1]! - t[0]!;
  for (let f = 1; f + 1 < t.length; f++) {
    const step = t[f + 1]! - t[f]!;
    if (!(Math.abs(step - h) <= 1e-6 * Math.abs(h))) {
      throw new DarbouxError('INPUT', `${path}: derivative targets need equally spaced frames; t[${f + 1}] − t[${f}] = ${step} differs from t[1] − t[0] = ${h} (save with --save-every, or train with --loss rollout)`, { path, frame: f, spacing: h, step });
    }
  }
  if (!(h > 0)) throw new DarbouxError('INPUT', `${path}: frame times must increase, got t[1] − t[0] = ${h}`, { path, spacing: h });
  return h;
}

/**
 * Derivative samples (q, p, dqdt, dpdt: samples × dof) at the interior frames of `qs`, `ps` (frames × trajectories ×
 * dof, as darboux run writes them), frames 3 … frames − 4 of every trajectory whose 7-frame stencil is finite (a
 * failed member's NaN frames are left out). Throws INPUT when there are fewer than 7 frames, the frames are not
 * equally spaced, or they do not resolve the motion (the 4th- and 6th-order estimates differ by more than
 * RESOLUTION_TOLERANCE, relative RMS).
 *
 * @example
 * const { data, spacing } = frameDerivatives(qs, ps, t, 'run.npz'); // data.dqdt ≈ dq/dt at frames 3 … frames − 4
 */
export function frameDerivatives(
  qs: { shape: readonly number[]; data: Float64Array },
  ps: { shape: readonly number[]; data: Float64Array },
  t: Float64Array,
  path: string,
): FrameDerivatives {
  const [frames, batch, dof] = qs.shape as [number, number, number];
  if (frames < 7) {
    throw new DarbouxError('INPUT', `${path}: derivative targets take a 7-frame central difference, and the file has ${frames} frames; save more frames or train with --loss rollout`, { path, frames });
  }
  const h = uniformSpacing(t, path);
  const size = batch * dof, width = 2 * dof;
  const interior = (frames - 6) * batch;
  const q = new Float64Array(interior * dof), p = new Float64Array(interior * dof);
  const dqdt = new Float64Array(interior * dof), dpdt = new Float64Array(interior * dof);
  const d6 = new Float64Array(width), d4 = new Float64Array(width);
  let count = 0, diff2 = 0, norm2 = 0;
  for (let f = 3; f < frames - 3; f++) {
    for (let b = 0; b < batch; b++) {
      let finite = true;
      for (let c = 0; c < width; c++) {
        const src = c < dof ? qs.data : ps.data, at = b * dof + (c % dof);
        let s6 = 0, s4 = 0;
        for (let k = 1; k <= 3; k++) {
          const step = src[(f + k) * size + at]! - src[(f - k) * size + at]!;
          s6 += ORDER6[k - 1]! * step;
          s4 += ORDER4[k - 1]! * step;
        }
        d6[c] = s6 / h;
        d4[c] = s4 / h;
        if (!Number.isFinite(s6) || !Number.isFinite(src[f * size + at]!)) finite = false;
      }
      if (!finite) continue;
      for (let c = 0; c < width; c++) {
        diff2 += (d6[c]! - d4[c]!) ** 2;
        norm2 += d6[c]! ** 2;
      }
      q.set(qs.data.subarray(f * size + b * dof, f * size + (b + 1) * dof), count * dof);
      p.set(ps.data.subarray(f * size + b * dof, f * size + (b + 1) * dof), count * dof);
      dqdt.set(d6.subarray(0, dof), count * dof);
      dpdt.set(d6.subarray(dof), count * dof);
      count++;
    }
  }
  if (count === 0) throw new DarbouxError('INPUT', `${path}: no trajectory has 7 consecutive finite frames to estimate derivatives from`, { path, frames, batch });
  const mismatch = norm2 > 0 ? Math.sqrt(diff2 / norm2) : 0;
  if (!(mismatch <= RESOLUTION_TOLERANCE)) {
    throw new DarbouxError(
      'INPUT',
      `${path}: frames ${h} apart do not resolve the motion (4th- and 6th-order central differences differ by ${(100 * mismatch).toFixed(1)}%, more than ${100 * RESOLUTION_TOLERANCE}%), so derivative targets would be wrong; save frames more often (a smaller darboux run --save-every) or train through an integrator with --loss rollout`,
      { path, spacing: h, mismatch, tolerance: RESOLUTION_TOLERANCE },
    );
  }
  const n = count * dof;
  return { data: { q: q.slice(0, n), p: p.slice(0, n), dqdt: dqdt.slice(0, n), dpdt: dpdt.slice(0, n) }, samples: count, spacing: h, mismatch };
}
