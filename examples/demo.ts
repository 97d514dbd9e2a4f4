/**
 * darboux demo: integrates each model with every applicable method for 10⁵ steps (f64 CPU backend) and prints
 * the maximum relative energy error, whether it stays bounded (max over the second half ≤ 1.5× the first),
 * the maximum symplecticity defect ‖JᵀΩJ − Ω‖ of the exact one-step Jacobian over sample points of the
 * trajectory, and the wall time. Then, when a WebGPU adapter exists, runs a batch on the GPU (f32 WGSL) and
 * compares it with the CPU. Exits non-zero if a check fails.
 *
 * Run: npm run demo
 */
import {
  compile, coupledOscillator, DarbouxError, doublePendulum, doubleWell, harmonicOscillator, henonHeiles, kepler, methodNames, pendulum,
  symplecticDefect, gpuAvailable, gpuInfo, releaseGpu, type Model,
} from '../src/index.js';

const STEPS = 100_000;
const RECORD = 10;
const failures: string[] = [];

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '─'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
}

async function cpuRow(model: Model, method: string): Promise<string[] | null> {
  const h = model.hamiltonian;
  let st;
  try {
    st = await compile(h, { method, dt: model.dt, backend: 'cpu' });
  } catch (e) {
    if (e instanceof DarbouxError && e.code === 'NOT_SEPARABLE') return null; // explicit splitting needs T(p) + V(q)
    throw e;
  }
  const start = performance.now();
  const res = await st.run({ q0: model.q0, p0: model.p0, steps: STEPS, record: RECORD });
  const seconds = (performance.now() - start) / 1000;
  const e0 = h.energy(model.q0, model.p0);
  const rec = res.record!;
  let first = 0, second = 0, defect = 0;
  for (let k = 0; k < rec.count; k++) {
    const q = rec.q.subarray(k * h.dof, (k + 1) * h.dof), p = rec.p.subarray(k * h.dof, (k + 1) * h.dof);
    const err = Math.abs(h.energy(q, p) - e0) / Math.abs(e0);
    if (k < rec.count / 2) first = Math.max(first, err);
    else second = Math.max(second, err);
    if (k % Math.floor(rec.count / 10) === 0) defect = Math.max(defect, symplecticDefect(st.jacobian(q, p)));
  }
  st.dispose();
  // Bounded: no growth between the halves, or already at rounding level (midpoint conserves quadratic H exactly).
  const bounded = second <= 1.5 * first || Math.max(first, second) < 1e-12;
  const symplectic = method !== 'rk4';
  // Symplectic steps: exactly symplectic Jacobian, bounded energy error. The control must visibly fail.
  const ok = symplectic ? defect < 1e-12 && bounded : defect > 1e-10;
  if (!ok) failures.push(`${model.name} × ${method}`);
  const iterations = res.stats ? res.stats.iterations.mean.toFixed(1) : '';
  return [
    model.name, method, String(model.dt), String(STEPS), Math.max(first, second).toExponential(2), bounded ? 'yes' : 'no',
    defect.toExponential(2), iterations, `${(seconds * 1000).toFixed(0)} ms`,
    (ok ? 'ok' : 'FAILED') + (symplectic ? '' : ' (non-symplectic control)'),
  ];
}

console.log('darboux demo\n');
console.log(`## CPU backend (f64 JavaScript), ${STEPS} steps per run\n`);
const models = [harmonicOscillator(), pendulum(), kepler({ eccentricity: 0.6 }), henonHeiles(), doubleWell(), coupledOscillator(), doublePendulum()];
const rows: string[][] = [];
for (const model of models) {
  for (const method of methodNames()) {
    const row = await cpuRow(model, method);
    if (row) rows.push(row);
  }
}
printTable(['model', 'method', 'dt', 'steps', 'max |H−H₀|/|H₀|', 'bounded', 'max ‖JᵀΩJ−Ω‖', 'iter/step', 'wall time', 'check'], rows);

