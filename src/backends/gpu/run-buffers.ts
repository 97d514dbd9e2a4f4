/**
 * The device buffers of a per-trajectory GPU stepper's runs, kept across runs (grow-only, one set per stepper,
 * freed on dispose): the f32 state, the per-trajectory status words, the control uniform, a placeholder record
 * binding, a status summary and one MAP_READ staging buffer, so a run uploads with one write (the kernels zero
 * the status words in a run's first dispatch) and reads the state and a 32-byte status summary back in one map
 * (the full status words only when the summary reports a failure). Also the f64 ↔ f32 conversions, each a single
 * pass (checking the inputs on the way, `uploadState`).
 */
import { DarbouxError } from '../../errors.js';
import { STATUS_WORDS, WORKGROUP_SIZE } from '../../codegen/kernel-words.js';
import { createComputeKernel, createStorageBuffer, createUniformBuffer, writeBuffer, type ComputeKernel, type Gpu } from '../../runtime/index.js';
import { refuseStateElement } from '../input-checks.js';

/** Words of the status summary: failed trajectories, the first failed one, iteration total (low, high word), max. */
export const SUMMARY_WORDS = 8;

/** Workgroups of the summary dispatch at most (each invocation strides over the rest). */
const SUMMARY_WORKGROUPS = 16;

/** Initial summary: no failure, first failed = none (0xffffffff). */
const SUMMARY_INIT = new Uint32Array([0, 0xffffffff, 0, 0, 0, 0, 0, 0]);

/**
 * WGSL that reduces the per-trajectory status words of `count` trajectories into the summary: a workgroup
 * reduction in workgroup memory, then one global atomic per word and workgroup. The 64-bit iteration total
 * carries into its high word.
 */
const SUMMARY_WGSL = /* wgsl */ `
struct Control { count: u32, pad0: u32, pad1: u32, pad2: u32 }
@group(0) @binding(0) var<storage, read> dStatus: array<u32>;
@group(0) @binding(1) var<storage, read_write> dSummary: array<atomic<u32>>;
@group(0) @binding(2) var<uniform> dControl: Control;
var<workgroup> failed: atomic<u32>;
var<workgroup> firstFailed: atomic<u32>;
var<workgroup> totalLo: atomic<u32>;
var<workgroup> totalHi: atomic<u32>;
var<workgroup> most: atomic<u32>;

fn addTotal(x: u32) {
  let before = atomicAdd(&totalLo, x);
  if (before > 0xffffffffu - x) { atomicAdd(&totalHi, 1u); }
}

@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_index) local: u32, @builtin(num_workgroups) groups: vec3<u32>) {
  if (local == 0u) {
    atomicStore(&failed, 0u); atomicStore(&firstFailed, 0xffffffffu);
    atomicStore(&totalLo, 0u); atomicStore(&totalHi, 0u); atomicStore(&most, 0u);
  }
  workgroupBarrier();
  // Each invocation strides over the trajectories; atomics only for non-zero words (none in a clean explicit run).
  let stride = groups.x * ${WORKGROUP_SIZE}u;
  var myFailed = 0u;
  var myFirst = 0xffffffffu;
  var myMost = 0u;
  for (var b = gid.x; b < dControl.count; b += stride) {
    let base = b * ${STATUS_WORDS}u;
    if (dStatus[base] != 0u) { myFailed += 1u; myFirst = min(myFirst, b); }
    let total = dStatus[base + 1u];
    if (total != 0u) { addTotal(total); }
    myMost = max(myMost, dStatus[base + 2u]);
  }
  if (myFailed != 0u) { atomicAdd(&failed, myFailed); atomicMin(&firstFailed, myFirst); }
  if (myMost != 0u) { atomicMax(&most, myMost); }
  workgroupBarrier();
  if (local == 0u) {
    let f = atomicLoad(&failed);
    if (f != 0u) { atomicAdd(&dSummary[0], f); atomicMin(&dSummary[1], atomicLoad(&firstFailed)); }
    let lo = atomicLoad(&totalLo);
    if (lo != 0u) {
      let before = atomicAdd(&dSummary[2], lo);
      if (before > 0xffffffffu - lo) { atomicAdd(&dSummary[3], 1u); }
    }
    let hi = atomicLoad(&totalHi);
    if (hi != 0u) { atomicAdd(&dSummary[3], hi); }
    let m = atomicLoad(&most);
    if (m != 0u) { atomicMax(&dSummary[4], m); }
  }
}
`;

/** A decoded status summary. */
export interface StatusSummary {
  failed: number;
  iterationsTotal: number;
  iterationsMax: number;
}

