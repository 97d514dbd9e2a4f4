/**
 * The GPU training loop: per step, the minibatch indices and Adam's scalars are written to the queue, then
 * the gradient dispatches run — for a matched HNN the batched kernels (gpu-batched.ts: tiled GEMMs over the
 * minibatch, summed on the device, recorded with the Adam update into one compute pass: one submit per step),
 * otherwise per-sample gradients and their column sums — and the Adam update, with θ,
 * the moments and the loss history resident on the device. The host reads back only the history every
 * `checkEvery` steps (the non-finite check) and θ at the end.
 */
import { RunControl } from '../backends/run-control.js';
import { DarbouxError } from '../errors.js';
import { WORKGROUP_SIZE } from '../codegen/emit-wgsl.js';
import {
  acquireGpu, createComputeKernel, createStorageBuffer, createUniformBuffer, readBuffer, submitComputePass, writeBuffer, type ComputeKernel, type Gpu,
} from '../runtime/index.js';
import { learningRate } from './adam.js';
import { createBatchedGpuGradient, type BatchedGpuGradient } from './gpu-batched.js';
import type { PackedSamples } from './data.js';
import { minibatchSampler } from './minibatch.js';
import { nonFiniteError, validationSchedule, type TrainingOutcome, type TrainingPlan } from './plan.js';
import { ADAM_CONTROL_WORDS, ADAM_WGSL, COLUMN_SUM_WGSL, emitSampleKernel, SAMPLE_CONTROL_WORDS } from './wgsl-training.js';

/** A per-sample kernel over one sample set, with the buffers it needs, dispatched in chunks within device limits. */
interface SampleStage {
  kernel: ComputeKernel;
  data: GPUBuffer;
  rows: GPUBuffer;
  out: GPUBuffer;
  sampleControl: GPUBuffer;
  sumControl: GPUBuffer;
  width: number;
  /** Samples per dispatch. */
  chunk: number;
}

function bindingLimit(gpu: Gpu): number {
  return Math.min(gpu.limits.maxStorageBufferBindingSize, gpu.limits.maxBufferSize);
}

function uploadSamples(gpu: Gpu, samples: PackedSamples, what: string): GPUBuffer {
  const bytes = samples.rows.length * 4;
  if (bytes > bindingLimit(gpu)) {
    throw new DarbouxError('INPUT', `fit: the ${what} set (${samples.count} samples, ${bytes} bytes as f32) is over the ${gpu.adapterKind} device's buffer limit of ${bindingLimit(gpu)} bytes; use fewer samples or the CPU backend`);
  }
  return createStorageBuffer(gpu, Float32Array.from(samples.rows), { label: `darboux-train-${what}` });
}

async function sampleStage(gpu: Gpu, program: TrainingPlan['program'], samples: PackedSamples, batch: number, gradients: boolean, maxChunk: number, rows?: Uint32Array): Promise<SampleStage> {
  const { wgsl, width, scratch, loopIterations } = emitSampleKernel(program, { gradients });
  if (gpu.adapterKind === 'llvmpipe' && loopIterations > 60_000) {
    // llvmpipe silently ends all loops of an invocation after 65 535 iterations: the gradient would be wrong.
    throw new DarbouxError(
      'DEVICE',
      `fit: one sample's ${gradients ? 'gradient' : 'loss'} kernel runs ${loopIterations} loop iterations, over what llvmpipe allows one invocation (65 535); use backend 'cpu' (or a hardware adapter) for this network`,
      { loopIterations },
    );
  }
  const kernel = await createComputeKernel(gpu, { wgsl, label: gradients ? 'darboux-train-gradient' : 'darboux-train-loss' });
  const chunk = Math.max(1, Math.min(batch, maxChunk, Math.floor(bindingLimit(gpu) / (4 * (width + scratch))), gpu.limits.maxComputeWorkgroupsPerDimension * WORKGROUP_SIZE));
  return {
    kernel,
    data: uploadSamples(gpu, samples, gradients ? 'training' : 'validation'),
    rows: createStorageBuffer(gpu, rows ?? batch * 4, { label: 'darboux-train-rows' }),
    out: createStorageBuffer(gpu, chunk * (width + scratch) * 4, { label: 'darboux-train-rows-out' }),
    sampleControl: createUniformBuffer(gpu, SAMPLE_CONTROL_WORDS * 4),
    sumControl: createUniformBuffer(gpu, 32),
    width,
    chunk,
  };
}

/**
 * Dispatches a stage over `count` samples (indices already in `stage.rows`), summing its rows into
 * `target[outOffset …]`. Controls are rewritten only when a run needs several chunks or a new offset.
 */
