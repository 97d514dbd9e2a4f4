/**
 * The GPU stepper of particle programs (src/codegen/particle-analysis.ts): one invocation per particle and copy.
 * A system that fits one workgroup runs many steps per dispatch (`workgroupStepsKernel`); a larger one runs one
 * tiled dispatch per force evaluation (`tiledKickDriftKernel`) with its state resident on the device from the
 * upload at the start of a run to the readback at its end. Either way `batch` copies run side by side.
 */
import { DarbouxError } from '../../errors.js';
import type { ParticleProgram } from '../../codegen/particle-analysis.js';
import { fixedData, type FixedData } from '../../codegen/particle-terms-wgsl.js';
import { cellGridOf, cellKickDriftModule, CELL_WORKGROUP } from '../../codegen/particle-cells-wgsl.js';
import { forceLoopIterations, NO_FAILURE, tiledKickDriftKernel, workgroupStepsKernel } from '../../codegen/particle-wgsl.js';
import { JS_FIXED_POINT } from '../../codegen/emit-js-stepper.js';
import type { StepProgram } from '../../integrators/step-program.js';
import { acquireGpu, createComputeKernel, createStorageBuffer, createUniformBuffer, readBuffer, writeBuffer, type AdapterChoice, type ComputeKernel, type Gpu } from '../../runtime/index.js';
import { jacobianFunction } from '../cpu/jacobian.js';
import { checkRunOptions } from '../checks.js';
import type { RunOptions, RunResult, Stepper, VjpOptions, VjpResult } from '../stepper.js';
import { tiledSchedule } from './particle-schedule.js';

/** Which per-particle kernel runs: chosen by size ('auto'), or forced. */
export type ParticleKernelChoice = 'auto' | 'tiled' | 'workgroup' | 'cells';

/** Options of {@link particleGpuStepper}. */
export interface ParticleStepperOptions {
  adapter?: AdapterChoice;
  /** Workgroup kernel: steps per dispatch (default: as many as the adapter's loop bound and `dispatchBudget` allow). */
  stepsPerDispatch?: number;
  /** Approximate pair evaluations per dispatch of the workgroup kernel on hardware adapters (default 2e9). */
  dispatchBudget?: number;
  particleKernel?: ParticleKernelChoice;
}

/** A Stepper of the per-particle kernels, with the WGSL it dispatches and which kernel that is. */
export interface ParticleGpuStepper extends Stepper {
  readonly wgsl: string;
  readonly gpu: Gpu;
  readonly kernel: ParticleKernelKind;
}

/** The per-particle kernels. */
type ParticleKernelKind = 'tiled' | 'workgroup' | 'cells';

/** Loop iterations one invocation may run on llvmpipe (its limiter stops at 65 535), with a margin. */
const LLVMPIPE_LOOP_ITERATIONS = 60_000;
/** Invocations per workgroup of the tiled kernel. */
const TILE = 64;
/** Largest workgroup the workgroup kernel uses (and so the largest system it runs). */
const MAX_WORKGROUP = 256;

/** Entry points of the cell-list passes, in dispatch order. */
const CELL_PASSES = ['cellClear', 'cellCount', 'cellScan', 'cellScatter'] as const;

/** On llvmpipe, the most particles 'auto' runs in the workgroup kernel. */
const LLVMPIPE_WORKGROUP_PARTICLES = 128;

/** Workgroup size of the workgroup kernel for this system, or 0 when it does not fit one workgroup. */
function workgroupFit(gpu: Gpu, pp: ParticleProgram): number {
  const limit = Math.min(MAX_WORKGROUP, gpu.limits.maxComputeInvocationsPerWorkgroup, gpu.limits.maxComputeWorkgroupSizeX);
  const size = Math.max(32, Math.ceil(pp.n / 32) * 32);
  return size <= limit && pp.n * pp.dim * 4 <= 12_288 ? size : 0;
}

