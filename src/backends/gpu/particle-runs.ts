/**
 * The runs of the per-particle kernels on one chunk of copies: buffers, dispatches (paced: yields, progress,
 * abort), readback, failed copies and snapshots. The workgroup kernel advances many steps per dispatch; the tiled and cell-list kernels one force
 * evaluation per dispatch (tiledSchedule), the state resident on the device from upload to readback.
 */
import { DarbouxError } from '../../errors.js';
import type { ParticleProgram } from '../../codegen/particle-analysis.js';
import { CELL_WORKGROUP } from '../../codegen/particle-cells-wgsl.js';
import { NO_FAILURE } from '../../codegen/particle-wgsl.js';
import { createStorageBuffer, createUniformBuffer, readBuffer, writeBuffer, type ComputeKernel, type Gpu } from '../../runtime/index.js';
import type { RunResult } from '../stepper.js';
import type { RunControl } from '../run-control.js';
import type { RunFailure } from '../run-failures.js';
import { DispatchPacer } from './dispatch-pacer.js';
import { tiledSchedule } from './particle-schedule.js';

/** The per-particle kernels. */
export type ParticleKernelKind = 'tiled' | 'workgroup' | 'cells';

/** What a run needs from its stepper. */
export interface ParticleRunContext {
  readonly gpu: Gpu;
  readonly pp: ParticleProgram;
  readonly kind: ParticleKernelKind;
  readonly method: string;
  readonly dt: number;
  /** The kernel's `main` entry point. */
  readonly kernel: ComputeKernel;
  /** Cell lists: the clear, count, scan and scatter passes, in order. */
  readonly cellPasses: readonly ComputeKernel[];
  readonly cellCount: number;
  readonly fixedBuffer: GPUBuffer;
  /** Workgroup kernel: steps per dispatch. */
  readonly stepsPerDispatch: number;
  /** Tiled kernel: invocations per workgroup. */
  readonly tile: number;
}

/** One chunk of copies of a run: initial states (all copies), which copies, and the result to fill. */
export interface ParticleChunk {
  q: Float64Array;
  p: Float64Array;
  first: number;
  count: number;
  steps: number;
  record: number;
  recordCount: number;
  out: RunResult;
  /** Progress and abort (dispatches are paced through it). */
  control: RunControl;
  /** Where the chunk's failed copies go (indices of the whole batch). */
  failures: RunFailure[];
}

/** The first pair of particles at the same position (minimum image in a periodic box) in positions q, or null. */
function overlap(pp: ParticleProgram, q: Float64Array): [number, number] | null {
  const box = pp.terms.find((t) => t.kind !== 'site')?.geometry.box ?? null;
  for (let i = 0; i < pp.n; i++) {
    for (let j = i + 1; j < pp.n; j++) {
      let same = true;
      for (let c = 0; c < pp.dim && same; c++) {
        const d = Math.fround(q[i * pp.dim + c]!) - Math.fround(q[j * pp.dim + c]!);
        same = (box === null ? d : d - box[c]! * Math.round(d / box[c]!)) === 0;
      }
      if (same) return [i, j];
    }
  }
  return null;
}

/**
 * The NONFINITE error of a run whose copies failed: the earliest failure (smallest step, then copy), naming an
 * overlapping pair of its initial state when it failed at the first step, with every failure counted.
 *
 * @example
 * throw particleFailureError(ctx, q, failures, batch);
 */
export function particleFailureError(ctx: ParticleRunContext, q: Float64Array, failures: readonly RunFailure[], batch: number): DarbouxError {
  let first = failures[0]!;
  for (const f of failures) if (f.step < first.step || (f.step === first.step && f.trajectory < first.trajectory)) first = f;
  const { step, trajectory } = first, dof = ctx.pp.n * ctx.pp.dim;
  const counted = { failed: failures.length, failedTrajectories: failures.map((f) => f.trajectory).sort((a, b) => a - b) };
  const others = failures.length > 1 ? ` (${failures.length} of ${batch} copies failed; run with onFailure: 'report' to keep the others)` : '';
  const pair = step === 0 ? overlap(ctx.pp, q.subarray(trajectory * dof, (trajectory + 1) * dof)) : null;
  const where = `by step ${step + 1} of trajectory ${trajectory} (${ctx.method}, dt = ${ctx.dt}, gpu f32, per-particle kernel)`;
  return pair !== null
    ? new DarbouxError('NONFINITE', `non-finite state ${where}: particles ${pair[0]} and ${pair[1]} overlap (r = 0) in the initial state; move them apart${others}`, { step, trajectory, i: pair[0], j: pair[1], ...counted })
    : new DarbouxError('NONFINITE', `non-finite state ${where}; reduce dt or check the initial state${others}`, { step, trajectory, ...counted });
}