/**
 * Decodes the summary words.
 *
 * @example
 * decodeSummary(new Uint32Array([0, 0xffffffff, 5, 0, 2, 0, 0, 0])); // { failed: 0, iterationsTotal: 5, iterationsMax: 2 }
 */
export function decodeSummary(words: Uint32Array): StatusSummary {
  return { failed: words[0]!, iterationsTotal: words[2]! + words[3]! * 2 ** 32, iterationsMax: words[4]! };
}

/** One set of run buffers, sized for `capacity` trajectories. */
export interface RunBufferSet {
  readonly capacity: number;
  /** f32 [q | p] of up to `capacity` trajectories (STORAGE | COPY_DST | COPY_SRC). */
  readonly state: GPUBuffer;
  readonly status: GPUBuffer;
  readonly summary: GPUBuffer;
  readonly control: GPUBuffer;
  readonly summaryControl: GPUBuffer;
  /** Binding 2 of runs that do not record. */
  readonly noRecord: GPUBuffer;
  /** MAP_READ staging: the state and the summary (or the full status words) back to back. */
  readonly staging: GPUBuffer;
  /** Host f32 [q | p] of `capacity` trajectories: f64 inputs are converted here, then written with one call. */
  readonly packed: Float32Array;
}

/**
 * The stepper's reusable buffer set (see the module comment). `acquire` hands out the kept set when it is free
 * (grown first when too small); a second run in flight at the same time gets a set of its own, destroyed on
 * `release`. `destroy` frees everything (later releases destroy their sets).
 *
 * @example
 * const pool = new RunBufferPool(gpu, dof, controlBytes);
 * const set = pool.acquire(count);
 * try { … } finally { pool.release(set); }
 */
export class RunBufferPool {
  private kept: RunBufferSet | null = null;
  private keptBusy = false;
  private destroyed = false;
  private summaryKernel: Promise<ComputeKernel> | null = null;

  constructor(
    private readonly gpu: Gpu,
    private readonly dof: number,
    private readonly controlBytes: number,
  ) {}

  /** A buffer set for `count` trajectories, for this run only (give it back with `release`). */
  acquire(count: number): RunBufferSet {
    if (this.destroyed) throw new DarbouxError('INPUT', 'this stepper was disposed: run needs a live stepper; compile again', { disposed: true });
    if (!this.keptBusy) {
      if (this.kept !== null && this.kept.capacity < count) {
        destroySet(this.kept);
        this.kept = null;
      }
      this.kept ??= this.create(count);
      this.keptBusy = true;
      return this.kept;
    }
    return this.create(count);
  }

  /** Gives a set back; `broken`: a readback failed or timed out, so the set is not reused. */
  release(set: RunBufferSet, broken = false): void {
    if (set !== this.kept) {
      destroySet(set);
      return;
    }
    this.keptBusy = false;
    if (broken || this.destroyed) {
      destroySet(set);
      this.kept = null;
    }
  }

  /** Frees the kept set (now, or when its run releases it). */
  destroy(): void {
    this.destroyed = true;
    if (this.kept !== null && !this.keptBusy) {
      destroySet(this.kept);
      this.kept = null;
    }
  }

  /** Compiles the summary kernel (cached per device): `compile` pays it, not the first run. */
  prepare(): Promise<ComputeKernel> {
    this.summaryKernel ??= createComputeKernel(this.gpu, { wgsl: SUMMARY_WGSL, label: 'darboux-status-summary' });
    return this.summaryKernel;
  }

  /** Reduces the status words of `count` trajectories of `set` into its summary (queued after earlier dispatches). */
  async summarize(set: RunBufferSet, status: GPUBuffer, count: number): Promise<void> {
    const kernel = await this.prepare();
    const { queue } = this.gpu.device;
    queue.writeBuffer(set.summary, 0, SUMMARY_INIT);
    queue.writeBuffer(set.summaryControl, 0, new Uint32Array([count, 0, 0, 0]));
    kernel.dispatch([status, set.summary, set.summaryControl], Math.min(SUMMARY_WORKGROUPS, Math.ceil(count / WORKGROUP_SIZE)));
  }

