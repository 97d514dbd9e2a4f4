/**
 * Trajectory threads of the CPU backend (src/backends/cpu/trajectory-threads.ts): 1 024-trajectory runs on one
 * thread and on two (`threads: 1` vs `threads: 2`), medians of interleaved repeats, the results compared bit for
 * bit. On a shared machine wall times say little, so each run also reads every thread's CPU time (Linux
 * /proc/self/task/<tid>/schedstat, ns): the two-thread time a quiet two-core machine would give is the longest
 * thread's CPU time of the threaded run (the workers run at once), and its ratio to the one-thread run's CPU time
 * is the speedup there. Also: npx tsx bench/cpu-threads.ts [--repeats 7]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { compile, doublePendulum, henonHeiles, type Stepper } from '../src/index.js';

/** CPU nanoseconds of every thread of this process, by thread id (empty where /proc is not there). @example threadCpuNs().size */
export function threadCpuNs(): Map<string, number> {
  const out = new Map<string, number>();
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      out.set(tid, Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]));
    }
  } catch {
    // not Linux: no per-thread times
  }
  return out;
}

/** What one run took: wall ms, the main thread's CPU ms, and every other thread's (largest first). */
export interface Timed { wall: number; main: number; others: number[] }

/** Times one run of `f` (wall and CPU per thread). @example const t = await timedRun(() => st.run(o)); */
export async function timedRun(f: () => Promise<unknown>): Promise<Timed> {
  const before = threadCpuNs();
  const start = performance.now();
  await f();
  const wall = performance.now() - start;
  const after = threadCpuNs();
  const main = String(process.pid);
  const delta = (tid: string, ns: number) => (ns - (before.get(tid) ?? 0)) / 1e6;
  const others = [...after].filter(([tid]) => tid !== main).map(([tid, ns]) => delta(tid, ns)).sort((a, b) => b - a);
  return { wall, main: delta(main, after.get(main) ?? 0), others };
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
export const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** Whether two runs' states are equal element by element (Object.is). */
function sameBits(a: { q: Float64Array; p: Float64Array }, b: { q: Float64Array; p: Float64Array }): boolean {
  const same = (x: Float64Array, y: Float64Array) => x.length === y.length && x.every((v, i) => Object.is(v, y[i]));
  return same(a.q, b.q) && same(a.p, b.p);
}

/** x and y one after the other. */
function joined(x: Float64Array, y: Float64Array): Float64Array {
  const out = new Float64Array(x.length + y.length);
  out.set(x);
  out.set(y, x.length);
  return out;
}

interface Workload {
  name: string;
  /** One thread, two threads, and the default (threads chosen per run from the estimate). */
  steppers: () => Promise<[Stepper, Stepper, Stepper]>;
  q0: Float64Array;
  p0: Float64Array;
  steps: number;
  /** vjp instead of run (its forward pass threaded, its backward pass on one thread). */
  vjp?: boolean;
  /** lyapunov instead of run: this many exponents, renormalised every 10 steps. */
  lyapunov?: number;
}

/** The two workloads of issue 15: Hénon–Heiles leapfrog and the gauss4 double pendulum, 1 024 trajectories each. */
function workloads(batch: number): Workload[] {
  const spread = (x: number, y: number, px: number, py: number, d: number) => {
    const q0 = new Float64Array(2 * batch), p0 = new Float64Array(2 * batch);
    for (let b = 0; b < batch; b++) { q0[2 * b] = x + d * b; q0[2 * b + 1] = y; p0[2 * b] = px; p0[2 * b + 1] = py; }
    return { q0, p0 };
  };
  const hh = henonHeiles().hamiltonian, dp = doublePendulum().hamiltonian;
  const pair = async (h: typeof hh, method: string, dt: number) =>
    [await compile(h, { method, dt, backend: 'cpu', threads: 1 }), await compile(h, { method, dt, backend: 'cpu', threads: 2 }), await compile(h, { method, dt, backend: 'cpu' })] as [Stepper, Stepper, Stepper];
  return [
    { name: 'Hénon–Heiles leapfrog, 2 000 steps', steppers: () => pair(hh, 'leapfrog', 0.01), ...spread(0.1, -0.1, 0.2, 0.1, 1e-4), steps: 2000 },
    { name: 'Hénon–Heiles leapfrog, 10 000 steps', steppers: () => pair(hh, 'leapfrog', 0.01), ...spread(0.1, -0.1, 0.2, 0.1, 1e-4), steps: 10_000 },
    { name: 'double pendulum gauss4, 200 steps', steppers: () => pair(dp, 'gauss4', 0.01), ...spread(1, 0.5, 0, 0, 1e-4), steps: 200 },
    { name: 'Hénon–Heiles leapfrog lyapunov (4 exponents, renormalised every 10 steps), 1 000 steps', steppers: () => pair(hh, 'leapfrog', 0.01), ...spread(0.1, -0.1, 0.2, 0.1, 1e-4), steps: 1000, lyapunov: 4 },
    { name: 'Hénon–Heiles leapfrog vjp (memory: store), 500 steps', steppers: () => pair(hh, 'leapfrog', 0.01), ...spread(0.1, -0.1, 0.2, 0.1, 1e-4), steps: 500, vjp: true },
  ];
}

/**
 * Prints the table: per workload, median wall ms on 1 and 2 threads and their ratio, the CPU ms per thread, and
 * the quiet-machine speedup (one-thread CPU time over the threaded run's longest thread).
 *
 * @example
 * await cpuThreadsBench(7);
 */
export async function cpuThreadsBench(repeats = 7): Promise<void> {
  const batch = 1024;
  console.log(`\n## CPU trajectory threads: ${batch} trajectories, 1 vs 2 worker threads (medians of ${repeats}, interleaved)\n`);
  console.log(`machine: ${availableParallelism()} cores, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  for (const w of workloads(batch)) {
    const [one, two, auto] = await w.steppers();
    const run = async (st: Stepper) => {
      if (w.lyapunov !== undefined) {
        const r = await st.lyapunov({ q0: w.q0, p0: w.p0, batch, steps: w.steps, count: w.lyapunov, renormalizeEvery: 10 });
        return { q: joined(r.exponents, r.q), p: joined(r.history.exponents, r.p) };
      }
      if (!w.vjp) return st.run({ q0: w.q0, p0: w.p0, batch, steps: w.steps });
      const r = await st.vjp({ q0: w.q0, p0: w.p0, dq: w.p0, dp: w.q0, batch, steps: w.steps, memory: 'store' });
      return { q: r.dq0, p: r.dp0 };
    };
    const same = sameBits(await run(one), await run(two)); // also warms both (workers started and compiled)
    // The default's pool starts once its runs add up to its start-up (THREADED_MIN_MS.cold): run it that long first.
    for (let r = 0, began = performance.now(); r < 50 && performance.now() - began < 1000; r++) await run(auto);
    const t1: Timed[] = [], t2: Timed[] = [], ta: Timed[] = [];
    for (let r = 0; r < repeats; r++) { t1.push(await timedRun(() => run(one))); t2.push(await timedRun(() => run(two))); ta.push(await timedRun(() => run(auto))); }
    const wall1 = median(t1.map((t) => t.wall)), wall2 = median(t2.map((t) => t.wall));
    const cpu1 = median(t1.map((t) => t.main + sum(t.others)));
    const workers2 = [0, 1].map((k) => median(t2.map((t) => t.others[k]!)));
    const main2 = median(t2.map((t) => t.main)), rest2 = median(t2.map((t) => sum(t.others.slice(2))));
    // On a quiet machine the claims balance the workers' times: each takes half of their sum.
    // (A vjp's main thread runs the backward pass after the workers' forward pass: their times add up.)
    const critical = (main: number, workers: number) => (w.vjp ? main + workers : Math.max(main, workers));
    const quiet = median(t2.map((t) => critical(t.main, (t.others[0]! + t.others[1]!) / 2)));
    // Pessimistic: the busier worker's CPU time (on a loaded machine the claims follow the scheduler, not the work).
    const busier = median(t2.map((t) => critical(t.main, t.others[0]!)));
    console.log(`${w.name}: bit-identical ${same}`);
    console.log(`  wall   1 thread ${wall1.toFixed(1)} ms, 2 threads ${wall2.toFixed(1)} ms: ×${(wall1 / wall2).toFixed(2)} (shared machine)`);
    console.log(`  CPU    1 thread ${cpu1.toFixed(1)} ms (all threads); 2 threads: workers ${workers2.map((x) => x.toFixed(1)).join(' + ')} ms, main ${main2.toFixed(1)} ms, other threads ${rest2.toFixed(1)} ms`);
    const path = w.vjp ? 'main + half the workers' : "max(main, half the workers')";
    console.log(`  quiet 2-core speedup: 1-thread CPU / ${path} CPU ×${(cpu1 / quiet).toFixed(2)}; with the busier worker instead of half ×${(cpu1 / busier).toFixed(2)}${w.vjp ? '' : ' (goal ≥ 1.8)'}`);
    // The default's choice: its workers' CPU time says whether it ran on threads (the pool's workers are the busiest other threads).
    const autoWorkers = median(ta.map((t) => t.others[0] ?? 0)), autoWall = median(ta.map((t) => t.wall)), autoCpu = median(ta.map((t) => t.main + sum(t.others)));
    const chose = autoWorkers > 0.25 * autoCpu ? 'threads' : '1 thread';
    const pays = cpu1 / quiet >= 1.1 ? 'threads pay' : 'threads do not pay';
    console.log(`  default (threads chosen per run): ran on ${chose}, wall ${autoWall.toFixed(1)} ms, CPU ${autoCpu.toFixed(1)} ms (${pays} here: quiet ×${(cpu1 / quiet).toFixed(2)})`);
    one.dispose();
    two.dispose();
    auto.dispose();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const at = process.argv.indexOf('--repeats');
  await cpuThreadsBench(at > 0 ? Number(process.argv[at + 1]) : 7);
}
