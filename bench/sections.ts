/**
 * Benchmark (not a test): the cost of Poincaré sections and saved steps per step, against a plain run of the same
 * batch, on the CPU (f64) and the GPU (f32, when an adapter is there), for Hénon–Heiles (section y = 0 upward, about
 * one crossing per 7 time units) and the double pendulum (section θ₁ = 0). Each line gives the best of 3 runs and the
 * ratio to the plain run measured in the same process.
 * Run: npx tsx bench/sections.ts [--batch 1024] [--steps 4000] [--no-gpu]
 */
import { compile, doublePendulum, henonHeiles, type Stepper } from '../src/index.js';
import { releaseGpu } from '../src/runtime/index.js';
import { bestSeconds } from './timing.js';

const arg = (name: string, fallback: number) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const batch = arg('--batch', 1024), steps = arg('--steps', 4000);
const models = [
  { model: henonHeiles(), expr: 'y', dt: 0.05, methods: ['leapfrog', 'yoshida4'], state: (b: number) => [[0.1 + 1e-4 * b, 0], [0.05, 0.45]] },
  // Not separable: an explicit non-symplectic method (GPU sections need an explicit one).
  { model: doublePendulum(), expr: 'theta1', dt: 0.01, methods: ['rk4'], state: (b: number) => [[0.5 + 1e-4 * b, 0.3], [0, 0]] },
];

console.log(`## Sections and saveAt vs a plain run: batch ${batch}, ${steps} steps, best of 3\n`);
console.log('model            backend  method     plain (ns/step/traj)   section          saveAt (10 steps)');
for (const backend of ['cpu', 'gpu'] as const) {
  if (backend === 'gpu' && process.argv.includes('--no-gpu')) continue;
  for (const { model, expr, dt, methods, state } of models) {
    const h = model.hamiltonian;
    const n = h.dof;
    const q0 = new Float64Array(batch * n), p0 = new Float64Array(batch * n);
    for (let b = 0; b < batch; b++) {
      const [q, p] = state(b);
      q0.set(q!, b * n);
      p0.set(p!, b * n);
    }
    const section = { expr, direction: 1 as const, max: Math.ceil(steps / 50) };
    const saveAtSteps = Array.from({ length: 10 }, (_, k) => Math.round(((k + 1) * steps) / 10));
    for (const method of methods) {
      let st: Stepper;
      try {
        st = await compile(h, { method, dt, backend });
      } catch (e) {
        console.log(`${backend} ${method}: not available (${(e as Error).message.split('\n')[0]})`);
        continue;
      }
      const base = { q0, p0, batch, steps };
      await st.run({ ...base, steps: 10, section, saveAtSteps: [5] }); // compile the section kernels first
      const plain = await bestSeconds(() => st.run(base));
      const withSection = await bestSeconds(() => st.run({ ...base, section }));
      const withSaves = await bestSeconds(() => st.run({ ...base, saveAtSteps }));
      const crossings = (await st.run({ ...base, section })).section!.count.reduce((s, c) => s + c, 0);
      const ns = (s: number) => ((s * 1e9) / (batch * steps)).toFixed(1);
      console.log(
        `${model.name.padEnd(16)} ${backend.padEnd(8)} ${method.padEnd(10)} ${ns(plain).padStart(8)}               ${ns(withSection).padStart(6)} (×${(withSection / plain).toFixed(2)})   ${ns(withSaves).padStart(6)} (×${(withSaves / plain).toFixed(2)})   ${(crossings / batch).toFixed(1)} crossings/traj`,
      );
      st.dispose();
    }
  }
}
releaseGpu();
