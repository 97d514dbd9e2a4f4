/**
 * What a training backend receives (everything validated and packed) and what it hands back.
 */
import { DarbouxError } from '../errors.js';
import type { AdamSettings } from './adam.js';
import type { PackedSamples } from './data.js';
import type { BatchedHnnSpec } from './batched-match.js';
import type { BatchedLnnSpec } from './batched-lnn-match.js';
import type { GradientProgram } from './gradient-program.js';
import type { ResolvedFitOptions } from './options.js';

/** A validated training run, ready for a backend. */
export interface TrainingPlan {
  program: GradientProgram;
  train: PackedSamples;
  validation?: PackedSamples;
  /** Initial parameters (flat, in layout order); backends do not modify it. */
  theta: Float64Array;
  options: ResolvedFitOptions;
  /** Samples per minibatch (≤ train.count). */
  batch: number;
  adam: AdamSettings;
  /** The batched lowering's spec (CPU and GPU), where it applies and is not turned off (`cpuLowering`). */
  batched?: BatchedHnnSpec;
  /** The batched CPU lowering of an lnn's acceleration loss (batched-lnn.ts), where it applies and `cpuLowering` picks it. */
  batchedLnn?: BatchedLnnSpec;
  /** Unrolled solves inside the loss (an lnn's variational windows on the GPU): how an unconverged one is reported. */
  convergence?: ConvergenceCheck;
}

/**
 * How a training backend learns that an unrolled solve inside the per-sample loss did not converge: the loss graph
 * adds `marker` per unconverged step (0 otherwise), so a minibatch loss sum ≥ marker / 2 means at least one.
 */
export interface ConvergenceCheck {
  readonly marker: number;
  /**
   * The NO_CONVERGENCE error for training step `step` (1-based) given θ now and the steps flagged in the minibatch
   * (0 when the loss was only non-finite); undefined when nothing is flagged and every solve converges at θ.
   */
  explain(step: number, theta: Float64Array, flagged: number): DarbouxError | undefined;
}

/** What a backend returns. */
export interface TrainingOutcome {
  theta: Float64Array;
  history: number[];
  validationHistory: number[];
  validationSteps: number[];
  /** Wall time of the optimisation loop, seconds. */
  seconds: number;
}

/**
 * The error of a diverged run: which step (1-based) produced a non-finite loss or gradient, and the last
 * finite loss.
 *
 * @example
 * throw nonFiniteError(17, 'loss', NaN, history);
 */
export function nonFiniteError(step: number, what: 'loss' | 'gradient norm', value: number, history: readonly number[]): DarbouxError {
  let last = history.length - 1;
  while (last >= 0 && !Number.isFinite(history[last]!)) last--;
  const lastText = last >= 0 ? `the last finite loss was ${history[last]} at step ${last + 1}` : 'no step had a finite loss';
  return new DarbouxError(
    'NONFINITE',
    `training diverged at step ${step}: the minibatch ${what} is ${value}; ${lastText}. Lower lr, set clipNorm, or check the data and initial parameters.`,
    { step, lastFiniteLoss: last >= 0 ? history[last] : undefined, lastFiniteStep: last >= 0 ? last + 1 : undefined },
  );
}

/**
 * Steps (0-based, before that step's update) at which the validation loss is recorded; the last is after training.
 *
 * @example
 * validationSchedule(plan); // [0, 10, 20, 25] for steps: 25, validationEvery: 10 and validation data
 */
export function validationSchedule(plan: TrainingPlan): number[] {
  if (!plan.validation) return [];
  const at: number[] = [];
  for (let t = 0; t < plan.options.steps; t += plan.options.validationEvery) at.push(t);
  at.push(plan.options.steps);
  return at;
}
