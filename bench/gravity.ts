/**
 * All-pairs softened gravity (a Plummer sphere, open boundaries), leapfrog: pair interactions per second of
 * darboux's generated per-particle GPU kernel vs a hand-written tiled WGSL kernel on the same adapter
 * (bench/handwritten-gravity.ts; goal: generated ≤ 1.2× slower) and vs a hand-written C loop (bench/gravity.c,
 * gcc -O3, one thread; skipped with a message when gcc is missing). Each run does `steps` leapfrog steps,
 * steps + 1 force evaluations of N² pairs each; medians of RUNS runs (alternating between the kernels), same initial state, same step size. The generated
 * kernel's time includes its upload and readback; the hand-written one's only its dispatches and readback.
 *
 * Run: npx tsx bench/gravity.ts        (GRAVITY_N=4096 GRAVITY_STEPS=10 RUNS=3 for a quick run)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile, plummer, releaseGpu } from '../src/index.js';
import { acquireGpu } from '../src/internals.js';
import { runHandwrittenGravity } from './handwritten-gravity.js';

const n = Number(process.env.GRAVITY_N ?? 16_384);
const runs = Number(process.env.RUNS ?? 3);
const softening = 0.01, dt = 1e-3;
const gpu = await acquireGpu();
// ~1 minute on llvmpipe at N = 16 384: a few steps per run there, more on hardware.
const steps = Number(process.env.GRAVITY_STEPS ?? (gpu.adapterKind === 'llvmpipe' ? Math.max(1, Math.round(2e9 / (n * n))) : Math.max(10, Math.round(1e11 / (n * n)))));
const pairsPerRun = (steps + 1) * n * n;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rate = (seconds: number) => pairsPerRun / seconds;

const model = plummer({ n, seed: 1, softening });
const mass = 1 / n;
const velocities = model.p.map((x) => x / mass);
console.log(`## Softened gravity, all pairs: N = ${n}, ${steps} leapfrog steps per run (${steps + 1} force evaluations), median of ${runs}, ${gpu.adapterKind}\n`);

const st = (await compile(model.system.hamiltonian, { method: 'leapfrog', dt, backend: 'gpu' })) as { kernel?: string; run: (o: object) => Promise<{ q: Float64Array }>; dispose(): void };
await st.run({ q0: model.q, p0: model.p, steps: 1 });
await runHandwrittenGravity(gpu, model.q, velocities, { steps: 1, dt, gm: mass, softening });
// Runs alternate between the two kernels, so that a change in the machine's load affects both alike.
const generated: number[] = [], handwritten: number[] = [];
let generatedQ: ArrayLike<number> = [], handQ: ArrayLike<number> = [];
for (let r = 0; r < runs; r++) {
  const t0 = performance.now();
  generatedQ = (await st.run({ q0: model.q, p0: model.p, steps })).q;
  generated.push((performance.now() - t0) / 1000);
  const out = await runHandwrittenGravity(gpu, model.q, velocities, { steps, dt, gm: mass, softening });
  handwritten.push(out.seconds);
  handQ = out.q;
}
st.dispose();
let agree = 0, scale = 0;
for (let k = 0; k < generatedQ.length; k++) [agree, scale] = [Math.max(agree, Math.abs(generatedQ[k]! - handQ[k]!)), Math.max(scale, Math.abs(handQ[k]!))];

const g = rate(median(generated)), h = rate(median(handwritten));
console.log(`generated (darboux, ${st.kernel ?? 'per-trajectory'} kernel)  ${(g / 1e9).toFixed(3)} G pairs/s   (${median(generated).toFixed(3)} s per run)`);
console.log(`hand-written tiled WGSL               ${(h / 1e9).toFixed(3)} G pairs/s   (${median(handwritten).toFixed(3)} s per run)`);
console.log(`generated / hand-written time: ${(h / g).toFixed(2)}× (goal ≤ 1.2×); final positions agree to ${(agree / scale).toExponential(1)} (relative)`);

let gcc = true;
try {
  execFileSync('gcc', ['--version'], { stdio: 'ignore' });
} catch {
  gcc = false;
}
if (!gcc) console.log('\nC loop: gcc not found: skipped');
else {
  const dir = mkdtempSync(join(tmpdir(), 'darboux-gravity-'));
  const exe = join(dir, 'gravity');
  execFileSync('gcc', ['-O3', '-o', exe, fileURLToPath(new URL('./gravity.c', import.meta.url)), '-lm']);
  const input = `${[...model.q].join(' ')}\n${[...velocities].join(' ')}\n`;
  const c: number[] = [];
  for (let r = 0; r < runs; r++) {
    const out = execFileSync(exe, [String(n), String(steps), String(softening)], { input }).toString().trim().split(/\s+/);
    c.push(Number(out[0]));
  }
  const cr = rate(median(c));
  console.log(`\nC loop (gcc -O3, f32, 1 thread)      ${(cr / 1e9).toFixed(3)} G pairs/s   (${median(c).toFixed(3)} s per run); generated GPU kernel is ${(g / cr).toFixed(2)}× its rate`);
}
await releaseGpu();
