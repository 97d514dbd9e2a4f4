/**
 * Trajectory training: an hnn (or an lnn, through rk4 on its Euler–Lagrange ODE: `lnn-trajectory.ts`) fitted to
 * observed trajectories through k steps of any `compile` method, with
 * gradients by the exact discrete adjoint (constant memory in the horizon, states rebuilt by the inverse step)
 * or by backpropagation through stored states. Explicit and implicit methods alike: implicit steps are
 * differentiated by the implicit function theorem, never through their iterations.
 */
import { RunControl } from '../backends/run-control.js';
import { DarbouxError, showValue } from '../errors.js';
import { stepProgram } from '../integrators/methods.js';
import { isReversible } from '../integrators/inverse-step.js';
import { cpuAdjointBackend } from '../backends/cpu/adjoint.js';
import { graphSize, inputsOf } from '../ir/traverse.js';
import { adjointStep } from '../integrators/adjoint-step.js';
import { withImplicitSolver } from '../integrators/newton.js';
import type { StepProgram } from '../integrators/step-program.js';
import { size } from '../ir/shape.js';
import type { NeuralModel, ParamTensors } from '../models/neural/model.js';
import type { AdjointBackend, BackwardSegment } from '../backends/adjoint-driver.js';
import { Adam } from './adam.js';
import { minibatchSampler } from './minibatch.js';
import { nonFiniteError } from './plan.js';
import { resolveFitOptions } from './options.js';
import { lagrangianTrajectoryProgram } from './lnn-trajectory.js';
import { variationalWindowLoss } from './lnn-variational-objective.js';
import { fitLnnTrajectoriesGpu } from './lnn-trajectory-gpu.js';
import type { FitOptions, FitResult, TrajectoryData, TrajectoryFitOptions, TrajectoryGradientMemory } from './types.js';


const positiveInteger = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;

/**
 * Checks trajectory data and options against the model; returns the step program, the windows' start indices and counts.
 *
 * @example
 * const { program, horizon, starts } = checkTrajectories(model, data.trajectories, { method: 'rk4', horizon: 4 });
 */
export function checkTrajectories(model: NeuralModel, data: TrajectoryData, options: TrajectoryFitOptions) {
  const lagrangian = model.kind === 'lnn' ? lagrangianTrajectoryProgram(model, options) : undefined;
  if (lagrangian === undefined && (model.kind !== 'hnn' || model.hamiltonian === undefined)) {
    throw new DarbouxError('OPTION', `fit: trajectory training integrates a Hamiltonian or a Lagrangian; a ${model.kind} model has neither (use an hnn or an lnn)`);
  }
  const h = model.hamiltonian;
  if (h !== undefined && inputsOf([h.H]).includes(h.time)) throw new DarbouxError('SPEC', 'fit: trajectory training needs an autonomous H (no explicit time dependence)');
  const { dt, length } = data;
  if (typeof dt !== 'number' || !Number.isFinite(dt) || dt <= 0) throw new DarbouxError('INPUT', `fit: trajectories.dt must be a finite number > 0, got ${showValue(dt)}`);
  if (!positiveInteger(length) || length < 2) throw new DarbouxError('INPUT', `fit: trajectories.length must be an integer ≥ 2, got ${showValue(length)}`);
  const per = length * model.dof;
  for (const key of ['q', 'p'] as const) {
    const a = data[key];
    if (a === undefined || typeof a.length !== 'number' || a.length === 0 || a.length % per !== 0) {
      throw new DarbouxError('INPUT', `fit: trajectories.${key} must hold trajectories × length × dof = k × ${length} × ${model.dof} values, got ${a?.length}`);
    }
    for (let i = 0; i < a.length; i++) {
      if (!Number.isFinite(a[i]!)) throw new DarbouxError('INPUT', `fit: trajectories.${key}[${i}] is not finite (${a[i]})`);
    }
  }
  if (data.q.length !== data.p.length) throw new DarbouxError('INPUT', `fit: trajectories.q and .p differ in length (${data.q.length} vs ${data.p.length})`);
  const horizon = options.horizon ?? 1;
  if (!positiveInteger(horizon) || horizon >= length) throw new DarbouxError('OPTION', `fit: horizon must be an integer in [1, ${length - 1}] (trajectory length ${length}), got ${showValue(options.horizon)}`);
  const count = data.q.length / per;
  const starts: number[] = [];
  for (let t = 0; t < count; t++) for (let k = 0; k + horizon < length; k++) starts.push(t * length + k);
  if (lagrangian !== undefined) return { ...lagrangian, horizon, starts, count };
  const gradient = options.gradient ?? 'adjoint';
  if (gradient !== 'adjoint' && gradient !== 'backprop') throw new DarbouxError('OPTION', `fit: gradient must be 'adjoint' or 'backprop', got ${showValue(options.gradient)}`);
  const method = options.method ?? 'midpoint';
  const solver = options.solver ?? 'fixedPoint';
  if (!['fixedPoint', 'newton', 'simplifiedNewton'].includes(solver)) throw new DarbouxError('OPTION', `fit: solver must be 'fixedPoint', 'newton' or 'simplifiedNewton', got ${showValue(options.solver)}`);
  // Unknown method or a non-separable H with leapfrog: thrown here.
  const program = withImplicitSolver(stepProgram(h!, method), solver);
  if (gradient === 'adjoint' && !isReversible(program)) {
    throw new DarbouxError('OPTION', `fit: ${method} has no inverse step, so gradient 'adjoint' cannot rebuild states backwards; use gradient: 'backprop'`, { method });
  }
  return { program, horizon, gradient, starts, count, variational: undefined };
}

