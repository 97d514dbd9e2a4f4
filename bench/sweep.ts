/**
 * Parameter sweeps (not a test): a Hénon–Heiles λ sweep of 4 096 values × 1 000 steps as ONE run with
 * per-trajectory parameters (`run({ params: { lam } })`: one kernel, compiled once) against the loop that
 * compiles a stepper per value (`h.withParams({ lam })`, one trajectory each). The loop is timed for a few
 * values and extrapolated to 4 096 (printed as such). GPU when an adapter exists (here often Mesa llvmpipe, a
 * CPU rasteriser), and the f64 CPU backend.
 * Run: npm run bench:sweep   (SWEEP_VALUES, SWEEP_STEPS, SWEEP_LOOP override the sizes)
 */
import { cpus, loadavg } from 'node:os';
import { compile, gpuAvailable, henonHeiles } from '../src/index.js';
import { acquireGpu, pipelineCacheStats, releaseGpu } from '../src/runtime/index.js';
import { bestSeconds } from './timing.js';

const values = Number(process.env.SWEEP_VALUES ?? 4096);
const steps = Number(process.env.SWEEP_STEPS ?? 1000);
const loopValues = Number(process.env.SWEEP_LOOP ?? 4);
const dt = 0.05;
const h = henonHeiles().hamiltonian;
const q0 = new Float64Array(2 * values), p0 = new Float64Array(2 * values);
const lam = Float64Array.from({ length: values }, (_, b) => 0.5 + b / values);
for (let b = 0; b < values; b++) {
  q0[2 * b] = 0.1; q0[2 * b + 1] = -0.05; p0[2 * b] = 0.2; p0[2 * b + 1] = 0.1;
}

console.log(`## λ sweep: ${values} values × ${steps} steps, Hénon–Heiles leapfrog, dt = ${dt}`);
console.log(`load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} on ${cpus().length} cores\n`);

async function bench(backend: 'cpu' | 'gpu'): Promise<void> {
  const compileStart = performance.now();
  const st = await compile(h, { method: 'leapfrog', dt, backend });
  const compileSeconds = (performance.now() - compileStart) / 1000;
  const gpu = backend === 'gpu' ? await acquireGpu() : null;
  const compiledBefore = gpu ? pipelineCacheStats(gpu).compiled : 0;
  const firstStart = performance.now();
  await st.run({ q0, p0, steps, batch: values, params: { lam } }); // first sweep: compiles the sweep kernel
  const first = (performance.now() - firstStart) / 1000;
  const compiledBySweep = gpu ? pipelineCacheStats(gpu).compiled - compiledBefore : 0;
  const sweep = await bestSeconds(() => st.run({ q0, p0, steps, batch: values, params: { lam } }), 5);
  const plain = await bestSeconds(() => st.run({ q0, p0, steps, batch: values }), 5);
  // The loop a user writes today: a stepper per value (parameters are compiled in), one trajectory each.
  const loopStart = performance.now();
  for (let b = 0; b < loopValues; b++) {
    const one = await compile(h.withParams({ lam: lam[b]! + 1e-7 * Math.random() }), { method: 'leapfrog', dt, backend });
    await one.run({ q0: q0.subarray(2 * b, 2 * b + 2), p0: p0.subarray(2 * b, 2 * b + 2), steps });
    one.dispose();
  }
  const perValue = (performance.now() - loopStart) / 1000 / loopValues;
  const label = gpu ? `GPU (${gpu.adapterKind}: ${gpu.description})` : 'CPU f64';
  console.log(`### ${label}`);
  console.log(`compile() ${compileSeconds.toFixed(3)} s; first sweep run ${first.toFixed(3)} s (includes the sweep kernel's compile${gpu ? `, ${compiledBySweep} pipeline(s)` : ''})`);
  console.log(`sweep, one run:                 ${sweep.toFixed(3)} s  (${((values * steps) / sweep / 1e6).toFixed(1)} M trajectory-steps/s)`);
  console.log(`same batch, no params (λ inlined): ${plain.toFixed(3)} s  (sweep / plain = ${(sweep / plain).toFixed(2)})`);
  console.log(`recompile per value: ${perValue.toFixed(3)} s per value (mean of ${loopValues}) → ${(perValue * values).toFixed(1)} s for ${values} values, EXTRAPOLATED`);
  console.log(`speed-up of the one-run sweep over the loop: ${((perValue * values) / sweep).toFixed(0)}×\n`);
  st.dispose();
}

await bench('cpu');
if (await gpuAvailable()) {
  await bench('gpu');
  await releaseGpu();
} else console.log('(no WebGPU adapter: GPU part skipped)');
