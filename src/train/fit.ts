/**
 * `fit`: trains a neural model (hnn, mlpField, sympnet) on samples with Adam, on the CPU (f64) or the GPU
 * (f32 kernels), with every input checked before any work starts.
 */
import { DarbouxError, showValue } from '../errors.js';
import type { NeuralModel } from '../models/neural/model.js';
import { matchBatchedHnn, type BatchedHnnSpec } from './batched-match.js';
import { matchBatchedLnn, perSampleIsFaster, type BatchedLnnSpec } from './batched-lnn-match.js';
import { checkTrainingData, packSamples } from './data.js';
import { trainCpu } from './cpu-trainer.js';
import { trainGpu } from './gpu-trainer.js';
import { gradientProgram, packParams, unpackParams, type GradientProgram } from './gradient-program.js';
import { lossGraph } from './losses.js';
import { checkFitOptionNames, resolveFitOptions } from './options.js';
import type { FitOptions, FitResult, SampleData, TrajectoryTrainingData } from './types.js';
import type { TrainingOutcome, TrainingPlan } from './plan.js';
import { fitTrajectories } from './trajectory-fit.js';
import { RunControl } from '../backends/run-control.js';

function checkModel(model: NeuralModel): void {
  if (model === null || typeof model !== 'object') throw new DarbouxError('SPEC', 'fit: the model must be a NeuralModel (from hnn, mlpField, sympnet or lnn)');
  const { dof } = model;
  if (!Number.isSafeInteger(dof) || dof < 1) throw new DarbouxError('SPEC', `fit: model.dof must be a positive integer, got ${showValue(dof)}`);
  for (const key of ['q', 'p'] as const) {
    const node = model[key];
    if (!node || node.shape?.length !== 1 || node.shape[0] !== dof) {
      throw new DarbouxError('SPEC', `fit: model.${key} must be a vector input of length dof = ${dof}`);
    }
  }
  if (!Array.isArray(model.paramNodes) || model.paramNodes.length === 0) throw new DarbouxError('SPEC', 'fit: the model has no parameters (model.paramNodes is empty)');
  if (typeof model.withParams !== 'function') throw new DarbouxError('SPEC', 'fit: the model has no withParams method');
}

/**
 * Builds the plan of a training run: options, loss graph, parameter gradients, packed data — throwing
 * OPTION / INPUT / SPEC errors before anything is compiled or run.
 *
 * @example
 * const plan = planTraining(model, data, { steps: 100, lr: 1e-3 });
 */
export function planTraining(model: NeuralModel, data: SampleData, options: FitOptions): TrainingPlan {
  checkModel(model);
  const resolved = resolveFitOptions(model, options);
  const graph = lossGraph(model, { loss: resolved.loss, energyWeight: resolved.energyWeight, rollout: resolved.rollout });
  const count = checkTrainingData(graph, model.dof, data, 'data');
  if (options.validation !== undefined) checkTrainingData(graph, model.dof, options.validation, 'validation');
  const program = gradientProgram(model, graph);
  const theta = packParams(program.layout, model.params);
  const { batched, batchedLnn } = batchedSpecs(model, program, resolved.cpuLowering, resolved.backend);
  return {
    program,
    train: packSamples(graph, model.dof, data),
    validation: options.validation ? packSamples(graph, model.dof, options.validation) : undefined,
    theta,
    options: resolved,
    batch: Math.min(resolved.batchSize ?? count, count),
    adam: {
      lr: resolved.lr,
      beta1: resolved.beta1,
      beta2: resolved.beta2,
      eps: resolved.eps,
      weightDecay: resolved.weightDecay,
      decoupled: resolved.decoupled,
      clipNorm: resolved.clipNorm,
      cosine: resolved.cosine,
      steps: resolved.steps,
    },
    ...(batched ? { batched } : {}),
    ...(batchedLnn ? { batchedLnn } : {}),
  };
}

/**
 * The batched lowering's spec for the plan (an HNN's derivative loss, or an lnn's acceleration loss on the CPU), per
 * `cpuLowering`: 'auto' takes it where it matches (for an lnn, unless `perSampleIsFaster`), 'batched' demands it
 * (OPTION error with the reason otherwise), 'perSample' never.
 */
