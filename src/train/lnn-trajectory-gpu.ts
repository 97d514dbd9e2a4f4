/**
 * Trajectory training of an lnn on the GPU (f32): every window becomes one training sample (its start and the
 * observations after it), the window's loss graph (`lnn-window-graph.ts`: rk4 or a variational method, steps
 * integrated symbolically) is differentiated in reverse mode and lowered to the per-sample WGSL kernel of `fit`, and
 * Adam runs on the device (`trainGpu`) — the same loss as the CPU objective, so runs on the two backends follow
 * each other to f32 rounding.
 */
import type { RunControl } from '../backends/run-control.js';
import type { NeuralModel } from '../models/neural/model.js';
import { packSamples } from './data.js';
import { gradientProgram, packParams, unpackParams } from './gradient-program.js';
import { trainGpu } from './gpu-trainer.js';
import { lnnWindowLossGraph } from './lnn-window-graph.js';
import { newtonConvergenceCheck, withNewtonMarker } from './lnn-newton-check.js';
import type { ResolvedFitOptions } from './options.js';
import type { TrainingPlan } from './plan.js';
import type { FitResult, LagrangianTrainingData, TrajectoryData, TrajectoryGradientMemory } from './types.js';

/** What the windows of checked trajectory data are: their start indices (flat over trajectories × length), horizon, method. */
export interface LnnWindows {
  readonly method: string;
  readonly horizon: number;
  readonly starts: readonly number[];
}

/**
 * The training plan of an lnn's trajectory windows (one sample per window: q₀, v₀ and the `horizon` observed
 * positions and velocities after it), ready for `trainGpu` (or `evaluateGpuGradient` / `compileCpuGradient`).
 *
 * @example
 * const plan = lnnWindowPlan(model, data, { method: 'rk4', horizon: 4, starts: [0, 1, 2] }, resolved);
 */
export function lnnWindowPlan(model: NeuralModel, data: TrajectoryData, windows: LnnWindows, resolved: ResolvedFitOptions): TrainingPlan {
  const { method, horizon, starts } = windows;
  const n = model.dof;
  const graph = lnnWindowLossGraph(model, { method, horizon, dt: data.dt });
  // The gradient is the plain loss's; the marker (0 when every unrolled solve converged) only enters the loss value.
  const program = withNewtonMarker(gradientProgram(model, graph), graph.newtonResiduals);
  const count = starts.length;
  const q = new Float64Array(count * n), v = new Float64Array(count * n);
  const qNext = new Float64Array(count * horizon * n), pNext = new Float64Array(count * horizon * n);
  const Q = Float64Array.from(data.q), V = Float64Array.from(data.p);
  starts.forEach((start, w) => {
    q.set(Q.subarray(start * n, (start + 1) * n), w * n);
    v.set(V.subarray(start * n, (start + 1) * n), w * n);
    qNext.set(Q.subarray((start + 1) * n, (start + 1 + horizon) * n), w * horizon * n);
    pNext.set(V.subarray((start + 1) * n, (start + 1 + horizon) * n), w * horizon * n);
  });
  const theta = packParams(program.layout, model.params);
  const samples = { q, v, a: new Float64Array(0), qNext, pNext } as LagrangianTrainingData;
  return {
    program,
    train: packSamples(graph, n, samples),
    theta,
    options: resolved,
    batch: Math.min(resolved.batchSize ?? count, count),
    ...(graph.newtonResiduals.length > 0 ? { convergence: newtonConvergenceCheck(model, program.layout, graph.newtonResiduals, { q, v, method, horizon, starts, initialTheta: theta }) } : {}),
    adam: {
      lr: resolved.lr, beta1: resolved.beta1, beta2: resolved.beta2, eps: resolved.eps, weightDecay: resolved.weightDecay,
      decoupled: resolved.decoupled, clipNorm: resolved.clipNorm, cosine: resolved.cosine, steps: resolved.steps,
    },
  };
}

/**
 * Trains an lnn on trajectory windows on the GPU (f32 kernels, Adam on the device); `fitTrajectories` lands here
 * for `backend: 'gpu'`.
 *
 * @example
 * const res = await fit(lnn({ dof: 1, hidden: [8], seed: 0 }), { trajectories }, { loss: 'rollout', method: 'rk4', horizon: 4, steps: 200, lr: 1e-2, backend: 'gpu' });
 */
export async function fitLnnTrajectoriesGpu(
  model: NeuralModel,
  data: TrajectoryData,
  windows: LnnWindows,
  resolved: ResolvedFitOptions,
  control: RunControl,
): Promise<FitResult & { memory: TrajectoryGradientMemory }> {
  const plan = lnnWindowPlan(model, data, windows, resolved);
  const outcome = await trainGpu(plan, control);
  const params = unpackParams(plan.program.layout, outcome.theta);
  const trained = model.withParams(params);
  return {
    model: trained,
    params,
    ...(trained.lagrangian !== undefined ? { lagrangian: trained.lagrangian } : {}),
    history: outcome.history,
    validationHistory: [],
    validationSteps: [],
    backend: 'gpu',
    seconds: outcome.seconds,
    samplesPerSecond: (resolved.steps * plan.batch) / outcome.seconds,
    graph: { ...plan.program.sizes },
    memory: { mode: 'backprop', stateBytes: 4 * 2 * plan.batch * model.dof * (windows.horizon + 1) },
  };
}
