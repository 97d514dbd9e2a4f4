/**
 * Native memory per compiled GPU stepper (issue 13 gap 4): compiles `COUNT` steppers specialised to different
 * parameter values (each a new shader: parameters are compiled in), runs and disposes each, and prints the
 * resident set size (RSS) and JS heap along the way: after the steppers, after a forced GC (when run with
 * --expose-gc), after `releaseGpu()` and after another GC; then the same count of runs of ONE stepper with the
 * value given per trajectory (`params`), which compiles one shader. Run:
 *
 *   node --expose-gc --import tsx bench/gpu-memory.ts      (or npm run bench:gpu-memory; COUNT=300 by default)
 */
import { compile, henonHeiles, releaseGpu } from '../src/index.js';
import { acquireGpu, gpuAvailable, pipelineCacheStats } from '../src/runtime/index.js';

const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(0).padStart(5);
const gc = (globalThis as { gc?: () => void }).gc;

/** RSS and heap now, after a GC and a pause when asked (dawn frees objects when their JS wrappers are collected). */
async function sample(label: string, collect = false): Promise<number> {
  if (collect && gc) {
    for (let k = 0; k < 3; k++) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  const m = process.memoryUsage();
  console.log(`| ${label.padEnd(58)} | ${mb(m.rss)} | ${mb(m.heapUsed)} | ${mb(m.external)} |`);
  return m.rss;
}

/** `count` steppers, each specialised to its own λ (round `round` picks other values), run once and disposed. */
async function specialisedSteppers(count: number, round: number): Promise<void> {
  const h = henonHeiles().hamiltonian;
  for (let k = 0; k < count; k++) {
    const st = await compile(h.withParams({ lam: 0.5 + (k + round * count) / (3 * count) }), { method: 'leapfrog', dt: 0.05, backend: 'gpu' });
    await st.run({ q0: [0.1, 0.05], p0: [0.2, 0.1], steps: 10 });
    st.dispose();
  }
}

async function main(): Promise<void> {
  if (!(await gpuAvailable())) {
    console.log('no WebGPU adapter: skipped');
    return;
  }
  const count = Number(process.env.COUNT ?? 300);
  const h = henonHeiles().hamiltonian;
  const q0 = [0.1, 0.05], p0 = [0.2, 0.1];
  const gpu = await acquireGpu();
  console.log(`adapter: ${gpu.adapterKind} (${gpu.description}); gc ${gc ? 'exposed' : 'NOT exposed (run with --expose-gc)'}; ${count} steppers\n`);
  console.log('| moment | RSS (MB) | JS heap (MB) | external (MB) |');
  console.log('|---|---:|---:|---:|');
  const warm = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'gpu' });
  await warm.run({ q0, p0, steps: 10 });
  warm.dispose();
  const start = await sample('after one stepper (device, summary kernel)', true);
  await specialisedSteppers(count, 0);
  const specialised = await sample(`after ${count} specialised steppers (cache: ${pipelineCacheStats(gpu).pipelines} pipelines)`);
  const collected = await sample('  … and a forced GC', true);
  await specialisedSteppers(count, 1);
  const again = await sample(`  … and ${count} more (other values), GC`, true);
  await releaseGpu();
  const released = await sample('  … and releaseGpu()', true);
  await acquireGpu();
  await specialisedSteppers(count, 2);
  const fresh = await sample(`  … and ${count} more on a fresh device, GC`, true);
  await releaseGpu();
  const gpu2 = await acquireGpu();
  const sweep = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'gpu' });
  const before = await sample('fresh device, one stepper', true);
  for (let k = 0; k < count; k++) await sweep.run({ q0, p0, steps: 10, params: { lam: [0.5 + k / count] } });
  const swept = await sample(`after ${count} runs with params: { lam } (${pipelineCacheStats(gpu2).compiled} compiled)`, true);
  sweep.dispose();
  await releaseGpu();
  const kb = (a: number, b: number) => `${((a - b) / count / 1024).toFixed(0)} kB`;
  console.log(`\nper specialised stepper: ${kb(specialised, start)} (${kb(collected, start)} after GC); the next ${count}: ${kb(again, collected)} each; after releaseGpu ${kb(released, again)} each; ${count} on a fresh device: ${kb(fresh, released)} each; per sweep value: ${kb(swept, before)}`);
}

await main();