/** The NONFINITE error of the first failing copy in a status readback, if any. */
function failureOf(words: Uint32Array, first: number, method: string, dt: number): DarbouxError | null {
  let worst = -1;
  for (let b = 0; b < words.length; b++) if (words[b] !== NO_FAILURE && (worst < 0 || words[b]! < words[worst]!)) worst = b;
  if (worst < 0) return null;
  const step = words[worst]!;
  return new DarbouxError(
    'NONFINITE',
    `non-finite state by step ${step + 1} of trajectory ${first + worst} (${method}, dt = ${dt}, gpu f32, per-particle kernel); reduce dt or check the initial state (overlapping particles?)`,
    { step, trajectory: first + worst },
  );
}

/** Control uniform bytes: f32 for the named words, u32 for the others. */
function control(words: readonly string[], floats: readonly string[], values: Record<string, number>): ArrayBuffer {
  const bytes = new ArrayBuffer(words.length * 4);
  const f = new Float32Array(bytes), u = new Uint32Array(bytes);
  words.forEach((w, k) => {
    if (floats.includes(w)) f[k] = values[w] ?? 0;
    else u[k] = values[w] ?? 0;
  });
  return bytes;
}

interface Chunk {
  q: Float64Array;
  p: Float64Array;
  first: number;
  count: number;
  steps: number;
  record: number;
  recordCount: number;
  out: RunResult;
}

/** Copies a chunk's snapshots (q section then p section, each recordCount × count × dof) into the result. */
function scatterRecord(out: RunResult, r: Float32Array, chunk: Chunk, dof: number): void {
  const total = out.record!.q.length / chunk.recordCount;
  const block = chunk.count * dof;
  for (let k = 0; k < chunk.recordCount; k++) {
    out.record!.q.set(r.subarray(k * block, (k + 1) * block), k * total + chunk.first * dof);
    out.record!.p.set(r.subarray((chunk.recordCount + k) * block, (chunk.recordCount + k + 1) * block), k * total + chunk.first * dof);
  }
}

/**
 * A per-particle GPU stepper for a particle program. `fallback` builds the per-trajectory GPU stepper of the same
 * program, used for `vjp`.
 *
 * @example
 * const pp = particleProgram(program, dt);
 * if (pp) return particleGpuStepper(program, pp, dt, options, () => trajectoryStepper(program, dt, options));
 */
