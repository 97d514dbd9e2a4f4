/**
 * Trajectory training of an lnn through a variational integrator: the program advances (q, p) with p the discrete
 * momenta, the data hold (q, v). Each window starts at p0 = ∂L/∂v(q0, v0; θ) and compares, at every step j, q_j with
 * Q_j and the discrete velocity (q_j − q_{j−1})/h with the data's (Q_j − Q_{j−1})/h. Not the continuous velocity
 * V(q_j, p_j): a poorly fitting L (softplus networks have a bounded ∂L/∂v) takes discrete momenta its momentum map
 * never reaches, where V does not exist, and long windows stopped there. The exact gradient is the phase-space
 * adjoint of the steps (stored states) with the loss's cotangents on the positions, pulled back through ∂L/∂v at
 * the start. */
import { cpuAdjointBackend } from '../backends/cpu/adjoint.js';
import type { BackwardSegment } from '../backends/adjoint-driver.js';
import { DarbouxError } from '../errors.js';
import type { StepProgram } from '../integrators/step-program.js';
import { size } from '../ir/shape.js';
import type { Lagrangian } from '../system/lagrangian.js';

/** What the objective needs from the checked data: windows' starts (flat state indices), horizon, observations. */
export interface VariationalWindows {
  readonly program: StepProgram;
  /** A private copy of the model's Lagrangian whose parameter arrays are overwritten per evaluation. */
  readonly lagrangian: Lagrangian;
  readonly starts: readonly number[];
  readonly horizon: number;
  readonly Q: Float64Array;
  readonly V: Float64Array;
  readonly dt: number;
}

/**
 * Loss (mean over windows, steps and the 2·dof components of (q_j − Q_j)², (v_j − V_j)²) and its exact gradient
 * in θ (written into `grad`) for the windows `rows`, through `program` (a variational method) at parameters θ.
 *
 * @example
 * const loss = await variationalWindowLoss(windows, theta, Uint32Array.of(0, 1), grad);
 */
export async function variationalWindowLoss(w: VariationalWindows, theta: Float64Array, rows: Uint32Array, grad: Float64Array): Promise<number> {
  const { program, lagrangian: L, starts, horizon, Q, V, dt } = w;
  const n = L.dof, batch = rows.length, stride = batch * n;
  let at = 0;
  const params = L.params.map((node, k) => {
    const values = theta.subarray(at, (at += size(node.shape)));
    (L.paramValues[k] as Float64Array).set(values);
    return values;
  });
  const backend = cpuAdjointBackend(program, dt, params);
  const obs = (j: number, k: number, a: Float64Array) => a.subarray((starts[rows[k]!]! + j) * n, (starts[rows[k]!]! + j + 1) * n);
  const c = 1 / (batch * horizon * 2 * n);
  // Forward: p0 = ∂L/∂v(q0, v0), then `horizon` steps with every state kept (the state at the start of each step).
  const storedQ = new Float64Array((horizon + 1) * stride), storedP = new Float64Array((horizon + 1) * stride);
  for (let k = 0; k < batch; k++) {
    storedQ.set(obs(0, k, Q), k * n);
    storedP.set(L.momenta(obs(0, k, Q), obs(0, k, V), 0), k * n);
  }
  const run = await backend.forward(storedQ.slice(0, stride), storedP.slice(0, stride), batch, horizon, 0, 1);
  storedQ.set(run.record!.q, stride);
  storedP.set(run.record!.p, stride);
  // Per step j: c·[(q_j − Q_j)² + e_j²], e_j = ((q_j − q_{j−1}) − (Q_j − Q_{j−1}))/h the discrete velocity's error
  // against the data's finite difference (always defined, unlike V(q_j, p_j)), and its cotangent on q_j.
  const lq = new Float64Array(stride), lp = new Float64Array(stride);
  grad.fill(0);
  const stateQ = (j: number, k: number) => storedQ.subarray(j * stride + k * n, j * stride + (k + 1) * n);
  const velocityError = (j: number, k: number, i: number) => (stateQ(j, k)[i]! - stateQ(j - 1, k)[i]! - (obs(j, k, Q)[i]! - obs(j - 1, k, Q)[i]!)) / dt;
  let loss = 0;
  for (let j = 1; j <= horizon; j++) {
    for (let k = 0; k < batch; k++) {
      for (let i = 0; i < n; i++) loss += c * ((stateQ(j, k)[i]! - obs(j, k, Q)[i]!) ** 2 + velocityError(j, k, i) ** 2);
    }
  }
  if (!Number.isFinite(loss)) return loss;
  const addStep = (j: number) => {
    for (let k = 0; k < batch; k++) {
      for (let i = 0; i < n; i++) {
        const next = j < horizon ? velocityError(j + 1, k, i) : 0;
        lq[k * n + i]! += 2 * c * (stateQ(j, k)[i]! - obs(j, k, Q)[i]! + (velocityError(j, k, i) - next) / dt);
      }
    }
  };
  const segment: BackwardSegment = { source: 'store', batch, steps: 1, t0: 0, q: run.q, p: run.p, lq, lp, g: grad };
  for (let j = horizon; j >= 1; j--) {
    addStep(j);
    segment.storedQ = storedQ.subarray((j - 1) * stride, j * stride);
    segment.storedP = storedP.subarray((j - 1) * stride, j * stride);
    segment.t0 = (j - 1) * dt;
    const status = await backend.backward(segment);
    if (status.failure) {
      const f = status.failure;
      throw new DarbouxError(f.kind === 'noConvergence' ? 'NO_CONVERGENCE' : 'NONFINITE', `fit: the backward ${program.method} step ${j} of window ${f.trajectory} failed (${f.kind}); reduce dt or the learning rate`, {
        step: j,
        trajectory: f.trajectory,
      });
    }
  }
  // The start: p0 = ∂L/∂v(q0, v0; θ) with q0, v0 data, so only θ receives λ_p0.
  for (let k = 0; k < batch; k++) addParams(grad, L.momentaVjp(obs(0, k, Q), obs(0, k, V), 0, lp.subarray(k * n, (k + 1) * n)).dparams, 1);
  return loss;
}

/** grad += sign · (the per-parameter arrays, concatenated in parameter order). */
function addParams(grad: Float64Array, parts: readonly Float64Array[], sign: number): void {
  let at = 0;
  for (const part of parts) for (let i = 0; i < part.length; i++) grad[at++]! += sign * part[i]!;
}
