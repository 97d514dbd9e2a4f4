/**
 * CPU training over worker threads (src/train/gradient-threads.ts): HNN derivative-loss training, batch 256 out of
 * 1 500 spring samples, hidden [200], [64, 64] and [200, 200], on one thread and on two (`threads: 1` vs `threads: 2`),
 * interleaved, medians. Two measurements per width:
 *   gradient — the minibatch gradient alone in steady state (a started pool), CPU ms per step of every thread;
 *   fit      — whole fits (worker start-up, Adam and sampling included), wall samples/s and CPU per thread.
 * On a shared machine wall times say little, so the quiet two-core speedup is estimated from CPU times (the main
 * thread's from Linux /proc/self/task/<pid>/schedstat, the process's from process.cpuUsage, which keeps exited
 * worker threads): a threaded step takes at least max(main, half the total) (claims balance on a quiet machine)
 * and at most the busier of main and the rest; the table gives 1-thread CPU over both. Parameters after
 * the fits are compared bit for bit.
 * Run: npx tsx bench/training-threads.ts [--repeats 5]
 */
import { availableParallelism, loadavg } from 'node:os';
import { fit, hnn } from '../src/index.js';
import { compileBatchedGradient } from '../src/train/batched-gradient.js';
import { matchBatchedHnn, type BatchedHnnSpec } from '../src/train/batched-match.js';
import { chunkedSums } from '../src/train/chunked-gradient.js';
import { packSamples } from '../src/train/data.js';
import { GradientThreads } from '../src/train/gradient-threads.js';
import { gradientProgram, packParams } from '../src/train/gradient-program.js';
import { lossGraph } from '../src/train/losses.js';
import { median, threadCpuNs } from './cpu-threads.js';
import { BATCH, springSamples } from './training-widths.js';

const WIDTHS = [
  { hidden: [200], gradientSteps: 200, fitSteps: 300 },
  { hidden: [64, 64], gradientSteps: 150, fitSteps: 200 },
  { hidden: [200, 200], gradientSteps: 25, fitSteps: 40 },
];

/** What one run took: wall ms, the main thread's CPU ms, and the whole process's (exited worker threads included). */
interface Timed { wall: number; main: number; total: number }

/** Times `f`: wall, main-thread CPU (/proc schedstat) and process CPU (`process.cpuUsage`, which keeps exited threads). */
async function timedRun(f: () => Promise<unknown>): Promise<Timed> {
  const main = () => threadCpuNs().get(String(process.pid)) ?? 0;
  const m0 = main(), c0 = process.cpuUsage(), t0 = performance.now();
  await f();
  const wall = performance.now() - t0, c = process.cpuUsage(c0);
  return { wall, main: (main() - m0) / 1e6, total: (c.user + c.system) / 1e3 };
}

/**
 * 1-thread CPU over the threaded run's quiet estimates: balanced (max(main, half the total): claims follow the
 * work on a quiet machine) and pessimistic (the busier of main and the rest).
 */
function speedups(t1: Timed[], t2: Timed[]): { cpu1: number; main2: number; worker2: number; quiet: number; busier: number } {
  const cpu1 = median(t1.map((t) => t.total));
  const main2 = median(t2.map((t) => t.main)), worker2 = median(t2.map((t) => t.total - t.main));
  const quiet = cpu1 / median(t2.map((t) => Math.max(t.main, t.total / 2)));
  const busier = cpu1 / median(t2.map((t) => Math.max(t.main, t.total - t.main)));
  return { cpu1, main2, worker2, quiet, busier };
}