function batchedSpecs(model: NeuralModel, program: GradientProgram, lowering: 'auto' | 'batched' | 'perSample', backend: string): { batched?: BatchedHnnSpec; batchedLnn?: BatchedLnnSpec } {
  if (lowering === 'perSample') return {};
  const refuse = (why: string) => {
    throw new DarbouxError('OPTION', `fit: cpuLowering 'batched' does not apply to ${why}; use cpuLowering 'auto' or 'perSample'`, { option: 'cpuLowering', reason: why });
  };
  if (model.kind === 'lnn') {
    const spec = matchBatchedLnn(model, program);
    if (lowering === 'batched' && typeof spec !== 'object') refuse(spec);
    if (lowering === 'batched' && backend === 'gpu') refuse('an lnn on the gpu backend (the batched lnn lowering is CPU only)');
    return typeof spec === 'object' && (lowering === 'batched' || !perSampleIsFaster(spec)) ? { batchedLnn: spec } : {};
  }
  const spec = matchBatchedHnn(model, program);
  if (lowering === 'batched' && typeof spec !== 'object') refuse(spec);
  return typeof spec === 'object' ? { batched: spec } : {};
}

/**
 * Trains `model` on `data` with Adam and returns the trained parameters, the trained model (and, for an hnn,
 * its Hamiltonian, usable by `compile`), the minibatch loss history and timing. Deterministic for a seed.
 * Throws DarbouxError OPTION / INPUT / SPEC for bad input before any work, and NONFINITE (with the step and
 * the last finite loss) when training diverges. Training yields to the event loop every ~20 ms: `signal`
 * cancels it (ABORTED, name 'AbortError') and `onProgress` reports the optimiser steps done.
 *
 * @example
 * const model = hnn({ dof: 1, hidden: [200], activation: 'tanh', seed: 0 });
 * const res = await fit(model, { q, p, dqdt, dpdt }, { loss: 'derivative', steps: 2000, lr: 1e-3, weightDecay: 1e-4, batchSize: 250, seed: 0 });
 * const st = await compile(res.hamiltonian!, { method: 'midpoint', dt: 0.1, backend: 'cpu' });
 * // Trajectory training through implicit midpoint with the exact adjoint (constant memory in the horizon):
 * await fit(model, { trajectories: { q, p, dt: 0.01, length: 100 } }, { loss: 'rollout', method: 'midpoint', horizon: 16, gradient: 'adjoint', steps: 500, lr: 1e-3 });
 */
export async function fit(model: NeuralModel, data: SampleData | TrajectoryTrainingData, options: FitOptions): Promise<FitResult> {
  checkFitOptionNames(options);
  // Trajectory training: data with trajectories only, or with samples too (a dataset) and loss 'rollout' without
  // the per-sample `rollout` settings.
  const control = new RunControl({ signal: options?.signal, onProgress: options?.onProgress }, 'fit', Number.isSafeInteger(options?.steps) ? options.steps : 0);
  control.throwIfAborted();
  const trajectories = data !== null && typeof data === 'object' && 'trajectories' in data ? data.trajectories : undefined;
  const samples = data !== null && typeof data === 'object' && 'q' in data && data.q !== undefined;
  if (trajectories !== undefined && (!samples || (options?.loss === 'rollout' && options.rollout === undefined))) {
    checkModel(model);
    if (options?.loss !== undefined && options.loss !== 'rollout') {
      throw new DarbouxError('OPTION', `fit: trajectories train with loss 'rollout', got ${showValue(options.loss)}`);
    }
    return fitTrajectories(model, trajectories, options, control);
  }
  const plan = planTraining(model, data as SampleData, options);
  let outcome: TrainingOutcome;
  if (plan.options.backend === 'gpu') {
    outcome = await trainGpu(plan, control);
  } else {
    outcome = await trainCpu(plan, control);
  }
  control.report(1, 1);
  const params = unpackParams(plan.program.layout, outcome.theta);
  const trained = model.withParams(params);
  return {
    model: trained,
    params,
    hamiltonian: trained.hamiltonian,
    ...(trained.lagrangian !== undefined ? { lagrangian: trained.lagrangian } : {}),
    history: outcome.history,
    validationHistory: outcome.validationHistory,
    validationSteps: outcome.validationSteps,
    backend: plan.options.backend,
    seconds: outcome.seconds,
    samplesPerSecond: (plan.options.steps * plan.batch) / outcome.seconds,
    graph: { ...plan.program.sizes },
  };
}