export async function particleGpuStepper(program: StepProgram, pp: ParticleProgram, dt: number, options: ParticleStepperOptions, fallback: () => Promise<Stepper>): Promise<ParticleGpuStepper> {
  const gpu = await acquireGpu({ adapter: options.adapter });
  const dof = pp.n * pp.dim;
  const fixed: FixedData = fixedData(pp);
  const fit = workgroupFit(gpu, pp);
  const choice = options.particleKernel ?? 'auto';
  if (choice === 'workgroup' && fit === 0) {
    throw new DarbouxError('OPTION', `particleKernel 'workgroup': ${pp.n} particles do not fit one workgroup on the ${gpu.adapterKind} GPU; use 'tiled' or 'auto'`, { n: pp.n });
  }
  // On llvmpipe one workgroup runs on one thread: past ~128 particles the tiled kernel's parallel workgroups win
  // over the saved dispatches (measured); on hardware a system that fits one workgroup always runs there.
  const autoWorkgroup = fit > 0 && (gpu.adapterKind !== 'llvmpipe' || pp.n <= LLVMPIPE_WORKGROUP_PARTICLES);
  const grid = cellGridOf(pp);
  if (choice === 'cells' && grid === null) {
    throw new DarbouxError('OPTION', "particleKernel 'cells' needs pair terms in a periodic box with a cutoff and at least 3 cells of side ≥ the cutoff per dimension; use 'tiled' or 'auto'", { n: pp.n });
  }
  // Cell lists pay off once the 3^dim cells around a particle hold well under all particles.
  const cellsPayOff = grid !== null && 2 * 3 ** pp.dim < grid.reduce((a, b) => a * b, 1);
  const kind: ParticleKernelKind = choice !== 'auto' ? choice : autoWorkgroup ? 'workgroup' : cellsPayOff ? 'cells' : 'tiled';
  const drifts = Math.max(1, pp.stages.filter((s) => s.kind === 'drift').length);
  const forceLoops = forceLoopIterations(pp, fixed);
  const llvmpipe = gpu.adapterKind === 'llvmpipe';
  if (kind !== 'workgroup' && llvmpipe && forceLoops + pp.n / TILE > LLVMPIPE_LOOP_ITERATIONS) {
    throw new DarbouxError('DEVICE', `${program.method}: one force evaluation of ${pp.n} particles runs about ${forceLoops} loop iterations per invocation, over what llvmpipe allows (65 535); use backend: 'cpu' or a hardware adapter`, { n: pp.n });
  }
  const wgsl = kind === 'tiled' ? tiledKickDriftKernel(pp, fixed, TILE) : kind === 'cells' ? cellKickDriftModule(pp, fixed, grid!) : workgroupStepsKernel(pp, fixed, fit);
  const kernel: ComputeKernel = await createComputeKernel(gpu, { wgsl, entryPoint: 'main', label: `darboux-particles-${kind}` });
  const cellPasses = kind !== 'cells' ? [] : await Promise.all(CELL_PASSES.map((entryPoint) => createComputeKernel(gpu, { wgsl, entryPoint, label: `darboux-particles-${entryPoint}` })));
  const cellCount = grid?.reduce((a, b) => a * b, 1) ?? 0;
  const fixedBuffer = createStorageBuffer(gpu, fixed.words.length > 0 ? fixed.words : new Uint32Array(1));
  const perStepLoops = 1 + drifts * forceLoops;
  const stepsPerDispatch = options.stepsPerDispatch ?? Math.max(1, llvmpipe
    ? Math.floor((LLVMPIPE_LOOP_ITERATIONS - forceLoops) / perStepLoops)
    : Math.floor((options.dispatchBudget ?? 2e9) / (perStepLoops * pp.n)));
  if (llvmpipe && kind === 'workgroup' && (LLVMPIPE_LOOP_ITERATIONS - forceLoops) / perStepLoops < 1) {
    throw new DarbouxError('DEVICE', `${program.method}: one step runs about ${perStepLoops} loop iterations per invocation, over what llvmpipe allows; use particleKernel: 'tiled' or backend: 'cpu'`);
  }
  const maxCopies = gpu.limits.maxComputeWorkgroupsPerDimension;
  const bindingLimit = Math.min(gpu.limits.maxStorageBufferBindingSize, gpu.limits.maxBufferSize);
  const copiesPerChunk = Math.max(1, Math.min(maxCopies, Math.floor(bindingLimit / (12 * dof))));
  let jacobian: ReturnType<typeof jacobianFunction> | undefined;
  let trajectoryStepper: Promise<Stepper> | undefined;
  let disposed = false;

  async function runWorkgroup(c: Chunk): Promise<void> {
    const state = new Float32Array(2 * c.count * dof);
    state.set(c.q.subarray(c.first * dof, (c.first + c.count) * dof), 0);
    state.set(c.p.subarray(c.first * dof, (c.first + c.count) * dof), c.count * dof);
    const recordFloats = c.record > 0 ? 2 * c.recordCount * c.count * dof : 1;
    if (recordFloats * 4 > bindingLimit) throw new DarbouxError('INPUT', `recording ${c.recordCount} snapshots of ${c.count} copies needs ${recordFloats * 4} bytes, over the device limit ${bindingLimit}; record less often`);
    const buffers = {
      state: createStorageBuffer(gpu, state, { readable: true }),
      status: createStorageBuffer(gpu, new Uint32Array(c.count).fill(NO_FAILURE), { readable: true }),
      record: createStorageBuffer(gpu, recordFloats * 4, { readable: c.record > 0 }),
      control: createUniformBuffer(gpu, 32),
    };
    try {
      for (let base = 0; base < c.steps; base += stepsPerDispatch) {
        const steps = Math.min(stepsPerDispatch, c.steps - base);
        writeBuffer(gpu, buffers.control, control(['steps', 'stepBase', 'recordEvery', 'recordCount', 'batch', 'pad', 'pad', 'pad'], [], { steps, stepBase: base, recordEvery: c.record, recordCount: c.recordCount, batch: c.count }));
        kernel.dispatch([buffers.state, fixedBuffer, buffers.status, buffers.record, buffers.control], c.count);
      }
      await finish(c, buffers.state, buffers.status, c.record > 0 ? buffers.record : null, 0, c.count * dof);
    } finally {
      for (const b of Object.values(buffers)) b.destroy();
    }
  }

  async function runTiled(c: Chunk): Promise<void> {
    const slot = c.count * dof;
    const state = new Float32Array(3 * slot);
    state.set(c.q.subarray(c.first * dof, (c.first + c.count) * dof), 0);
    state.set(c.p.subarray(c.first * dof, (c.first + c.count) * dof), 2 * slot);
    const recordFloats = c.record > 0 ? 2 * c.recordCount * slot : 1;
    if (recordFloats * 4 > gpu.limits.maxBufferSize) throw new DarbouxError('INPUT', `recording ${c.recordCount} snapshots of ${c.count} copies needs ${recordFloats * 4} bytes, over the device limit; record less often`);
    const buffers = {
      state: createStorageBuffer(gpu, state, { readable: true }),
      status: createStorageBuffer(gpu, new Uint32Array(c.count).fill(NO_FAILURE), { readable: true }),
      record: createStorageBuffer(gpu, recordFloats * 4, { readable: c.record > 0 }),
      control: createUniformBuffer(gpu, 32),
      ...(kind === 'cells' ? {
        counts: createStorageBuffer(gpu, 4 * c.count * cellCount),
        starts: createStorageBuffer(gpu, 4 * c.count * (cellCount + 1)),
        placed: createStorageBuffer(gpu, 8 * c.count * pp.n),
        sorted: createStorageBuffer(gpu, 4 * c.count * pp.n),
      } : {}),
    };
    let readSlot = 0;
    try {
      const groups = Math.ceil(pp.n / TILE);
      const cellBindings = kind === 'cells' ? [buffers.state, fixedBuffer, buffers.status, buffers.counts!, buffers.starts!, buffers.placed!, buffers.sorted!, buffers.control] : [];
      /** Cell lists: clear, count, scan and scatter (rebuilt at the positions about to be read), then the kick–drift pass. */
      const dispatchCells = (kick: number) => {
        const sizes: [number, number][] = [[Math.ceil(cellCount / CELL_WORKGROUP), c.count], [Math.ceil(pp.n / CELL_WORKGROUP), c.count], [1, c.count], [Math.ceil(pp.n / CELL_WORKGROUP), c.count]];
        if (kick !== 0) cellPasses.forEach((pass, k) => pass.dispatch(cellBindings, sizes[k]!));
        kernel.dispatch(cellBindings, [Math.ceil(pp.n / CELL_WORKGROUP), c.count]);
      };
      for (const entry of tiledSchedule(pp.stages, c.steps, c.record)) {
        if (entry.kind === 'record') {
          const encoder = gpu.device.createCommandEncoder({ label: 'darboux-particles-record' });
          encoder.copyBufferToBuffer(buffers.state, readSlot * slot * 4, buffers.record, entry.index * slot * 4, slot * 4);
          encoder.copyBufferToBuffer(buffers.state, 2 * slot * 4, buffers.record, (c.recordCount + entry.index) * slot * 4, slot * 4);
          gpu.device.queue.submit([encoder.finish()]);
          continue;
        }
        writeBuffer(gpu, buffers.control, control(['kick', 'drift', 'readSlot', 'step', 'slot', 'pad', 'pad', 'pad'], ['kick', 'drift'], { kick: entry.kick, drift: entry.drift, step: entry.step, readSlot, slot }));
        if (kind === 'cells') dispatchCells(entry.kick);
        else kernel.dispatch([buffers.state, fixedBuffer, buffers.status, buffers.control], [groups, c.count]);
        readSlot = 1 - readSlot;
      }
      await finish(c, buffers.state, buffers.status, c.record > 0 ? buffers.record : null, readSlot * slot, 2 * slot);
    } finally {
      for (const b of Object.values(buffers)) b.destroy();
    }
  }

  /** Reads the state (q at qAt, p at pAt, in floats), the status and the record back into the chunk's result. */
  async function finish(c: Chunk, stateBuffer: GPUBuffer, statusBuffer: GPUBuffer, recordBuffer: GPUBuffer | null, qAt: number, pAt: number): Promise<void> {
    const [stateOut, statusOut] = await Promise.all([readBuffer(gpu, stateBuffer), readBuffer(gpu, statusBuffer)]);
    const failure = failureOf(new Uint32Array(statusOut, 0, c.count), c.first, program.method, dt);
    if (failure) throw failure;
    const s = new Float32Array(stateOut);
    c.out.q.set(s.subarray(qAt, qAt + c.count * dof), c.first * dof);
    c.out.p.set(s.subarray(pAt, pAt + c.count * dof), c.first * dof);
    if (recordBuffer !== null) scatterRecord(c.out, new Float32Array(await readBuffer(gpu, recordBuffer)), c, dof);
  }

  const stepper: ParticleGpuStepper = {
    method: program.method,
    dt,
    backend: 'gpu',
    dof,
    source: wgsl,
    wgsl,
    gpu,
    kernel: kind,
    async run(runOptions: RunOptions): Promise<RunResult> {
      if (disposed) throw new DarbouxError('INPUT', 'this stepper was disposed');
      const { batch, steps, record } = checkRunOptions(runOptions, dof);
      const q = Float64Array.from(runOptions.q0), p = Float64Array.from(runOptions.p0);
      const recordCount = record > 0 ? Math.floor(steps / record) : 0;
      const out: RunResult = { q: new Float64Array(batch * dof), p: new Float64Array(batch * dof) };
      if (record > 0) out.record = { every: record, count: recordCount, q: new Float64Array(recordCount * batch * dof), p: new Float64Array(recordCount * batch * dof) };
      if (steps === 0) return { ...out, q, p };
      for (let first = 0; first < batch; first += copiesPerChunk) {
        const chunk: Chunk = { q, p, first, count: Math.min(copiesPerChunk, batch - first), steps, record, recordCount, out };
        await (kind === 'workgroup' ? runWorkgroup(chunk) : runTiled(chunk));
      }
      return out;
    },
    async vjp(vjpOptions: VjpOptions): Promise<VjpResult> {
      if (disposed) throw new DarbouxError('INPUT', 'this stepper was disposed');
      try {
        trajectoryStepper ??= fallback();
        return await (await trajectoryStepper).vjp(vjpOptions);
      } catch (e) {
        if (e instanceof DarbouxError && e.code === 'DEVICE') {
          throw new DarbouxError('DEVICE', `vjp of this ${pp.n}-particle system needs the per-trajectory GPU kernels, which this adapter refuses (${e.message}); use compile(…, { backend: 'cpu' }) for its gradient`, { n: pp.n });
        }
        throw e;
      }
    },
    jacobian(q0, p0, t = 0) {
      if (q0.length !== dof || p0.length !== dof) throw new DarbouxError('INPUT', `jacobian: q and p must have length ${dof}, got ${q0.length} and ${p0.length}`);
      jacobian ??= jacobianFunction(program, JS_FIXED_POINT);
      return jacobian(q0, p0, dt, t);
    },
    dispose() {
      if (!disposed) {
        fixedBuffer.destroy();
        void trajectoryStepper?.then((s) => s.dispose(), () => undefined);
      }
      disposed = true;
    },
  };
  return stepper;
}
