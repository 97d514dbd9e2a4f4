/**
 * Event-loop responsiveness during long runs (not a test): the longest gap between ticks of a 1 ms interval timer
 * while `run` integrates Hénon–Heiles (leapfrog, one trajectory) for many steps, on the CPU (f64) and the GPU
 * (f32, whatever adapter `compile` finds: llvmpipe on machines without one). Goal: every gap ≤ 100 ms (on a loaded
 * machine the OS may preempt the process for longer: the count of gaps over 100 ms shows how often). Also the
 * time of a short run (1 000 steps × 1 024 trajectories) — the cost of chunking where nothing needs it.
 *
 * Run: npx tsx bench/responsiveness.ts          (CPU_STEPS=1e8 GPU_STEPS=2e6 BACKENDS=cpu,gpu)
 */
import { compile, gpuAvailable, henonHeiles, releaseGpu, type Stepper } from '../src/index.js';

const cpuSteps = Number(process.env.CPU_STEPS ?? 1e8);
const gpuSteps = Number(process.env.GPU_STEPS ?? 2e6);
const backends = (process.env.BACKENDS ?? 'cpu,gpu').split(',');

/** Runs `f` with a 1 ms interval timer going; returns the run's time, the longest gap between ticks and their count. */
async function withTicks(f: () => Promise<unknown>): Promise<{ seconds: number; longestGapMs: number; ticks: number; over100: number }> {
  let last = performance.now(), longest = 0, ticks = 0, over100 = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    if (now - last > 100) over100++;
    last = now;
    ticks++;
  }, 1);
  const start = performance.now();
  await f();
  const end = performance.now();
  clearInterval(timer);
  return { seconds: (end - start) / 1000, longestGapMs: Math.max(longest, end - last), ticks, over100 };
}

/** Best of `repeats` times of a short run. */
async function shortRun(st: Stepper, repeats = 7): Promise<number> {
  const batch = 1024, steps = 1000;
  const q0 = Float64Array.from({ length: 2 * batch }, (_, k) => 0.1 + 1e-5 * k), p0 = new Float64Array(2 * batch).fill(0.1);
  let best = Infinity;
  for (let r = 0; r < repeats; r++) {
    const t = performance.now();
    await st.run({ q0, p0, steps, batch });
    best = Math.min(best, performance.now() - t);
  }
  return best;
}

console.log('## Event-loop responsiveness: longest gap between 1 ms timer ticks during one long run (goal ≤ 100 ms)\n');
for (const backend of backends) {
  if (backend === 'gpu' && !(await gpuAvailable())) {
    console.log('gpu: no adapter');
    continue;
  }
  const steps = backend === 'cpu' ? cpuSteps : gpuSteps;
  const st = await compile(henonHeiles().hamiltonian, { method: 'leapfrog', dt: 0.01, backend: backend as 'cpu' | 'gpu' });
  const warm = await shortRun(st, 2);
  const { seconds, longestGapMs, ticks, over100 } = await withTicks(() => st.run({ q0: [0.1, 0.05], p0: [0.1, 0], steps }));
  const rate = steps / seconds / 1e6;
  console.log(`${backend}: ${steps.toExponential(0)} steps in ${seconds.toFixed(2)} s (${rate.toFixed(1)} M steps/s): longest gap ${longestGapMs.toFixed(1)} ms, ${ticks} ticks, ${over100} gaps over 100 ms`);
  const short = Math.min(warm, await shortRun(st));
  console.log(`${backend}: short run (1 000 steps × 1 024 trajectories): ${short.toFixed(2)} ms (best of 7)`);
  st.dispose();
}
releaseGpu();