/** The objective of trajectory training: windows, θ layout, and the loss with its exact gradient. */
export interface TrajectoryObjective {
  /** The step program the windows are integrated with (solver applied). */
  readonly program: StepProgram;
  /** Number of windows (a window: a start state and the `horizon` observations after it). */
  readonly windows: number;
  /** Parameter sizes in the Hamiltonian's order (the layout of θ and of the gradient). */
  readonly sizes: readonly number[];
  /** Loss over the windows `rows` at θ; the gradient is written into `grad` (overwritten). */
  evaluate(theta: Float64Array, rows: Uint32Array, grad: Float64Array): Promise<number>;
  /** Bytes of state held for one gradient of `batch` windows. */
  stateBytes(batch: number): number;
}

/**
 * Builds the trajectory-training objective of an hnn or an lnn (rk4 on its Euler–Lagrange ODE, state (q, v)): each window of `horizon` steps is integrated with `method`
 * from its observed start, the loss is the mean over windows, steps and the 2·dof components of
 * (z_j − observed z_j)², and its gradient is the exact discrete adjoint of the steps (the per-step loss gradients
 * added as the adjoint passes each step), with states rebuilt by the inverse step ('adjoint') or stored ('backprop').
 *
 * @example
 * const objective = trajectoryObjective(model, data.trajectories, { method: 'midpoint', horizon: 8 });
 * const loss = await objective.evaluate(theta, Uint32Array.of(0, 1, 2), grad);
 */
export function trajectoryObjective(model: NeuralModel, data: TrajectoryData, options: TrajectoryFitOptions): TrajectoryObjective {
  const { program, horizon, gradient, starts, variational } = checkTrajectories(model, data, options);
  const h = program.system;
  const n = model.dof;
  const Q = Float64Array.from(data.q), P = Float64Array.from(data.p);
  const dt = data.dt;
  const sizes = h.params.map((node) => size(node.shape));
  if (variational !== undefined) {
    const windows = { program, lagrangian: variational, starts, horizon, Q, V: P, dt };
    return { program, windows: starts.length, sizes, stateBytes: (batch) => 8 * 2 * batch * n * (horizon + 1), evaluate: (theta, rows, grad) => variationalWindowLoss(windows, theta, rows, grad) };
  }
  return {
    program,
    windows: starts.length,
    sizes,
    stateBytes: (batch) => 8 * 2 * batch * n * (gradient === 'adjoint' ? 2 : horizon + 1),
    async evaluate(theta, rows, grad) {
      const batch = rows.length, stride = batch * n;
      let at = 0;
      const backend = cpuAdjointBackend(program, dt, sizes.map((k) => theta.subarray(at, (at += k))));
      const q0 = new Float64Array(stride), p0 = new Float64Array(stride);
      for (let k = 0; k < batch; k++) {
        const from = starts[rows[k]!]! * n;
        q0.set(Q.subarray(from, from + n), k * n);
        p0.set(P.subarray(from, from + n), k * n);
      }
      const targetOf = (j: number, k: number, i: number, which: 'q' | 'p') => (which === 'q' ? Q : P)[(starts[rows[k]!]! + j) * n + i]!;
      // Loss weight per squared component: mean over windows, steps and the 2·dof components.
      const c = 1 / (batch * horizon * 2 * n);
      const { loss, q, p, lq, lp, storedQ, storedP } = await forwardLoss(backend, q0, p0, batch, n, horizon, gradient, c, targetOf);
      grad.fill(0);
      if (!Number.isFinite(loss)) return loss;
      // Backward, one step at a time, adding each step's loss gradient as the adjoint passes it.
      const segment: BackwardSegment = { source: gradient === 'adjoint' ? 'reverse' : 'store', batch, steps: 1, t0: 0, q, p, lq, lp, g: grad };
      for (let j = horizon; j >= 1; j--) {
        if (gradient === 'backprop') {
          segment.storedQ = storedQ!.subarray((j - 1) * stride, j * stride);
          segment.storedP = storedP!.subarray((j - 1) * stride, j * stride);
        }
        segment.t0 = (j - 1) * dt;
        const status = await backend.backward(segment);
        if (status.failure) {
          const f = status.failure;
          throw new DarbouxError(
            f.kind === 'noConvergence' ? 'NO_CONVERGENCE' : 'NONFINITE',
            `fit: the backward ${program.method} step ${j} of window ${f.trajectory} failed (${f.kind}${f.residual !== undefined ? `, residual ${f.residual.toExponential(3)}` : ''}); reduce dt or the learning rate`,
          );
        }
        if (j === 1) break;
        const zq = gradient === 'adjoint' ? segment.q : storedQ!.subarray((j - 1) * stride, j * stride);
        const zp = gradient === 'adjoint' ? segment.p : storedP!.subarray((j - 1) * stride, j * stride);
        for (let k = 0; k < batch; k++) {
          for (let i = 0; i < n; i++) {
            segment.lq[k * n + i] += 2 * c * (zq[k * n + i]! - targetOf(j - 1, k, i, 'q'));
            segment.lp[k * n + i] += 2 * c * (zp[k * n + i]! - targetOf(j - 1, k, i, 'p'));
          }
        }
      }
      return loss;
    },
  };
}