console.log('\n## GPU backend (f32 WGSL through WebGPU)\n');
if (!(await gpuAvailable())) {
  console.log('No WebGPU adapter found: the GPU section is skipped and everything above ran on the CPU backend.');
  console.log('(A software adapter: apt-get install libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri)');
} else {
  const info = await gpuInfo();
  console.log(`adapter: ${info.adapter} (${info.description}), feature level ${info.featureLevel}\n`);
  const gpuRows: string[][] = [];
  const batch = 4096, steps = 1000;
  for (const model of models) {
    const method = model.hamiltonian.isSeparable ? 'leapfrog' : 'midpoint';
    const n = model.hamiltonian.dof;
    const q0 = new Float64Array(batch * n), p0 = new Float64Array(batch * n);
    for (let b = 0; b < batch; b++) {
      for (let i = 0; i < n; i++) {
        q0[b * n + i] = model.q0[i]! * (1 + 0.05 * Math.sin(b + i));
        p0[b * n + i] = model.p0[i]! + 0.01 * Math.cos(b - i);
      }
    }
    const gpu = await compile(model.hamiltonian, { method, dt: model.dt, backend: 'gpu' });
    const cpu = await compile(model.hamiltonian, { method, dt: model.dt, backend: 'cpu' });
    await gpu.run({ q0: q0.subarray(0, n), p0: p0.subarray(0, n), steps: 1 }); // warm-up: pipeline compile
    let t = performance.now();
    const a = await gpu.run({ q0, p0, steps, batch });
    const gpuSeconds = (performance.now() - t) / 1000;
    t = performance.now();
    const b = await cpu.run({ q0, p0, steps, batch });
    const cpuSeconds = (performance.now() - t) / 1000;
    let diff = 0, scale = 0;
    for (let i = 0; i < a.q.length; i++) {
      diff = Math.max(diff, Math.abs(a.q[i]! - b.q[i]!), Math.abs(a.p[i]! - b.p[i]!));
      scale = Math.max(scale, Math.abs(b.q[i]!), Math.abs(b.p[i]!));
    }
    const rel = diff / scale;
    const ok = rel < 1e-3;
    if (!ok) failures.push(`${model.name} × ${method} (gpu vs cpu)`);
    gpuRows.push([
      model.name, method, String(batch), String(steps), rel.toExponential(2),
      `${((batch * steps) / gpuSeconds / 1e6).toFixed(1)} M/s`, `${((batch * steps) / cpuSeconds / 1e6).toFixed(1)} M/s`, ok ? 'ok' : 'FAILED',
    ]);
    gpu.dispose();
    cpu.dispose();
  }
  printTable(['model', 'method', 'batch', 'steps', 'max |gpu−cpu|/scale', 'gpu traj·steps/s', 'cpu traj·steps/s', 'check'], gpuRows);
  await releaseGpu();
}

// A neural Hamiltonian end to end: learn the pendulum from noisy samples (Greydanus-style derivative loss), then
// integrate the learned H symplectically, check its exact Jacobian, and differentiate 200 implicit steps by the
// discrete adjoint (constant memory) against plain backpropagation.
{
  console.log('\n## A neural Hamiltonian: learn, integrate, differentiate (CPU, f64)\n');
  const { dataset, fit, hnn } = await import('../src/index.js');
  const truth = pendulum().hamiltonian;
  const data = await dataset.fromHamiltonian(truth, { trajectories: 20, tSpan: [0, 3], samplesPerUnitTime: 10, noise: 0.05, seed: 1, radius: [0.5, 1.5] });
  const model = hnn({ dof: 1, hidden: [32], activation: 'tanh', seed: 0 });
  const res = await fit(model, data, { loss: 'derivative', steps: 400, lr: 3e-3, batchSize: 128, seed: 0 });
  const learned = res.hamiltonian!;
  const st = await compile(learned, { method: 'midpoint', dt: 0.05, backend: 'cpu' });
  const run = await st.run({ q0: [1], p0: [0], steps: 2000, record: 1 });
  let drift = 0;
  const e0 = learned.energy([1], [0]);
  for (let k = 0; k < run.record!.count; k++) drift = Math.max(drift, Math.abs(learned.energy([run.record!.q[k]!], [run.record!.p[k]!]) - e0));
  const defect = symplecticDefect(st.jacobian([0.4], [0.2]));
  const args = { q0: [1, 0.5], p0: [0, 0.3], steps: 200, batch: 2, dq: [1, 0], dp: [0, 1] };
  const reverse = await st.vjp({ ...args, memory: 'reverse' }), store = await st.vjp({ ...args, memory: 'store' });
  let gradDiff = 0, gradScale = 0;
  for (const [name, v] of Object.entries(reverse.dparams)) {
    const a = typeof v === 'number' ? [v] : Array.from(v), other = store.dparams[name]!, b = typeof other === 'number' ? [other] : Array.from(other);
    a.forEach((x, i) => { gradDiff = Math.max(gradDiff, Math.abs(x - b[i]!)); gradScale = Math.max(gradScale, Math.abs(b[i]!)); });
  }
  const ok = res.history.at(-1)! < res.history[0]! / 5 && defect < 1e-12 && gradDiff / gradScale < 1e-10;
  if (!ok) failures.push('neural Hamiltonian');
  console.log(`derivative loss ${res.history[0]!.toExponential(2)} → ${res.history.at(-1)!.toExponential(2)} (400 Adam steps, ${res.samplesPerSecond.toFixed(0)} samples/s)`);
  console.log(`learned H integrated by midpoint, 2000 steps: max |H − H₀| = ${drift.toExponential(2)}; ‖JᵀΩJ − Ω‖ = ${defect.toExponential(1)}`);
  console.log(`st.vjp over 200 midpoint steps: 'reverse' (${reverse.memory.stateBytes} B of states) vs 'store' (${store.memory.stateBytes} B): max |Δ| / max |g| = ${(gradDiff / gradScale).toExponential(1)}  ${ok ? 'ok' : 'FAILED'}`);
  st.dispose();
}

if (failures.length > 0) {
  console.error(`\n${failures.length} check(s) failed: ${failures.join(', ')}`);
  process.exit(1);
}
console.log('\nall checks passed');
