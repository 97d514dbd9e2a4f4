import { RunControl } from '../run-control.js';
import { DispatchPacer } from './dispatch-pacer.js';
import { DarbouxError } from '../../errors.js';
import { gradientSize, wgslAdjointKernel } from '../../codegen/emit-wgsl-adjoint.js';
import { ADJOINT_CONTROL_WORDS, STATUS_WORDS, WORKGROUP_SIZE } from '../../codegen/kernel-words.js';
import type { FixedPointSettings } from '../../codegen/step-body.js';
import { adjointStep, type AdjointStateSource } from '../../integrators/adjoint-step.js';
import type { StepProgram } from '../../integrators/step-program.js';
import { graphSize } from '../../ir/traverse.js';
import { createComputeKernel, createStorageBuffer, createUniformBuffer, readBuffer, splitDispatch, writeBuffer, type ComputeKernel, type Gpu } from '../../runtime/index.js';
import { controlWriter, loopBoundedSteps, readStatus, refuseOversizedKernel } from './kernel-host.js';
import type { RunOptions, RunResult } from '../stepper.js';
import type { AdjointBackend, BackwardSegment, BackwardStatus } from '../adjoint-driver.js';
import { trajectoryParamBlocks, type TrajectoryParams } from '../run-params.js';
import { packTrajectoryParams } from '../../codegen/trajectory-params-wgsl.js';
import { size } from '../../ir/shape.js';

/** What the GPU backward pass shares with its stepper. */
export interface GpuAdjointContext {
  readonly program: StepProgram;
  readonly dt: number;
  readonly gpu: Gpu;
  /** The packed f32 parameters the stepper's kernels read. */
  readonly paramBuffer: GPUBuffer;
  /** The stepper's set of compiled WGSL modules (its `dispose` drops their pipelines). */
  readonly modules?: Set<string>;
  readonly settings: FixedPointSettings;
  readonly maxWorkgroups: number;
  /** Approximate node·step budget of one dispatch. */
  readonly dispatchBudget: number;
  /** Upper bound on trajectories per buffer set (option of the stepper). */
  readonly maxTrajectoriesPerChunk: number;
  /** The stepper's forward run. */
  run(options: RunOptions): Promise<RunResult>;
}

/** Backward kernels per stepper, by state source and per-trajectory parameter names, compiled on first use. */
const kernels = new WeakMap<GpuAdjointContext, Map<string, Promise<{ kernel: ComputeKernel; cost: number; G: number; stepBound: number }>>>();

function backwardKernel(ctx: GpuAdjointContext, source: AdjointStateSource, tp: TrajectoryParams | null) {
  const cache = kernels.get(ctx) ?? new Map<string, Promise<{ kernel: ComputeKernel; cost: number; G: number; stepBound: number }>>();
  kernels.set(ctx, cache);
  const key = `${source}\u0001${tp?.key ?? ''}`;
  if (!cache.has(key)) cache.set(key, (async () => {
    const step = adjointStep(ctx.program, source);
    const cost = graphSize([step.previous.q, step.previous.p, step.lambda.q, step.lambda.p, ...step.paramGradient, ...step.solves.flatMap((fp) => fp.update)]);
    refuseOversizedKernel(ctx.gpu, cost, `${ctx.program.method}: the backward ('${source}') kernel`);
    const { wgsl, loopIterations } = wgslAdjointKernel(step, ctx.settings, tp?.indices ?? []);
    ctx.modules?.add(wgsl);
    const kernel = await createComputeKernel(ctx.gpu, { wgsl, label: `darboux-${ctx.program.method}-backward-${source}${tp === null ? '' : `-params(${tp.names.join(',')})`}` });
    return { kernel, cost, G: gradientSize(step), stepBound: loopBoundedSteps(ctx.gpu, loopIterations, ctx.settings.maxIterations, `${ctx.program.method} backward`) };
  })());
  return cache.get(key)!;
}

/**
 * The f32 GPU backend of the vjp memory modes: forward runs through the stepper, backward segments through the
 * fused backward kernel, the batch split into chunks that fit the device's binding limits and the steps into
 * dispatches of bounded work (run from the last step down). Each trajectory accumulates its parameter gradient
 * in f32 across the steps of a dispatch and adds it to its own slot; the host sums the slots over the batch in
 * f64, except those of per-trajectory parameters (`tp`, read from the chunk's parameter buffer), which go to
 * `segment.gTrajectory` per trajectory.
 *
 * @example
 * const backend = gpuAdjointBackend(ctx); // inside gpuStepper
 */