/** Every failed copy of a status readback (the first failing step of each). */
function failuresOf(c: ParticleChunk, words: Uint32Array): RunFailure[] {
  const failures: RunFailure[] = [];
  for (let b = 0; b < words.length; b++) if (words[b] !== NO_FAILURE) failures.push({ kind: 'nonfinite', step: words[b]!, trajectory: c.first + b });
  return failures;
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

/** The state buffer's initial contents: q, then `gap` empty slots, then p (each count·dof). */
function initialState(c: ParticleChunk, dof: number, gap: number): Float32Array {
  const slot = c.count * dof;
  const state = new Float32Array((2 + gap) * slot);
  state.set(c.q.subarray(c.first * dof, (c.first + c.count) * dof), 0);
  state.set(c.p.subarray(c.first * dof, (c.first + c.count) * dof), (1 + gap) * slot);
  return state;
}

/** Buffers every run uses: state, status (all copies unfailed), record (1 float when not recording), control. */
function commonBuffers(gpu: Gpu, c: ParticleChunk, state: Float32Array, dof: number) {
  const recordFloats = c.record > 0 ? 2 * c.recordCount * c.count * dof : 1;
  const limit = Math.min(gpu.limits.maxStorageBufferBindingSize, gpu.limits.maxBufferSize);
  if (recordFloats * 4 > limit) throw new DarbouxError('INPUT', `recording ${c.recordCount} snapshots of ${c.count} copies needs ${recordFloats * 4} bytes, over the device limit ${limit}; record less often`);
  return {
    state: createStorageBuffer(gpu, state, { readable: true }),
    status: createStorageBuffer(gpu, new Uint32Array(c.count).fill(NO_FAILURE), { readable: true }),
    record: createStorageBuffer(gpu, recordFloats * 4, { readable: c.record > 0 }),
    control: createUniformBuffer(gpu, 32),
  };
}

/** Reads the state (q at qAt, p at pAt, in floats), the status and the snapshots back into the chunk's result. */
async function finish(ctx: ParticleRunContext, c: ParticleChunk, buffers: ReturnType<typeof commonBuffers>, qAt: number, pAt: number): Promise<void> {
  const dof = ctx.pp.n * ctx.pp.dim;
  const [stateOut, statusOut] = await Promise.all([readBuffer(ctx.gpu, buffers.state), readBuffer(ctx.gpu, buffers.status)]);
  c.failures.push(...failuresOf(c, new Uint32Array(statusOut, 0, c.count)));
  const s = new Float32Array(stateOut);
  c.out.q.set(s.subarray(qAt, qAt + c.count * dof), c.first * dof);
  c.out.p.set(s.subarray(pAt, pAt + c.count * dof), c.first * dof);
  if (c.record === 0) return;
  const r = new Float32Array(await readBuffer(ctx.gpu, buffers.record));
  const total = c.out.record!.q.length / c.recordCount, block = c.count * dof;
  for (let k = 0; k < c.recordCount; k++) {
    c.out.record!.q.set(r.subarray(k * block, (k + 1) * block), k * total + c.first * dof);
    c.out.record!.p.set(r.subarray((c.recordCount + k) * block, (c.recordCount + k + 1) * block), k * total + c.first * dof);
  }
}

/**
 * Runs a chunk with the workgroup kernel: one workgroup per copy, `stepsPerDispatch` steps per dispatch,
 * snapshots written by the kernel.
 *
 * @example
 * await runWorkgroupChunk(ctx, { q, p, first: 0, count: batch, steps, record, recordCount, out, control, failures: [] });
 */
export async function runWorkgroupChunk(ctx: ParticleRunContext, c: ParticleChunk): Promise<void> {
  const dof = ctx.pp.n * ctx.pp.dim;
  const buffers = commonBuffers(ctx.gpu, c, initialState(c, dof, 0), dof);
  const pacer = new DispatchPacer(ctx.gpu, c.control, c.steps);
  try {
    for (let base = 0; base < c.steps; base += ctx.stepsPerDispatch) {
      const steps = Math.min(ctx.stepsPerDispatch, c.steps - base);
      writeBuffer(ctx.gpu, buffers.control, control(['steps', 'stepBase', 'recordEvery', 'recordCount', 'batch', 'pad', 'pad', 'pad'], [], { steps, stepBase: base, recordEvery: c.record, recordCount: c.recordCount, batch: c.count }));
      ctx.kernel.dispatch([buffers.state, ctx.fixedBuffer, buffers.status, buffers.record, buffers.control], c.count);
      await pacer.dispatched(base + steps);
    }
    await finish(ctx, c, buffers, 0, c.count * dof);
  } finally {
    for (const b of Object.values(buffers)) b.destroy();
  }
}

/**
 * Runs a chunk with the tiled or the cell-list kernel: one dispatch (after the cell passes, for cell lists) per
 * entry of the schedule, positions double-buffered, snapshots copied on the device.
 *
 * @example
 * await runResidentChunk(ctx, { q, p, first: 0, count: batch, steps, record, recordCount, out, control, failures: [] });
 */
export async function runResidentChunk(ctx: ParticleRunContext, c: ParticleChunk): Promise<void> {
  const { gpu, pp } = ctx;
  const dof = pp.n * pp.dim, slot = c.count * dof;
  const buffers = commonBuffers(gpu, c, initialState(c, dof, 1), dof);
  const cells = ctx.kind !== 'cells' ? null : {
    counts: createStorageBuffer(gpu, 4 * c.count * ctx.cellCount),
    starts: createStorageBuffer(gpu, 4 * c.count * (ctx.cellCount + 1)),
    placed: createStorageBuffer(gpu, 8 * c.count * pp.n),
    sorted: createStorageBuffer(gpu, 4 * c.count * pp.n),
  };
  let readSlot = 0;
  const pacer = new DispatchPacer(gpu, c.control, c.steps);
  try {
    const bindings = cells === null
      ? [buffers.state, ctx.fixedBuffer, buffers.status, buffers.control]
      : [buffers.state, ctx.fixedBuffer, buffers.status, cells.counts, cells.starts, cells.placed, cells.sorted, buffers.control];
    const groups = Math.ceil(pp.n / (cells === null ? ctx.tile : CELL_WORKGROUP));
    // Cell lists are rebuilt (clear, count, scan, scatter) at the positions each force evaluation reads.
    const cellSizes: [number, number][] = [[Math.ceil(ctx.cellCount / CELL_WORKGROUP), c.count], [groups, c.count], [1, c.count], [groups, c.count]];
    for (const entry of tiledSchedule(pp.stages, c.steps, c.record)) {
      if (entry.kind === 'record') {
        const encoder = gpu.device.createCommandEncoder({ label: 'darboux-particles-record' });
        encoder.copyBufferToBuffer(buffers.state, readSlot * slot * 4, buffers.record, entry.index * slot * 4, slot * 4);
        encoder.copyBufferToBuffer(buffers.state, 2 * slot * 4, buffers.record, (c.recordCount + entry.index) * slot * 4, slot * 4);
        gpu.device.queue.submit([encoder.finish()]);
        continue;
      }
      writeBuffer(gpu, buffers.control, control(['kick', 'drift', 'readSlot', 'step', 'slot', 'pad', 'pad', 'pad'], ['kick', 'drift'], { kick: entry.kick, drift: entry.drift, step: entry.step, readSlot, slot }));
      if (cells !== null && entry.kick !== 0) ctx.cellPasses.forEach((pass, k) => pass.dispatch(bindings, cellSizes[k]!));
      ctx.kernel.dispatch(bindings, [groups, c.count]);
      readSlot = 1 - readSlot;
      await pacer.dispatched(entry.step);
    }
    await finish(ctx, c, buffers, readSlot * slot, 2 * slot);
  } finally {
    for (const b of [...Object.values(buffers), ...Object.values(cells ?? {})]) b.destroy();
  }
}
