/**
 * Benchmarks (not tests): gradient graph sizes, and generated CPU leapfrog vs a hand-written JS leapfrog;
 * training, adjoints, and compile time vs graph size (bench/compile-time.ts).
 * Run: npm run bench
 */
import { compile, doublePendulum, graphSize, henonHeiles, kepler, lennardJones } from '../src/index.js';
import { stepProgram } from '../src/internals.js';

console.log('## Gradient graph size (nodes reachable from ∂H/∂q, ∂H/∂p vs nodes of H)\n');
for (const model of [henonHeiles(), kepler(), lennardJones({ particles: 32 })]) {
  const h = model.hamiltonian;
  const { dq, dp } = h.gradientExprs();
  const hSize = graphSize([h.H]);
  const gSize = graphSize([dq, dp]);
  const step = graphSize(Object.values(stepProgram(h, 'leapfrog').next));
  console.log(`${model.name.padEnd(18)} H: ${String(hSize).padStart(6)}  gradient: ${String(gSize).padStart(6)}  ratio ${(gSize / hSize).toFixed(2)}  (leapfrog step: ${step} nodes)`);
}

console.log('\n## CPU leapfrog, Hénon–Heiles: generated vs hand-written JavaScript (f64)\n');
const model = henonHeiles();
const batch = 1024, steps = 2000, dt = 0.01;
const q0 = new Float64Array(batch * 2), p0 = new Float64Array(batch * 2);
for (let b = 0; b < batch; b++) {
  q0[2 * b] = 0.1 + 1e-4 * b; q0[2 * b + 1] = -0.1; p0[2 * b] = 0.2; p0[2 * b + 1] = 0.1;
}

/** Hand-written kick–drift–kick for H = (px²+py²)/2 + (x²+y²)/2 + x²y − y³/3. */
function handwritten(Q: Float64Array, P: Float64Array, n: number, k: number, h: number): void {
  const hh = 0.5 * h;
  for (let b = 0; b < n; b++) {
    let x = Q[2 * b]!, y = Q[2 * b + 1]!, px = P[2 * b]!, py = P[2 * b + 1]!;
    for (let s = 0; s < k; s++) {
      px -= hh * (x + 2 * x * y);
      py -= hh * (y + x * x - y * y);
      x += h * px;
      y += h * py;
      px -= hh * (x + 2 * x * y);
      py -= hh * (y + x * x - y * y);
    }
    Q[2 * b] = x; Q[2 * b + 1] = y; P[2 * b] = px; P[2 * b + 1] = py;
  }
}

const st = await compile(model.hamiltonian, { method: 'leapfrog', dt, backend: 'cpu' });
const time = async (f: () => Promise<unknown> | unknown) => {
  let best = Infinity;
  for (let r = 0; r < 7; r++) {
    const t = performance.now();
    await f();
    best = Math.min(best, performance.now() - t);
  }
  return best / 1000;
};
const tGen = await time(() => st.run({ q0, p0, steps, batch }));
const tHand = await time(() => handwritten(q0.slice(), p0.slice(), batch, steps, dt));
const rate = (t: number) => ((batch * steps) / t / 1e6).toFixed(1);
console.log(`generated:    ${(tGen * 1000).toFixed(1)} ms  (${rate(tGen)} M trajectory·steps/s)`);
console.log(`hand-written: ${(tHand * 1000).toFixed(1)} ms  (${rate(tHand)} M trajectory·steps/s)`);
console.log(`ratio generated/hand-written: ${(tGen / tHand).toFixed(2)} (goal ≤ 1.3)`);