/**
 * Trains an hnn or an lnn on observed trajectories (`trajectoryObjective`; for an lnn the second slot holds
 * velocities) with Adam as in `fit`, on the CPU (f64), or for an lnn with `backend: 'gpu'` on the device (f32,
 * `lnn-trajectory-gpu.ts`): `fit(model, { trajectories }, { loss: 'rollout', method, horizon, gradient })` lands here.
 *
 * @example
 * const res = await fit(hnn({ dof: 1, hidden: [32], seed: 0 }), { trajectories: data.trajectories }, { loss: 'rollout', method: 'midpoint', horizon: 8, gradient: 'adjoint', steps: 500, lr: 1e-3 });
 */
export async function fitTrajectories(
  model: NeuralModel,
  data: TrajectoryData,
  options: FitOptions & TrajectoryFitOptions,
  control: RunControl = new RunControl({}, 'fit', options.steps),
): Promise<FitResult & { memory: TrajectoryGradientMemory }> {
  const resolved = resolveFitOptions(model, { ...options, loss: model.kind === 'lnn' ? 'acceleration' : 'derivative', rollout: undefined });
  if (resolved.backend !== 'cpu' && model.kind !== 'lnn') throw new DarbouxError('OPTION', "fit: trajectory training of an hnn runs on the CPU backend (f64); use backend: 'cpu' (an lnn also trains on trajectories on the GPU)");
  if (options.validation !== undefined) throw new DarbouxError('OPTION', 'fit: validation data is not supported with trajectory training; hold out trajectories and evaluate them with integrateModel');
  if (resolved.backend === 'gpu') {
    const { program, horizon, starts } = checkTrajectories(model, data, options);
    return fitLnnTrajectoriesGpu(model, data, { method: program.method, horizon, starts }, resolved, control);
  }
  const objective = trajectoryObjective(model, data, options);
  const h = objective.program.system;
  const total = objective.sizes.reduce((a, b) => a + b, 0);
  const theta = new Float64Array(total);
  let offset = 0;
  for (const node of h.params) {
    theta.set(model.params[node.attrs.name as string]!, offset);
    offset += size(node.shape);
  }
  const batch = Math.min(resolved.batchSize ?? objective.windows, objective.windows);
  const sampler = minibatchSampler(objective.windows, batch, resolved.seed);
  const adam = new Adam(total, {
    lr: resolved.lr, beta1: resolved.beta1, beta2: resolved.beta2, eps: resolved.eps, weightDecay: resolved.weightDecay,
    decoupled: resolved.decoupled, clipNorm: resolved.clipNorm, cosine: resolved.cosine, steps: resolved.steps,
  });
  const grad = new Float64Array(total);
  const history: number[] = [];
  const start = performance.now();
  for (let t = 0; t < resolved.steps; t++) {
    const loss = await objective.evaluate(theta, sampler.next(), grad);
    if (!Number.isFinite(loss)) throw nonFiniteError(t + 1, 'loss', loss, history);
    history.push(loss);
    const norm = adam.step(theta, grad);
    if (!Number.isFinite(norm)) throw nonFiniteError(t + 1, 'gradient norm', norm, history);
    await control.tick(t + 1);
  }
  const seconds = (performance.now() - start) / 1000;
  const params: ParamTensors = {};
  let at = 0;
  for (const node of h.params) params[node.attrs.name as string] = Array.from(theta.subarray(at, (at += size(node.shape))));
  const trained = model.withParams(params);
  const { program } = objective;
  return {
    model: trained,
    params,
    ...(trained.hamiltonian !== undefined ? { hamiltonian: trained.hamiltonian } : {}),
    ...(trained.lagrangian !== undefined ? { lagrangian: trained.lagrangian } : {}),
    history,
    validationHistory: [],
    validationSteps: [],
    backend: 'cpu',
    seconds,
    samplesPerSecond: (resolved.steps * batch) / seconds,
    graph: { loss: graphSize([program.next.q, program.next.p]), gradient: graphSize(adjointOutputs(program)) },
    memory: { mode: options.gradient ?? (model.kind === 'lnn' ? 'backprop' : 'adjoint'), stateBytes: objective.stateBytes(batch) },
  };
}

