/**
 * The CPU training loop: generated f64 batch gradient (batched GEMMs where the plan has a batched spec,
 * per sample otherwise), Adam on the host, one minibatch per step.
 */
import { Adam } from './adam.js';
import { compileBatchedGradient } from './batched-gradient.js';
import { compileBatchedLnnGradient } from './batched-lnn.js';
import { compileCpuGradient } from './cpu-gradient.js';
import { minibatchSampler } from './minibatch.js';
import { nonFiniteError, validationSchedule, type TrainingOutcome, type TrainingPlan } from './plan.js';
import { RunControl } from '../backends/run-control.js';

/**
 * Runs a training plan on the CPU (f64). Throws DarbouxError('NONFINITE') at the first step whose minibatch
 * loss or gradient is not finite. Yields to the event loop every ~20 ms through `control` (progress, abort).
 *
 * @example
 * const { theta, history } = await trainCpu(plan);
 */
export async function trainCpu(plan: TrainingPlan, control: RunControl = new RunControl({}, 'fit', plan.options.steps)): Promise<TrainingOutcome> {
  const { program, train, validation, options } = plan;
  const P = program.layout.total;
  const batchGradient = plan.batchedLnn ? compileBatchedLnnGradient(plan.batchedLnn) : plan.batched ? compileBatchedGradient(plan.batched) : compileCpuGradient(program);
  const lossOnly = validation ? compileCpuGradient(program, { gradients: false }) : undefined;
  const allRows = validation ? Uint32Array.from({ length: validation.count }, (_, i) => i) : undefined;
  const lossOut = new Float64Array(1);
  const out = new Float64Array(1 + P);
  const grad = out.subarray(1);
  const theta = plan.theta.slice();
  const sampler = minibatchSampler(train.count, plan.batch, options.seed);
  const adam = new Adam(P, plan.adam);
  const history: number[] = [];
  const validationSteps = validationSchedule(plan);
  const validationHistory: number[] = [];
  const validate = () => {
    lossOnly!(validation!.rows, theta, allRows!, validation!.count, lossOut);
    validationHistory.push(lossOut[0]! / validation!.count);
  };
  const start = performance.now();
  let nextValidation = 0;
  for (let t = 0; t < options.steps; t++) {
    if (validationSteps[nextValidation] === t) {
      validate();
      nextValidation++;
    }
    const rows = sampler.next();
    batchGradient(train.rows, theta, rows, rows.length, out);
    const inv = 1 / rows.length;
    const loss = out[0]! * inv;
    if (!Number.isFinite(loss)) throw nonFiniteError(t + 1, 'loss', loss, history);
    for (let j = 0; j < P; j++) grad[j] = grad[j]! * inv;
    const norm = adam.step(theta, grad);
    if (!Number.isFinite(norm)) throw nonFiniteError(t + 1, 'gradient norm', norm, history);
    history.push(loss);
    await control.tick(t + 1);
  }
  if (validation) validate();
  const seconds = (performance.now() - start) / 1000;
  return { theta, history, validationHistory, validationSteps, seconds };
}
