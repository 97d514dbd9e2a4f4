/**
 * The CPU training loop: generated f64 batch gradient (batched GEMMs where the plan has a batched spec,
 * per sample otherwise), Adam on the host, one minibatch per step.
 */
import { Adam } from './adam.js';
import { compileBatchedGradient } from './batched-gradient.js';
import { compileBatchedLnnGradient } from './batched-lnn.js';
import { compileCpuGradient } from './cpu-gradient.js';
import { perSampleChunks } from './chunked-gradient.js';
import { MinibatchGradient } from './gradient-threads.js';
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
  const gradient = minibatchGradient(plan);
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
  try {
    for (let t = 0; t < options.steps; t++) {
      if (validationSteps[nextValidation] === t) {
        validate();
        nextValidation++;
      }
      const rows = sampler.next();
      await gradient.sums(theta, rows, out);
      const inv = 1 / rows.length;
      const loss = out[0]! * inv;
      if (!Number.isFinite(loss)) throw nonFiniteError(t + 1, 'loss', loss, history);
      for (let j = 0; j < P; j++) grad[j] = grad[j]! * inv;
      const norm = adam.step(theta, grad);
      if (!Number.isFinite(norm)) throw nonFiniteError(t + 1, 'gradient norm', norm, history);
      history.push(loss);
      await control.tick(t + 1);
    }
  } finally {
    gradient.dispose();
  }
  if (validation) validate();
  const seconds = (performance.now() - start) / 1000;
  return { theta, history, validationHistory, validationSteps, seconds };
}

/** The minibatch gradient of a plan: the batched lowering where the plan has one, else per sample; threads as `options.threads` says. */
function minibatchGradient(plan: TrainingPlan): MinibatchGradient {
  const width = 1 + plan.program.layout.total, { threads, steps } = plan.options;
  if (plan.batchedLnn) {
    const f = compileBatchedLnnGradient(plan.batchedLnn);
    const build = { kind: 'batchedFunction' as const, source: f.source, size: f.size, simd: f.simd };
    return new MinibatchGradient(perSampleChunks(f), build, plan.train.rows, width, plan.batch, threads, steps);
  }
  if (plan.batched) {
    const f = compileBatchedGradient(plan.batched);
    return new MinibatchGradient(f.chunks, { kind: 'batched', ...f.build }, plan.train.rows, width, plan.batch, threads, steps);
  }
  const f = compileCpuGradient(plan.program);
  return new MinibatchGradient(perSampleChunks(f), { kind: 'perSample', source: f.source }, plan.train.rows, width, plan.batch, threads, steps);
}