console.log('\n## Implicit methods: cost per step relative to leapfrog (CPU f64)\n');
{
  const { parse } = await import('../src/index.js');
  // The double pendulum is not separable: leapfrog does not apply, so compare with the same H's midpoint.
  const systems = [
    { name: 'henon-heiles', h: henonHeiles().hamiltonian, dt: 0.05, base: 'leapfrog' },
    {
      name: 'double pendulum',
      h: parse({
        q: ['a', 'b'], p: ['pa', 'pb'],
        H: '(pa^2 + 2*pb^2 - 2*pa*pb*cos(a-b)) / (2*(1 + sin(a-b)^2)) - 2*9.81*cos(a) - 9.81*cos(b)',
      }),
      dt: 0.005,
      base: 'midpoint',
    },
  ];
  for (const sys of systems) {
    const n = sys.h.dof, B = 256, S = 2000;
    const q0 = new Float64Array(B * n).map((_, i) => 0.1 + 0.0002 * i), p0 = new Float64Array(B * n).fill(0.05);
    const timeMethod = async (method: string) => {
      const st = await compile(sys.h, { method, dt: sys.dt, backend: 'cpu' });
      const secs = await time(() => st.run({ q0, p0, steps: S, batch: B }));
      const res = await st.run({ q0, p0, steps: S, batch: B });
      return { secs, iterations: res.stats?.iterations.mean };
    };
    const base = await timeMethod(sys.base);
    const cells = [`${sys.name} (relative to ${sys.base}, ${(1e9 * base.secs / (B * S)).toFixed(0)} ns/step)`];
    for (const method of ['midpoint', 'gauss4', 'gauss6']) {
      const r = await timeMethod(method);
      cells.push(`${method} ${(r.secs / base.secs).toFixed(2)}× (${r.iterations?.toFixed(1)} it/step)`);
    }
    console.log(cells.join('  '));
  }
}

console.log('\n## GPU: generated kernel vs hand-written WGSL, Hénon–Heiles leapfrog (same adapter, f32)\n');
{
  const { gpuAvailable, acquireGpu, releaseGpu } = await import('../src/runtime/index.js');
  const { runHandwrittenHenonHeiles, henonHeilesInitial } = await import('./handwritten-henon-heiles.js');
  if (!(await gpuAvailable())) {
    console.log('no WebGPU adapter: skipped');
  } else {
    const gpu = await acquireGpu();
    console.log(`adapter: ${gpu.adapterKind} (${gpu.description})`);
    const B = 65536, S = 1000, h = 0.01;
    const init = henonHeilesInitial(B);
    const generated = await compile(henonHeiles().hamiltonian, { method: 'leapfrog', dt: h, backend: 'gpu' });
    await generated.run({ q0: init.q0.subarray(0, 2), p0: init.p0.subarray(0, 2), steps: 1 });
    await runHandwrittenHenonHeiles(gpu, { batch: 64, steps: 1, dt: h });
    let tGen = Infinity, tHand = Infinity;
    for (let r = 0; r < 3; r++) {
      const t = performance.now();
      await generated.run({ q0: init.q0, p0: init.p0, steps: S, batch: B });
      tGen = Math.min(tGen, (performance.now() - t) / 1000);
      tHand = Math.min(tHand, (await runHandwrittenHenonHeiles(gpu, { batch: B, steps: S, dt: h })).seconds);
    }
    const rate = (t: number) => ((B * S) / t / 1e9).toFixed(2);
    console.log(`generated:    ${(tGen * 1000).toFixed(0)} ms  (${rate(tGen)} G trajectory·steps/s, includes upload/readback)`);
    console.log(`hand-written: ${(tHand * 1000).toFixed(0)} ms  (${rate(tHand)} G trajectory·steps/s)`);
    console.log(`ratio generated/hand-written: ${(tGen / tHand).toFixed(2)}`);
    // Kernel time alone: the difference between S steps and 1 step (same upload, readback and host work).
    let oGen = Infinity, oHand = Infinity;
    for (let r = 0; r < 3; r++) {
      const t = performance.now();
      await generated.run({ q0: init.q0, p0: init.p0, steps: 1, batch: B });
      oGen = Math.min(oGen, (performance.now() - t) / 1000);
      oHand = Math.min(oHand, (await runHandwrittenHenonHeiles(gpu, { batch: B, steps: 1, dt: h })).seconds);
    }
    console.log(`kernel only (S steps − 1 step): generated ${((tGen - oGen) * 1000).toFixed(0)} ms, hand-written ${((tHand - oHand) * 1000).toFixed(0)} ms, ratio ${((tGen - oGen) / (tHand - oHand)).toFixed(2)}; host overhead per run ${(oGen * 1000).toFixed(0)} vs ${(oHand * 1000).toFixed(0)} ms`);
    generated.dispose();
    await releaseGpu();
  }
}

