/**
 * Benchmark (not a test): the cost of Lyapunov tangents per step against a plain `run` of the same batch and
 * steps, on the CPU (f64) and the GPU (f32, when an adapter exists), for Hénon–Heiles (leapfrog) and the double
 * pendulum (rk4, explicit; gauss4, implicit, CPU only), with 1 and 2·dof tangent vectors, renormalised every 10
 * steps. Times are the best of 3 after a warm-up; the ratio is lyapunov time / run time; the last column is the
 * longest gap between ticks of a 1 ms timer during the 2·dof run (the event loop's longest block).
 *
 * Run: npx tsx bench/lyapunov.ts [--batch 256] [--steps 4000] [--backends cpu,gpu]
 */
import { compile, doublePendulum, gpuAvailable, henonHeiles, type Model } from '../src/index.js';
import { releaseGpu } from '../src/runtime/index.js';
import { bestSeconds } from './timing.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 && at + 1 < args.length ? args[at + 1]! : fallback;
};
const batch = Number(option('batch', '256'));
const steps = Number(option('steps', '4000'));
const backends = option('backends', (await gpuAvailable()) ? 'cpu,gpu' : 'cpu').split(',') as ('cpu' | 'gpu')[];

const cases: { model: Model; method: string; dt: number; backends: readonly string[]; steps: number }[] = [
  { model: henonHeiles(), method: 'leapfrog', dt: 0.05, backends, steps },
  { model: doublePendulum(), method: 'rk4', dt: 0.005, backends, steps },
  { model: doublePendulum(), method: 'gauss4', dt: 0.01, backends: ['cpu'], steps: Math.max(1, Math.floor(steps / 20)) },
];

console.log(`## Lyapunov tangents vs a plain run (batch ${batch}, renormalizeEvery 10; best of 3)\n`);
console.log('| system | method | backend | steps | run | lyapunov count 1 | ratio | lyapunov count 2·dof | ratio | longest timer gap |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const { model, method, dt, backends: on, steps: n } of cases) {
  const h = model.hamiltonian;
  const dof = h.dof;
  const q0 = new Float64Array(batch * dof), p0 = new Float64Array(batch * dof);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < dof; i++) {
      q0[b * dof + i] = model.q0[i]! * (1 + 0.2 * (b / batch)) * (h.dof === 2 && model.name === 'henon-heiles' ? 1 : 0.5);
      p0[b * dof + i] = model.p0[i]!;
    }
  }
  for (const backend of on) {
    const st = await compile(h, { method, dt, backend: backend as 'cpu' | 'gpu' });
    const run = () => st.run({ q0, p0, batch, steps: n });
    const lyapunov = (count: number) => () => st.lyapunov({ q0, p0, batch, steps: n, count, renormalizeEvery: 10 });
    await run();
    await lyapunov(1)();
    await lyapunov(2 * dof)();
    const tRun = await bestSeconds(run);
    const tOne = await bestSeconds(lyapunov(1));
    const tAll = await bestSeconds(lyapunov(2 * dof));
    const ms = (t: number) => `${(t * 1000).toFixed(1)} ms`;
    const gap = await longestTimerGap(lyapunov(2 * dof));
    console.log(`| ${model.name} | ${method} | ${backend} | ${n} | ${ms(tRun)} | ${ms(tOne)} | ${(tOne / tRun).toFixed(2)} | ${ms(tAll)} | ${(tAll / tRun).toFixed(2)} | ${gap.toFixed(0)} ms |`);
    st.dispose();
  }
}
await releaseGpu();

/** The longest gap between ticks of a 1 ms timer while `f` runs (the event loop's longest block), in ms. */
async function longestTimerGap(f: () => Promise<unknown>): Promise<number> {
  let last = performance.now(), longest = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 1);
  await f();
  clearInterval(timer);
  return Math.max(longest, performance.now() - last);
}