function runStage(gpu: Gpu, stage: SampleStage, sum: ComputeKernel, params: GPUBuffer, target: GPUBuffer, count: number, outOffset: number, rewrite: boolean): void {
  for (let first = 0; first < count; first += stage.chunk) {
    const n = Math.min(stage.chunk, count - first);
    if (rewrite || count > stage.chunk) {
      writeBuffer(gpu, stage.sampleControl, Uint32Array.of(n, first, 0, 0));
      // One partial row per workgroup (the kernel reduced its group's rows into the group's first row).
      writeBuffer(gpu, stage.sumControl, Uint32Array.of(Math.ceil(n / WORKGROUP_SIZE), stage.width, outOffset, first > 0 ? 1 : 0, WORKGROUP_SIZE, n, 0, 0));
    }
    stage.kernel.dispatch([stage.data, params, stage.rows, stage.out, stage.sampleControl], Math.ceil(n / WORKGROUP_SIZE));
    sum.dispatch([stage.out, target, stage.sumControl], Math.ceil(stage.width / WORKGROUP_SIZE));
  }
}

/** The batched gradient of a matched HNN over the training set, with its minibatch index buffer. */
async function batchedStage(gpu: Gpu, plan: TrainingPlan): Promise<BatchedGpuGradient & { rows: GPUBuffer }> {
  const data = uploadSamples(gpu, plan.train, 'training');
  const gradient = await createBatchedGpuGradient(gpu, plan.batched!, plan.batch, data);
  return { ...gradient, buffers: [data, ...gradient.buffers], rows: createStorageBuffer(gpu, plan.batch * 4, { label: 'darboux-train-rows' }) };
}

/**
 * Runs a training plan on the GPU (f32). Same minibatches as the CPU backend for the same seed. Throws
 * DarbouxError('NONFINITE') naming the first step whose loss or gradient norm is not finite, or — for a plan with a
 * `convergence` check (unrolled Newton solves in the loss) — DarbouxError('NO_CONVERGENCE') from the check.
 *
 * @example
 * const { theta, history } = await trainGpu(plan);
 */