export function gpuAdjointBackend(ctx: GpuAdjointContext, tp: TrajectoryParams | null = null): AdjointBackend {
  const { gpu, program, dt } = ctx;
  const n = program.system.dof;
  const bindingLimit = Math.min(gpu.limits.maxStorageBufferBindingSize, gpu.limits.maxBufferSize);

  async function backwardChunk(s: BackwardSegment, first: number, count: number, run: RunControl): Promise<BackwardStatus> {
    const { kernel, cost, G, stepBound } = await backwardKernel(ctx, s.source, tp);
    const stride = count * n;
    const state = new Float32Array(4 * stride + count * G);
    const slice = (a: Float64Array) => a.subarray(first * n, first * n + stride);
    if (s.source === 'reverse') {
      state.set(slice(s.q), 0);
      state.set(slice(s.p), stride);
    }
    state.set(slice(s.lq), 2 * stride);
    state.set(slice(s.lp), 3 * stride);
    let stored: Float32Array = new Float32Array(1);
    if (s.source === 'store') {
      stored = new Float32Array(2 * s.steps * stride);
      for (let k = 0; k < s.steps; k++) {
        const from = (k * s.batch + first) * n;
        stored.set(s.storedQ!.subarray(from, from + stride), k * stride);
        stored.set(s.storedP!.subarray(from, from + stride), (s.steps + k) * stride);
      }
    }
    const buffers = [
      createStorageBuffer(gpu, state, { readable: true }),
      createStorageBuffer(gpu, stored),
      createStorageBuffer(gpu, new Uint32Array(count * STATUS_WORDS), { readable: true }),
      createUniformBuffer(gpu, ADJOINT_CONTROL_WORDS.length * 4),
    ] as const;
    const [stateBuffer, storedBuffer, statusBuffer, controlBuffer] = buffers;
    const chunkParams = tp === null ? null : createStorageBuffer(gpu, packTrajectoryParams(program.system.paramValues, tp.values, first, count, tp.sizes));
    const control = controlWriter(ADJOINT_CONTROL_WORDS);
    const perDispatch = Math.max(1, Math.min(s.steps, Math.floor(ctx.dispatchBudget / (count * cost)), stepBound));
    const pacer = new DispatchPacer(gpu, run, s.steps);
    try {
      for (let end = s.steps; end > 0; end -= perDispatch) {
        const base = Math.max(0, end - perDispatch);
        for (const part of splitDispatch(count, WORKGROUP_SIZE, ctx.maxWorkgroups)) {
          control.set({ dt, tStart: s.t0, steps: end - base, stepBase: base, offset: part.offset, batch: count, storedSteps: s.steps });
          writeBuffer(gpu, controlBuffer, control.bytes);
          kernel.dispatch([stateBuffer, chunkParams ?? ctx.paramBuffer, storedBuffer, statusBuffer, controlBuffer], part.workgroups);
        }
        await pacer.dispatched(s.steps - base);
      }
      const [stateOut, statusOut] = await Promise.all([readBuffer(gpu, stateBuffer), readBuffer(gpu, statusBuffer)]);
      const status = readStatus(statusOut, count);
      if (status.failure) return { ...status, failure: { ...status.failure, trajectory: first + status.failure.trajectory } };
      const out = new Float32Array(stateOut);
      if (s.source === 'reverse') {
        s.q.set(out.subarray(0, stride), first * n);
        s.p.set(out.subarray(stride, 2 * stride), first * n);
      }
      s.lq.set(out.subarray(2 * stride, 3 * stride), first * n);
      s.lp.set(out.subarray(3 * stride, 4 * stride), first * n);
      addGradients(s, out.subarray(4 * stride), first, count, G);
      return status;
    } finally {
      for (const buffer of buffers) buffer.destroy();
      chunkParams?.destroy();
    }
  }

  /** A chunk's gradient slots (count × G): summed into `s.g`, per-trajectory parameters into `s.gTrajectory`. */
  const offsets = gradientOffsets(program);
  /** Flat gradient index → [per-trajectory parameter j, element e]. */
  const perTrajectory = new Map((tp?.indices ?? []).flatMap((k, j) => Array.from({ length: tp!.sizes[j]! }, (_, e) => [offsets[k]! + e, [j, e]] as const)));
  function addGradients(s: BackwardSegment, slots: Float32Array, first: number, count: number, G: number): void {
    const blocks = tp === null ? [] : trajectoryParamBlocks(tp, s.batch).starts;
    for (let b = 0; b < count; b++) {
      for (let i = 0; i < G; i++) {
        const own = perTrajectory.get(i);
        if (own === undefined) s.g[i] += slots[b * G + i]!;
        else s.gTrajectory![blocks[own[0]]! + (first + b) * tp!.sizes[own[0]]! + own[1]] += slots[b * G + i]!;
      }
    }
  }
  const params = tp === null ? {} : { params: Object.fromEntries(tp.names.map((name, j) => [name, tp.values[j]!])) };

  return {
    program,
    dt,
    label: 'gpu f32',
    bytesPerValue: 4,
    withTrajectoryParams: (given) => gpuAdjointBackend(ctx, given),
    async forward(q, p, batch, steps, t0, record, control) {
      const result = await ctx.run({ q0: q, p0: p, steps, batch, t0, record, ...params, ...control?.asOptions() });
      return { q: result.q, p: result.p, ...(result.record ? { record: { q: result.record.q, p: result.record.p } } : {}) };
    },
    async backward(s, run = new RunControl({}, 'vjp', s.steps)) {
      const { G } = await backwardKernel(ctx, s.source, tp);
      // Bytes per trajectory in the largest buffer: the state block, or the stored states of 'store'.
      const perTrajectory = Math.max(4 * (4 * n + G), s.source === 'store' ? 8 * n * s.steps : 0);
      const chunk = Math.min(ctx.maxTrajectoriesPerChunk, Math.floor(bindingLimit / perTrajectory));
      if (chunk < 1) {
        throw new DarbouxError('INPUT', `vjp: ${s.steps} stored steps of one trajectory need ${perTrajectory} bytes, over the device limit ${bindingLimit}; use memory: 'reverse' or 'checkpoint'`);
      }
      const total: BackwardStatus = { failure: null, iterationsTotal: 0, iterationsMax: 0 };
      for (let first = 0; first < s.batch; first += chunk) {
        const count = Math.min(chunk, s.batch - first);
        const status = await backwardChunk(s, first, count, run.phase(first / s.batch, count / s.batch));
        if (status.failure) return status;
        total.iterationsTotal += status.iterationsTotal;
        total.iterationsMax = Math.max(total.iterationsMax, status.iterationsMax);
      }
      return total;
    },
  };
}

/** Offsets of each parameter's first element in the flat gradient. */
function gradientOffsets(program: StepProgram): number[] {
  let at = 0;
  return program.system.params.map((node) => {
    const offset = at;
    at += size(node.shape);
    return offset;
  });
}