/** Every expression of the method's backward step (its graph size is reported as the gradient's). */
function adjointOutputs(program: StepProgram) {
  const step = adjointStep(program, isReversible(program) ? 'reverse' : 'store');
  return [step.previous.q, step.previous.p, step.lambda.q, step.lambda.p, ...step.paramGradient];
}

/**
 * The forward pass of a minibatch of windows: states after each of `horizon` steps compared with the
 * observations (loss c·Σ(z_j − y_j)²), the final state and the loss gradient there (the adjoint's start), and
 * for backprop the state at the start of every step (horizon × batch × dof). The adjoint keeps one state only.
 */
async function forwardLoss(
  backend: AdjointBackend,
  q0: Float64Array,
  p0: Float64Array,
  batch: number,
  n: number,
  horizon: number,
  gradient: 'adjoint' | 'backprop',
  c: number,
  target: (j: number, k: number, i: number, which: 'q' | 'p') => number,
) {
  const stride = batch * n;
  let loss = 0;
  const add = (j: number, zq: ArrayLike<number>, zp: ArrayLike<number>) => {
    for (let k = 0; k < batch; k++) {
      for (let i = 0; i < n; i++) {
        loss += c * ((zq[k * n + i]! - target(j, k, i, 'q')) ** 2 + (zp[k * n + i]! - target(j, k, i, 'p')) ** 2);
      }
    }
  };
  let q: Float64Array, p: Float64Array, storedQ: Float64Array | undefined, storedP: Float64Array | undefined;
  if (gradient === 'backprop') {
    storedQ = new Float64Array(horizon * stride);
    storedP = new Float64Array(horizon * stride);
    storedQ.set(q0);
    storedP.set(p0);
    const r = await backend.forward(q0.slice(), p0.slice(), batch, horizon, 0, 1); // advances its arguments in place
    storedQ.set(r.record!.q.subarray(0, (horizon - 1) * stride), stride);
    storedP.set(r.record!.p.subarray(0, (horizon - 1) * stride), stride);
    for (let j = 1; j <= horizon; j++) add(j, r.record!.q.subarray((j - 1) * stride, j * stride), r.record!.p.subarray((j - 1) * stride, j * stride));
    q = Float64Array.from(r.q);
    p = Float64Array.from(r.p);
  } else {
    q = q0.slice();
    p = p0.slice();
    for (let j = 1; j <= horizon; j++) {
      const r = await backend.forward(q, p, batch, 1, (j - 1) * backend.dt, 0);
      q = Float64Array.from(r.q);
      p = Float64Array.from(r.p);
      add(j, q, p);
    }
  }
  const lq = new Float64Array(stride), lp = new Float64Array(stride);
  for (let k = 0; k < batch; k++) {
    for (let i = 0; i < n; i++) {
      lq[k * n + i] = 2 * c * (q[k * n + i]! - target(horizon, k, i, 'q'));
      lp[k * n + i] = 2 * c * (p[k * n + i]! - target(horizon, k, i, 'p'));
    }
  }
  return { loss, q, p, lq, lp, storedQ, storedP };
}
