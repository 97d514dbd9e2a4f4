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

/** The best of 3 wall times (bestSeconds) and the best of 3 process CPU times (user + system) of `f`, in seconds. */
async function bestTimes(f: () => Promise<unknown>): Promise<{ wall: number; cpu: number }> {
  const wall = await bestSeconds(f);
  let cpu = Infinity;
  for (let r = 0; r < 3; r++) {
    const start = process.cpuUsage();
    await f();
    const used = process.cpuUsage(start);
    cpu = Math.min(cpu, (used.user + used.system) / 1e6);
  }
  return { wall, cpu };
}

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 && at + 1 < args.length ? args[at + 1]! : fallback;
};
const batch = Number(option('batch', '256'));
const steps = Number(option('steps', '4000'));
const backends = option('backends', (await gpuAvailable()) ? 'cpu,gpu' : 'cpu').split(',') as ('cpu' | 'gpu')[];
const methods = option('methods', 'leapfrog,rk4,gauss4,midpoint').split(',');

const cases: { model: Model; method: string; dt: number; backends: readonly string[]; steps: number }[] = [
  { model: henonHeiles(), method: 'leapfrog', dt: 0.05, backends, steps },
  { model: doublePendulum(), method: 'rk4', dt: 0.005, backends, steps },
  { model: doublePendulum(), method: 'gauss4', dt: 0.01, backends, steps },
  { model: henonHeiles(), method: 'midpoint', dt: 0.05, backends, steps },
].filter((c) => methods.includes(c.method));

console.log(`## Lyapunov tangents vs a plain run (batch ${batch}, renormalizeEvery 10; best of 3; wall, and CPU time in brackets)\n`);
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
    const tRun = await bestTimes(run);
    const tOne = await bestTimes(lyapunov(1));
    const tAll = await bestTimes(lyapunov(2 * dof));
    const ms = (t: { wall: number; cpu: number }) => `${(t.wall * 1000).toFixed(1)} ms (${(t.cpu * 1000).toFixed(1)})`;
    const ratio = (t: { wall: number; cpu: number }) => `${(t.wall / tRun.wall).toFixed(2)} (${(t.cpu / tRun.cpu).toFixed(2)})`;
    const gap = await longestTimerGap(lyapunov(2 * dof));
    console.log(`| ${model.name} | ${method} | ${backend} | ${n} | ${ms(tRun)} | ${ms(tOne)} | ${ratio(tOne)} | ${ms(tAll)} | ${ratio(tAll)} | ${gap.toFixed(0)} ms |`);
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