console.log('\n## Accuracy per cost: Kepler e = 0.3, error at T = 10 vs wall time (CPU f64, batch 64)\n');
{
  const { kepler: keplerModel, methodNames } = await import('../src/index.js');
  const m = keplerModel({ eccentricity: 0.3 });
  const T = 10, B = 64;
  const q0 = new Float64Array(B * 2), p0 = new Float64Array(B * 2);
  for (let b = 0; b < B; b++) { q0.set(m.q0, 2 * b); p0.set(m.p0, 2 * b); }
  const ref = await (await compile(m.hamiltonian, { method: 'gauss6', dt: 1 / 1000, backend: 'cpu' })).run({ q0: m.q0, p0: m.p0, steps: T * 1000 });
  const rows: string[] = [];
  for (const method of methodNames()) {
    const cells: string[] = [];
    for (const dt of [0.04, 0.02, 0.01]) {
      const st = await compile(m.hamiltonian, { method, dt, backend: 'cpu' });
      const steps = Math.round(T / dt);
      const secs = await time(() => st.run({ q0, p0, steps, batch: B }));
      const r = await st.run({ q0: m.q0, p0: m.p0, steps });
      const err = Math.hypot(r.q[0]! - ref.q[0]!, r.q[1]! - ref.q[1]!, r.p[0]! - ref.p[0]!, r.p[1]! - ref.p[1]!);
      cells.push(`dt ${dt}: ${err.toExponential(1)} in ${(secs * 1000).toFixed(1)} ms`);
    }
    rows.push(`${method.padEnd(17)} ${cells.join('   ')}`);
  }
  console.log(rows.join('\n'));
}

console.log('\n## GPU: implicit methods, cost per step relative to leapfrog (Hénon–Heiles, batch 16384 × 200 steps)\n');
{
  const { gpuAvailable, releaseGpu } = await import('../src/runtime/index.js');
  if (await gpuAvailable()) {
    const h = henonHeiles().hamiltonian;
    const B = 16384, S = 200;
    const q0 = new Float64Array(B * 2).map((_, i) => 0.1 + 1e-6 * i), p0 = new Float64Array(B * 2).fill(0.05);
    const cost: Record<string, number> = {};
    for (const method of ['leapfrog', 'midpoint', 'gauss4', 'gauss6']) {
      const t0 = performance.now();
      const st = await compile(h, { method, dt: 0.05, backend: 'gpu' });
      const compileMs = performance.now() - t0;
      await st.run({ q0: q0.subarray(0, 2), p0: p0.subarray(0, 2), steps: 1 });
      cost[method] = await time(() => st.run({ q0, p0, steps: S, batch: B }));
      const res = await st.run({ q0, p0, steps: S, batch: B });
      console.log(`${method.padEnd(9)} ${(cost[method]! * 1000).toFixed(0)} ms  ${(cost[method]! / cost.leapfrog!).toFixed(2)}× leapfrog  ${res.stats ? `${res.stats.iterations.mean.toFixed(1)} it/step` : ''}  (compile + first pipeline ${compileMs.toFixed(0)} ms)`);
      st.dispose();
    }
    // The double pendulum is not separable: costs relative to midpoint.
    const dp = doublePendulum();
    const D = 4096;
    const dq0 = new Float64Array(D * 2).map((_, i) => dp.q0[i % 2]! + 1e-6 * i), dp0 = new Float64Array(D * 2).map((_, i) => dp.p0[i % 2]!);
    console.log(`\ndouble pendulum (batch ${D} × ${S} steps, relative to midpoint):`);
    for (const method of ['midpoint', 'gauss4', 'gauss6']) {
      const st = await compile(dp.hamiltonian, { method, dt: 0.01, backend: 'gpu' });
      await st.run({ q0: dq0.subarray(0, 2), p0: dp0.subarray(0, 2), steps: 1 });
      cost[`dp-${method}`] = await time(() => st.run({ q0: dq0, p0: dp0, steps: S, batch: D }));
      const res = await st.run({ q0: dq0, p0: dp0, steps: S, batch: D });
      console.log(`${method.padEnd(9)} ${(cost[`dp-${method}`]! * 1000).toFixed(0)} ms  ${(cost[`dp-${method}`]! / cost['dp-midpoint']!).toFixed(2)}× midpoint  ${res.stats!.iterations.mean.toFixed(1)} it/step`);
      st.dispose();
    }
    await releaseGpu();
  } else console.log('no WebGPU adapter: skipped');
}

{
  const { trainingBench } = await import('./train.js');
  await trainingBench();
}
await (await import('./adjoint.js')).adjointBench();
// Compile time vs graph size (also alone: npx tsx bench/compile-time.ts --max 10000 --runs 3).
await (await import('./compile-time.js')).compileTimeBench();
// CPU trajectory threads: 1 vs 2 worker threads, with CPU time per thread (also alone: npx tsx bench/cpu-threads.ts).
await (await import('./cpu-threads.js')).cpuThreadsBench();