export async function trainGpu(plan: TrainingPlan, run: RunControl = new RunControl({}, 'fit', plan.options.steps)): Promise<TrainingOutcome> {
  const { program, train, validation, options } = plan;
  const P = program.layout.total;
  const gpu = await acquireGpu({ adapter: options.adapter });
  const buffers: GPUBuffer[] = [];
  const keep = <T extends GPUBuffer>(b: T): T => (buffers.push(b), b);
  try {
    const sum = await createComputeKernel(gpu, { wgsl: COLUMN_SUM_WGSL, label: 'darboux-train-column-sum' });
    const adam = await createComputeKernel(gpu, { wgsl: ADAM_WGSL, label: 'darboux-train-adam' });
    const maxChunk = options.maxSamplesPerDispatch;
    // Matched HNNs: the batched kernels (tiled GEMMs over the minibatch); otherwise one invocation per sample.
    const batched = plan.batched ? await batchedStage(gpu, plan) : undefined;
    const grads = batched ? undefined : await sampleStage(gpu, program, train, plan.batch, true, maxChunk);
    if (batched) buffers.push(batched.rows, ...batched.buffers);
    if (grads) buffers.push(grads.data, grads.rows, grads.out, grads.sampleControl, grads.sumControl);
    const val = validation ? await sampleStage(gpu, program, validation, validation.count, false, maxChunk, Uint32Array.from({ length: validation.count }, (_, i) => i)) : undefined;
    if (val) buffers.push(val.data, val.rows, val.out, val.sampleControl, val.sumControl);
    const params = keep(createStorageBuffer(gpu, Float32Array.from(plan.theta), { readable: true, label: 'darboux-train-params' }));
    const sums = keep(createStorageBuffer(gpu, (1 + P) * 4, { label: 'darboux-train-sums' }));
    const moments = keep(createStorageBuffer(gpu, 2 * Math.max(1, P) * 4, { label: 'darboux-train-moments' }));
    const historyBuffer = keep(createStorageBuffer(gpu, 2 * options.steps * 4, { readable: true, label: 'darboux-train-history' }));
    const validationSteps = validationSchedule(plan);
    const validationBuffer = keep(createStorageBuffer(gpu, Math.max(1, validationSteps.length) * 4, { readable: true, label: 'darboux-train-validation' }));
    const adamControl = keep(createUniformBuffer(gpu, ADAM_CONTROL_WORDS.length * 4));
    const control = new ArrayBuffer(ADAM_CONTROL_WORDS.length * 4);
    const u32 = new Uint32Array(control), f32 = new Float32Array(control);
    const word = (name: (typeof ADAM_CONTROL_WORDS)[number]) => ADAM_CONTROL_WORDS.indexOf(name);
    const s = plan.adam;
    u32[word('params')] = P;
    f32[word('beta1')] = s.beta1;
    f32[word('beta2')] = s.beta2;
    f32[word('eps')] = s.eps;
    f32[word('l2')] = s.decoupled ? 0 : s.weightDecay;
    f32[word('clipNorm')] = s.clipNorm;

    const sampler = minibatchSampler(train.count, plan.batch, options.seed);
    const history: number[] = [];
    const checkHistory = async (upTo: number) => {
      const got = new Float32Array(await readBuffer(gpu, historyBuffer, 2 * upTo * 4));
      for (let t = history.length; t < upTo; t++) {
        const loss = got[2 * t]!, norm = got[2 * t + 1]!;
        const check = plan.convergence, flagged = check !== undefined && loss * plan.batch >= check.marker / 2;
        if (check && (flagged || !Number.isFinite(loss) || !Number.isFinite(norm))) {
          const theta = Float64Array.from(new Float32Array(await readBuffer(gpu, params, P * 4)));
          const error = check.explain(t + 1, theta, flagged ? Math.max(1, Math.round((loss * plan.batch) / check.marker)) : 0);
          if (error) throw error;
        }
        if (!Number.isFinite(loss)) throw nonFiniteError(t + 1, 'loss', loss, history);
        if (!Number.isFinite(norm)) throw nonFiniteError(t + 1, 'gradient norm', norm, history);
        history.push(loss);
      }
    };
    const validate = (v: number) => runStage(gpu, val!, sum, params, validationBuffer, validation!.count, v, true);
    const start = performance.now();
    let nextValidation = 0;
    for (let t = 0; t < options.steps; t++) {
      if (validationSteps[nextValidation] === t) validate(nextValidation++);
      const rows = sampler.next();
      if (batched) writeBuffer(gpu, batched.rows, rows);
      else {
        writeBuffer(gpu, grads!.rows, rows);
        runStage(gpu, grads!, sum, params, sums, rows.length, 0, t === 0);
      }
      const lr = learningRate(s, t);
      u32[word('count')] = rows.length;
      u32[word('historyAt')] = t;
      f32[word('stepSize')] = lr / (1 - Math.pow(s.beta1, t + 1));
      f32[word('bc2')] = Math.sqrt(1 - Math.pow(s.beta2, t + 1));
      f32[word('shrink')] = s.decoupled ? 1 - lr * s.weightDecay : 1;
      writeBuffer(gpu, adamControl, control);
      const adamBindings = [sums, params, moments, historyBuffer, adamControl];
      if (batched) {
        submitComputePass(gpu, 'darboux-train-step', (pass) => {
          batched.encode(pass, params, batched.rows, rows.length, sums);
          adam.encode(pass, adamBindings, 1);
        });
      } else adam.dispatch(adamBindings, 1);
      if ((t + 1) % options.checkEvery === 0) await checkHistory(t + 1);
      await run.tick(t + 1);
    }
    if (val) validate(nextValidation);
    await checkHistory(options.steps);
    const theta = Float64Array.from(new Float32Array(await readBuffer(gpu, params, P * 4)));
    const validationHistory = val ? Array.from(new Float32Array(await readBuffer(gpu, validationBuffer, validationSteps.length * 4)), (x) => x / validation!.count) : [];
    const seconds = (performance.now() - start) / 1000;
    return { theta, history, validationHistory, validationSteps, seconds };
  } finally {
    for (const b of buffers) b.destroy();
  }
}

/**
 * One batch loss and gradient evaluated on the GPU (f32) with the training kernels — per-sample rows, then
 * their column sums on the device — read back as sums: [Σ loss, Σ ∂loss/∂θ …] over `rows`. For checks
 * against the CPU backend.
 *
 * @example
 * const sums = await evaluateGpuGradient(plan.program, plan.train, plan.theta, Uint32Array.of(0, 1, 2));
 */
export async function evaluateGpuGradient(
  program: TrainingPlan['program'], samples: PackedSamples, theta: Float64Array, rows: Uint32Array,
  options: { adapter?: TrainingPlan['options']['adapter']; maxSamplesPerDispatch?: number } = {},
): Promise<Float64Array> {
  const gpu = await acquireGpu({ adapter: options.adapter });
  const stage = await sampleStage(gpu, program, samples, rows.length, true, options.maxSamplesPerDispatch ?? rows.length, rows);
  const sum = await createComputeKernel(gpu, { wgsl: COLUMN_SUM_WGSL, label: 'darboux-train-column-sum' });
  const params = createStorageBuffer(gpu, Float32Array.from(theta));
  const sums = createStorageBuffer(gpu, stage.width * 4, { readable: true });
  try {
    runStage(gpu, stage, sum, params, sums, rows.length, 0, true);
    return Float64Array.from(new Float32Array(await readBuffer(gpu, sums, stage.width * 4)));
  } finally {
    for (const b of [stage.data, stage.rows, stage.out, stage.sampleControl, stage.sumControl, params, sums]) b.destroy();
  }
}