  private create(count: number): RunBufferSet {
    const capacity = Math.max(1, count);
    const { gpu } = this;
    const stateBytes = 2 * capacity * this.dof * 4;
    const statusBytes = capacity * STATUS_WORDS * 4;
    const staging = gpu.device.createBuffer({ label: 'darboux-run-readback', size: Math.max(stateBytes + SUMMARY_WORDS * 4, statusBytes), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    return {
      capacity,
      state: createStorageBuffer(gpu, stateBytes, { readable: true, label: 'darboux-run-state' }),
      status: createStorageBuffer(gpu, statusBytes, { readable: true, label: 'darboux-run-status' }),
      summary: createStorageBuffer(gpu, SUMMARY_WORDS * 4, { readable: true, label: 'darboux-run-summary' }),
      control: createUniformBuffer(gpu, this.controlBytes),
      summaryControl: createUniformBuffer(gpu, 16),
      noRecord: createStorageBuffer(gpu, 4),
      staging,
      packed: new Float32Array(2 * capacity * this.dof),
    };
  }
}

function destroySet(set: RunBufferSet): void {
  for (const b of [set.state, set.status, set.summary, set.control, set.summaryControl, set.noRecord, set.staging]) b.destroy();
}

/**
 * Packs trajectories `first … first + count − 1` of q and p (f64, trajectory-major, `dof` each) into `out` as
 * f32 [q | p] blocks of count·dof values, in one pass.
 *
 * @example
 * const packed = packState(q, p, 0, batch, 2, new Float32Array(4 * batch));
 */
export function packState(q: ArrayLike<number>, p: ArrayLike<number>, first: number, count: number, dof: number, out: Float32Array): Float32Array {
  const m = count * dof, at = first * dof;
  for (let i = 0; i < m; i++) {
    out[i] = q[at + i]!;
    out[m + i] = p[at + i]!;
  }
  return out;
}

/** Largest finite f32 value (the GPU's range; as input-checks.ts). */
const F32_MAX = 3.4028234663852886e38;

/**
 * Writes trajectories `first … first + count − 1` of q0 and p0 into `set.state` as f32 [q | p] blocks. Float32Array
 * inputs go straight from the caller's arrays (two queued writes, no conversion); others are converted in one pass
 * into `set.packed` and written with one call. `scan` (typed float arrays whose entries `checkRunOptions` left
 * unchecked): each entry is checked on the way, q0 before p0 and in index order as `checkStateArray` does, and the
 * first bad one refused (INPUT naming the array and its index in the whole batch) before anything is written.
 *
 * @example
 * uploadState(gpu, set, q0, p0, 0, batch, dof, true);
 */
export function uploadState(gpu: Gpu, set: RunBufferSet, q: ArrayLike<number>, p: ArrayLike<number>, first: number, count: number, dof: number, scan: boolean): void {
  const m = count * dof, at = first * dof;
  if (q instanceof Float32Array && p instanceof Float32Array) {
    if (scan) {
      scanF32(q, 'q0', at, m);
      scanF32(p, 'p0', at, m);
    }
    writeBuffer(gpu, set.state, q.subarray(at, at + m));
    writeBuffer(gpu, set.state, p.subarray(at, at + m), m * 4);
    return;
  }
  const out = set.packed;
  if (scan) {
    copyChecked(q, 'q0', at, m, out, 0);
    copyChecked(p, 'p0', at, m, out, m);
  } else {
    packState(q, p, first, count, dof, out);
  }
  writeBuffer(gpu, set.state, out.subarray(0, 2 * m));
}

/** Refuses the first entry of src[at … at + m) outside the f32 range (NaN, ±Infinity, beyond ±F32_MAX). */
function scanF32(src: Float32Array, name: string, at: number, m: number): void {
  for (let i = at; i < at + m; i++) if (!(Math.abs(src[i]!) <= F32_MAX)) refuseStateElement(name, i, src[i], 'f32');
}

/** Copies src[at … at + m) to out[to …] as f32, refusing the first entry outside the f32 range (one pass). */
function copyChecked(src: ArrayLike<number>, name: string, at: number, m: number, out: Float32Array, to: number): void {
  for (let i = 0; i < m; i++) {
    const x = src[at + i]!;
    if (!(Math.abs(x) <= F32_MAX)) refuseStateElement(name, at + i, x, 'f32');
    out[to + i] = x;
  }
}

/**
 * Unpacks f32 [q | p] blocks of `count` trajectories into q and p (f64) at trajectory `first`, in one pass, and
 * returns whether every value is finite.
 *
 * @example
 * const finite = unpackState(new Float32Array(mapped), batch, 2, q, p, 0);
 */
export function unpackState(packed: Float32Array, count: number, dof: number, q: Float64Array, p: Float64Array, first: number): boolean {
  const m = count * dof, at = first * dof;
  let check = 0; // NaN once any value is NaN or ±Infinity (x·0)
  for (let i = 0; i < m; i++) {
    const x = packed[i]!, y = packed[m + i]!;
    q[at + i] = x;
    p[at + i] = y;
    check += x * 0 + y * 0;
  }
  return check === 0;
}
