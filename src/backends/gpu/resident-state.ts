/**
 * Device-resident states of the per-trajectory GPU stepper: an f32 buffer of [q | p] blocks (batch · dof each,
 * the layout the stepper kernels read), which `run({ state })` advances in place, plus a copy of the state a run
 * started from (kept on the device, so that a failing run can be diagnosed exactly as a plain run would be).
 */
import { DarbouxError } from '../../errors.js';
import { createStorageBuffer, readBuffer, type Gpu } from '../../runtime/index.js';
import { checkState, checkUpload, type StateOwner } from '../device-state.js';
import type { DeviceState, UploadOptions } from '../stepper.js';
import { packState, unpackState } from './run-buffers.js';

/**
 * A batch of f32 states on one GPU device (made by `uploadGpuState`).
 *
 * @example
 * const state = uploadGpuState(gpu, q0, p0, { batch }, dof, chunkLimit);
 * const start = state.keepStart(); // before a run advances state.buffer in place
 */
export class GpuDeviceState implements DeviceState {
  readonly backend = 'gpu' as const;
  private disposedFlag = false;
  private startCopy: GPUBuffer | null = null;

  constructor(
    readonly gpu: Gpu,
    readonly batch: number,
    readonly dof: number,
    /** f32 [q | p], STORAGE | COPY_DST | COPY_SRC. */
    readonly buffer: GPUBuffer,
  ) {}

  get disposed(): boolean {
    return this.disposedFlag;
  }

  /** Copies the state into its start copy (queued: ordered before later dispatches) and returns that buffer. */
  keepStart(): GPUBuffer {
    this.startCopy ??= createStorageBuffer(this.gpu, this.buffer.size, { readable: true, label: 'darboux-state-start' });
    const encoder = this.gpu.device.createCommandEncoder({ label: 'darboux-state-start' });
    encoder.copyBufferToBuffer(this.buffer, 0, this.startCopy, 0, this.buffer.size);
    this.gpu.device.queue.submit([encoder.finish()]);
    return this.startCopy;
  }

  /** Copies the start copy back into the state (after a rejected run); nothing when disposed or the device is gone. */
  restoreStart(): void {
    if (this.disposedFlag || this.startCopy === null) return;
    try {
      const encoder = this.gpu.device.createCommandEncoder({ label: 'darboux-state-restore' });
      encoder.copyBufferToBuffer(this.startCopy, 0, this.buffer, 0, this.buffer.size);
      this.gpu.device.queue.submit([encoder.finish()]);
    } catch {
      // a released or lost device: the state is unusable anyway (download reports it)
    }
  }

  dispose(): void {
    if (this.disposedFlag) return;
    this.disposedFlag = true;
    this.buffer.destroy();
    this.startCopy?.destroy();
  }
}

/**
 * Whether `state` belongs to `gpu` (null) or why not.
 *
 * @example
 * const owner: StateOwner = { backend: 'gpu', dof, foreign: (s) => foreignGpuState(s, gpu) };
 */
export function foreignGpuState(state: DeviceState, gpu: Gpu): string | null {
  if (!(state instanceof GpuDeviceState)) return 'the state was not made by upload';
  return state.gpu === gpu ? null : 'the state lives on another GPU device';
}

/**
 * Uploads (q0, p0) of `batch` trajectories as f32 (one pass, one buffer). Refuses batches over `maxBatch` (the
 * trajectories one buffer may bind on this device), INPUT.
 *
 * @example
 * const state = uploadGpuState(gpu, q0, p0, { batch: 4096 }, 2, chunkLimit);
 */
export function uploadGpuState(gpu: Gpu, q0: ArrayLike<number>, p0: ArrayLike<number>, options: UploadOptions | undefined, dof: number, maxBatch: number): GpuDeviceState {
  const batch = checkUpload(q0, p0, options, dof, 'f32');
  if (batch > maxBatch) {
    throw new DarbouxError('INPUT', `upload: ${batch} trajectories are over the ${maxBatch} that one buffer of this ${gpu.adapterKind} device holds; upload the batch in parts`, { batch, maxBatch });
  }
  const packed = packState(q0, p0, 0, batch, dof, new Float32Array(2 * batch * dof));
  return new GpuDeviceState(gpu, batch, dof, createStorageBuffer(gpu, packed, { readable: true, label: 'darboux-device-state' }));
}

/**
 * Reads a state back as Float64Arrays (`buffer`: the state's own buffer, or its start copy).
 *
 * @example
 * const { q, p } = await downloadGpuState(state, owner);
 */
export async function downloadGpuState(state: unknown, owner: StateOwner, buffer?: GPUBuffer): Promise<{ q: Float64Array; p: Float64Array }> {
  checkState(state, owner, 'download');
  const s = state as GpuDeviceState;
  const m = s.batch * s.dof;
  const words = new Float32Array(await readBuffer(s.gpu, buffer ?? s.buffer, 2 * m * 4));
  const q = new Float64Array(m), p = new Float64Array(m);
  unpackState(words, s.batch, s.dof, q, p, 0);
  return { q, p };
}
