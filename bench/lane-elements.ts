/**
 * The CPU cost of one IR element per trajectory·step (`stepElements`) of the JS runner and of the WebAssembly
 * SIMD lane runner, on one thread, 1 024 trajectories: what `estimatedMs` (trajectory-threads.ts) assumes for each
 * runner kind when it decides whether trajectory threads pay. Medians of CPU time (process.cpuUsage), interleaved.
 * Run: npx tsx bench/lane-elements.ts [--repeats 7]
 */
import { loadavg } from 'node:os';
import { compile, doublePendulum, henonHeiles, type Stepper } from '../src/index.js';
import { stepProgram } from '../src/integrators/methods.js';
import { specializeParameters } from '../src/integrators/specialize.js';
import { stepElements } from '../src/backends/cpu/trajectory-threads.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** CPU ms of one call of `f`. @example await cpuMs(() => st.run(o)) */
async function cpuMs(f: () => Promise<unknown>): Promise<number> {
  const before = process.cpuUsage();
  await f();
  const d = process.cpuUsage(before);
  return (d.user + d.system) / 1000;
}

/**
 * Prints, per workload and runner kind, the median CPU ms of a one-thread run and the ns per element.
 *
 * @example
 * await laneElementsBench(7);
 */
export async function laneElementsBench(repeats = 7): Promise<void> {
  const batch = 1024;
  console.log(`\n## CPU ns per IR element·trajectory·step, JS vs lane runner (1 thread, ${batch} trajectories, medians of ${repeats})\n`);
  console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const cases = [
    { name: 'Hénon–Heiles leapfrog', h: henonHeiles().hamiltonian, method: 'leapfrog', dt: 0.01, steps: 4000, q: [0.1, -0.1], p: [0.2, 0.1] },
    { name: 'Hénon–Heiles rk4', h: henonHeiles().hamiltonian, method: 'rk4', dt: 0.01, steps: 1000, q: [0.1, -0.1], p: [0.2, 0.1] },
    { name: 'double pendulum gauss4', h: doublePendulum().hamiltonian, method: 'gauss4', dt: 0.01, steps: 100, q: [1, 0.5], p: [0, 0] },
  ];
  for (const c of cases) {
    const q0 = new Float64Array(2 * batch), p0 = new Float64Array(2 * batch);
    for (let b = 0; b < batch; b++) { q0[2 * b] = c.q[0]! + 1e-4 * b; q0[2 * b + 1] = c.q[1]!; p0[2 * b] = c.p[0]!; p0[2 * b + 1] = c.p[1]!; }
    const elements = stepElements(specializeParameters(stepProgram(c.h, c.method)));
    const steppers: Record<string, Stepper> = {
      js: await compile(c.h, { method: c.method, dt: c.dt, backend: 'cpu', threads: 1, cpuRunner: 'js' }),
      auto: await compile(c.h, { method: c.method, dt: c.dt, backend: 'cpu', threads: 1 }),
    };
    const times: Record<string, number[]> = { js: [], auto: [] };
    for (const st of Object.values(steppers)) await st.run({ q0, p0, batch, steps: c.steps }); // warm up
    for (let r = 0; r < repeats; r++) for (const [k, st] of Object.entries(steppers)) times[k]!.push(await cpuMs(() => st.run({ q0, p0, batch, steps: c.steps })));
    for (const [k, st] of Object.entries(steppers)) {
      const ms = median(times[k]!);
      const kind = (st as Stepper & { cpuRunner?: { kind: string; lanes: number } }).cpuRunner;
      console.log(`${c.name} (${elements} elements), ${k} → ${kind?.kind} ×${kind?.lanes}: ${ms.toFixed(1)} ms, ${((ms * 1e6) / (batch * c.steps * elements)).toFixed(3)} ns/element`);
      st.dispose();
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const at = process.argv.indexOf('--repeats');
  await laneElementsBench(at > 0 ? Number(process.argv[at + 1]) : 7);
}
