/**
 * LNN trajectory-training throughput (windows/s, one window = one training sample of `horizon` steps): darboux `fit`
 * with loss 'rollout' through rk4 and variationalMidpoint on the CPU (f64, exact discrete adjoint with stored
 * states) and the GPU (f32, the window's loss graph in the per-sample training kernel), the same data, network and
 * minibatch, in the same process run. Set-up and kernel compiles are excluded (timed from the first progress report
 * to the end); wall time and process CPU time (user + sys: on a software adapter such as llvmpipe the
 * GPU's work is CPU time too) are both reported, medians of `repeats`.
 * Standalone: npx tsx bench/lnn-trajectory.ts [--hidden 8] [--horizon 4] [--batch 64] [--steps 60] [--repeats 3] [--no-gpu]
 */
import { fit, gpuAvailable, lnn, releaseGpu } from '../src/index.js';
import { median } from './timing.js';

/** Settings of `lnnTrajectoryBench`. */
export interface LnnTrajectoryBenchOptions {
  hidden?: number[];
  horizon?: number;
  batch?: number;
  /** Optimiser steps per run. */
  steps?: number;
  repeats?: number;
  gpu?: boolean;
}

/** Oscillator trajectories (L = v²/2 − q²/2, closed form), velocities in the second slot: 16 starts × 40 frames. */
function oscillatorTrajectories(dt = 0.1, length = 40) {
  const count = 16, q = new Float64Array(count * length), p = new Float64Array(count * length);
  for (let k = 0; k < count; k++) {
    const amplitude = 0.4 + 0.06 * k, phase = 0.4 * k;
    for (let j = 0; j < length; j++) {
      q[k * length + j] = amplitude * Math.cos(j * dt + phase);
      p[k * length + j] = -amplitude * Math.sin(j * dt + phase);
    }
  }
  return { q, p, dt, length };
}

/**
 * Prints the table: per method and backend, windows/s by wall time and by process CPU time.
 *
 * @example
 * await lnnTrajectoryBench({ hidden: [8], horizon: 4, batch: 64 });
 */
export async function lnnTrajectoryBench(options: LnnTrajectoryBenchOptions = {}): Promise<void> {
  const hidden = options.hidden ?? [8], horizon = options.horizon ?? 4, batch = options.batch ?? 64, steps = options.steps ?? 100, repeats = options.repeats ?? 3;
  const trajectories = oscillatorTrajectories();
  const backends: ('cpu' | 'gpu')[] = options.gpu === false || !(await gpuAvailable()) ? ['cpu'] : ['cpu', 'gpu'];
  console.log(`\n## LNN trajectory training (dof 1, hidden [${hidden}], softplus, loss rollout, horizon ${horizon}, batch ${batch} windows, Adam)\n`);
  console.log('| method | backend | windows/s (wall) | windows/s (process CPU time) | final loss |');
  console.log('|---|---|---:|---:|---:|');
  for (const method of ['rk4', 'variationalMidpoint']) {
    for (const backend of backends) {
      // Timed from the first progress report (after the set-up, the kernel compiles and at least one step) to the end.
      const run = async () => {
        let first: { step: number; wall: number; cpu: NodeJS.CpuUsage } | undefined;
        const onProgress = ({ stepsDone }: { stepsDone: number }) => {
          if (first === undefined && stepsDone > 0 && stepsDone < steps) first = { step: stepsDone, wall: performance.now(), cpu: process.cpuUsage() };
        };
        const res = await fit(lnn({ dof: 1, hidden, seed: 0 }), { trajectories }, { loss: 'rollout', method, horizon, steps, lr: 1e-2, batchSize: batch, seed: 0, backend, checkEvery: steps, onProgress });
        const used = process.cpuUsage(first!.cpu), windows = (steps - first!.step) * batch;
        return { wall: windows / ((performance.now() - first!.wall) / 1000), cpu: windows / ((used.user + used.system) / 1e6), loss: res.history.at(-1)! };
      };
      const walls: number[] = [], cpus: number[] = [];
      let loss = NaN;
      for (let r = 0; r < repeats; r++) {
        const timed = await run();
        walls.push(timed.wall);
        cpus.push(timed.cpu);
        loss = timed.loss;
      }
      const rate = (x: number) => x.toFixed(0);
      console.log(`| ${method} | ${backend} ${backend === 'cpu' ? 'f64' : 'f32'} | ${rate(median(walls))} | ${rate(median(cpus))} | ${loss.toExponential(2)} |`);
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i < 0 ? undefined : process.argv[i + 1];
  };
  const number = (name: string) => (arg(name) === undefined ? undefined : Number(arg(name)));
  await lnnTrajectoryBench({
    hidden: arg('hidden')?.split(',').map(Number),
    horizon: number('horizon'),
    batch: number('batch'),
    steps: number('steps'),
    repeats: number('repeats'),
    gpu: !process.argv.includes('--no-gpu'),
  });
  releaseGpu();
}