/** Prints both tables. @example await trainingThreadsBench(5); */
export async function trainingThreadsBench(repeats = 5): Promise<void> {
  console.log(`\n## CPU training threads: HNN derivative loss, batch ${BATCH}, 1 vs 2 threads (medians of ${repeats}, interleaved)\n`);
  console.log(`machine: ${availableParallelism()} cores, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} (wall times on a loaded machine say little: see the CPU-time estimates)`);
  const data = springSamples();
  console.log('\n| hidden | what | wall 1 thread | wall 2 threads | CPU 1 thread | CPU 2 threads: main + rest | quiet 2-core speedup (balanced … busier thread) | bit-identical |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const w of WIDTHS) {
    const model = hnn({ dof: 1, hidden: w.hidden, activation: 'tanh', seed: 0 });
    // The gradient alone, steady state.
    const graph = lossGraph(model, { loss: 'derivative' });
    const program = gradientProgram(model, graph);
    const f = compileBatchedGradient(matchBatchedHnn(model, program) as BatchedHnnSpec);
    const rows = packSamples(graph, 1, data).rows, theta = packParams(program.layout, model.params), width = 1 + program.layout.total;
    const batchRows = Uint32Array.from({ length: BATCH }, (_, i) => (i * 7) % 1500);
    const out1 = new Float64Array(width), out2 = new Float64Array(width), partial = new Float64Array(width);
    const pool = new GradientThreads({ kind: 'batched', ...f.build }, rows, width, BATCH, 2);
    const one = async () => { for (let s = 0; s < w.gradientSteps; s++) chunkedSums(f.chunks, rows, theta, batchRows, BATCH, out1, partial); };
    const two = async () => { for (let s = 0; s < w.gradientSteps; s++) await pool.sums(f.chunks, rows, theta, batchRows, BATCH, out2); };
    await one(); await two(); // warm-up
    const g1: Timed[] = [], g2: Timed[] = [];
    for (let r = 0; r < repeats; r++) { g1.push(await timedRun(one)); g2.push(await timedRun(two)); }
    pool.dispose();
    const same = out1.every((x, i) => Object.is(x, out2[i]));
    row(w.hidden, `gradient, ms per step (${w.gradientSteps} steps)`, g1, g2, w.gradientSteps, same);
    // Whole fits.
    const options = { loss: 'derivative' as const, lr: 1e-3, weightDecay: 1e-4, batchSize: BATCH, seed: 0, steps: w.fitSteps };
    await fit(model, data, { ...options, steps: 10, threads: 1 });
    await fit(model, data, { ...options, steps: 10, threads: 2 });
    const f1: Timed[] = [], f2: Timed[] = [];
    let p1: Record<string, number[]> = {}, p2: Record<string, number[]> = {};
    for (let r = 0; r < repeats; r++) {
      f1.push(await timedRun(async () => { p1 = (await fit(model, data, { ...options, threads: 1 })).params as Record<string, number[]>; }));
      f2.push(await timedRun(async () => { p2 = (await fit(model, data, { ...options, threads: 2 })).params as Record<string, number[]>; }));
    }
    const fitSame = Object.keys(p1).every((k) => p1[k]!.every((x, i) => Object.is(x, p2[k]![i])));
    row(w.hidden, `fit, ms per step (${w.fitSteps} steps, start-up included)`, f1, f2, w.fitSteps, fitSame);
  }
}

function row(hidden: number[], what: string, t1: Timed[], t2: Timed[], steps: number, same: boolean): void {
  const s = speedups(t1, t2), per = (x: number) => (x / steps).toFixed(3);
  const wall1 = median(t1.map((t) => t.wall)), wall2 = median(t2.map((t) => t.wall));
  console.log(`| [${hidden.join(', ')}] | ${what} | ${per(wall1)} | ${per(wall2)} (×${(wall1 / wall2).toFixed(2)}) | ${per(s.cpu1)} | ${per(s.main2)} + ${per(s.worker2)} | ×${s.quiet.toFixed(2)} … ×${s.busier.toFixed(2)} | ${same} |`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const at = process.argv.indexOf('--repeats');
  await trainingThreadsBench(at > 0 ? Number(process.argv[at + 1]) : 5);
}
