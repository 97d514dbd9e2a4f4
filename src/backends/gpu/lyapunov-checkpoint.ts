/**
 * The copy of a Lyapunov run's buffers from before one step block, so a block that llvmpipe's loop limiter cut
 * short can be run again with fewer steps: the state and tangents, the status words and the history intervals of
 * log sums that the block adds to, copied on the queue (ordered with the dispatches) and copied back on demand.
 */
import { STATUS_WORDS } from '../../codegen/kernel-words.js';
import { createStorageBuffer, readBuffer, type Gpu } from '../../runtime/index.js';
import { decodeStatus } from './kernel-host.js';

/** The buffers of one Lyapunov run that a step block writes. */
export interface LyapunovRunBuffers {
  state: GPUBuffer;
  logs: GPUBuffer;
  status: GPUBuffer;
}

/**
 * Keeps and restores the buffers a step block writes (see the module comment); `truncated` reads the status
 * words after the block and says whether the adapter cut any trajectory's step loop short.
 *
 * @example
 * const checkpoint = new LyapunovCheckpoint(gpu, buffers, { batch, count, historyEvery });
 * checkpoint.keep(base, steps); dispatch(); if (await checkpoint.truncated()) checkpoint.restore();
 */
export class LyapunovCheckpoint {
  private readonly state: GPUBuffer;
  private readonly status: GPUBuffer;
  private logs: GPUBuffer | null = null;
  private logRange = { offset: 0, bytes: 0 };
  private readonly intervalBytes: number;

  constructor(
    private readonly gpu: Gpu,
    private readonly run: LyapunovRunBuffers,
    private readonly layout: { batch: number; count: number; historyEvery: number },
  ) {
    this.state = createStorageBuffer(gpu, run.state.size, { readable: true, label: 'darboux-lyapunov-state-copy' });
    this.status = createStorageBuffer(gpu, run.status.size, { readable: true, label: 'darboux-lyapunov-status-copy' });
    this.intervalBytes = layout.batch * layout.count * 4;
  }

  /** Copies (on the queue) what the block of `steps` steps from step `base` will write. */
  keep(base: number, steps: number): void {
    const first = Math.floor(base / this.layout.historyEvery), last = Math.floor((base + steps - 1) / this.layout.historyEvery);
    this.logRange = { offset: first * this.intervalBytes, bytes: Math.min((last - first + 1) * this.intervalBytes, this.run.logs.size - first * this.intervalBytes) };
    if (this.logs === null || this.logs.size < this.logRange.bytes) {
      this.logs?.destroy();
      this.logs = createStorageBuffer(this.gpu, this.logRange.bytes, { readable: true, label: 'darboux-lyapunov-logs-copy' });
    }
    const encoder = this.gpu.device.createCommandEncoder({ label: 'darboux-lyapunov-keep' });
    encoder.copyBufferToBuffer(this.run.state, 0, this.state, 0, this.run.state.size);
    encoder.copyBufferToBuffer(this.run.status, 0, this.status, 0, this.run.status.size);
    encoder.copyBufferToBuffer(this.run.logs, this.logRange.offset, this.logs, 0, this.logRange.bytes);
    this.gpu.device.queue.submit([encoder.finish()]);
  }

  /** Whether the block's dispatches cut a trajectory's step loop short (reads the status words back). */
  async truncated(): Promise<boolean> {
    return decodeStatus(await readBuffer(this.gpu, this.run.status, this.layout.batch * STATUS_WORDS * 4), this.layout.batch).failure?.kind === 'truncated';
  }

  /** Puts the kept buffers back (on the queue), as they were before the block. */
  restore(): void {
    const encoder = this.gpu.device.createCommandEncoder({ label: 'darboux-lyapunov-restore' });
    encoder.copyBufferToBuffer(this.state, 0, this.run.state, 0, this.run.state.size);
    encoder.copyBufferToBuffer(this.status, 0, this.run.status, 0, this.run.status.size);
    encoder.copyBufferToBuffer(this.logs!, 0, this.run.logs, this.logRange.offset, this.logRange.bytes);
    this.gpu.device.queue.submit([encoder.finish()]);
  }

  destroy(): void {
    this.state.destroy();
    this.status.destroy();
    this.logs?.destroy();
  }
}
