/**
 * Lyapunov spectra from the exact tangent map (Benettin et al.), as in the tutorial's §8.2: what survives chaos is
 * the statistics — the Lyapunov spectrum among them.
 *
 * 1. The double pendulum (gauss4, symplectic, CPU f64): a small release (regular: the largest exponent decays
 *    like log(t)/t) and a large one (chaotic: a clearly positive exponent); the full spectrum comes in ± pairs
 *    and sums to 0.
 * 2. Hénon–Heiles (leapfrog, on --backend): a batch of orbits on the line x = 0, p_y = 0 at the energies 1/12,
 *    1/8 and 1/6; the share with a clearly positive largest exponent grows with the energy (regular islands
 *    shrink into a chaotic sea).
 *
 * Run: npx tsx examples/lyapunov.ts [--time 2000] [--pendulum-time 100] [--batch 128] [--backend auto|cpu|gpu]
 */
import { compile, doublePendulum, henonHeiles } from '../src/index.js';
import { releaseGpu } from '../src/runtime/index.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 && at + 1 < args.length ? args[at + 1]! : fallback;
};
const time = Number(option('time', '2000'));
const pendulumTime = Number(option('pendulum-time', '100'));
const batch = Number(option('batch', '128'));
const backend = option('backend', 'auto') as 'auto' | 'cpu' | 'gpu';
const show = (xs: ArrayLike<number>) => Array.from(xs, (x) => x.toFixed(4).padStart(8)).join(' ');

// 1. Double pendulum: released at rest from θ₁ = θ₂ = 0.2 (regular) and θ₁ = θ₂ = 2 (chaotic).
{
  const { hamiltonian: h } = doublePendulum();
  const dt = 0.01, steps = Math.round(pendulumTime / dt);
  const st = await compile(h, { method: 'gauss4', dt, backend: 'cpu' });
  const started = performance.now();
  const { exponents, history } = await st.lyapunov({ q0: [0.2, 0.2, 2, 2], p0: [0, 0, 0, 0], batch: 2, steps, count: 4, renormalizeEvery: 10 });
  const seconds = (performance.now() - started) / 1000;
  console.log(`Double pendulum (gauss4, dt = ${dt}, t = ${pendulumTime}, full spectrum, ${seconds.toFixed(1)} s):`);
  for (const [b, label] of [[0, 'θ₁ = θ₂ = 0.2 (regular)'], [1, 'θ₁ = θ₂ = 2   (chaotic)']] as const) {
    const spectrum = exponents.subarray(4 * b, 4 * b + 4);
    const sum = spectrum.reduce((x, y) => x + y, 0);
    console.log(`  ${label}: λ = ${show(spectrum)}   sum = ${sum.toExponential(1)}`);
    console.log(`    ${label.split(' (')[0]} λ_max = ${spectrum[0]!.toFixed(4)}, pair sums λ₁+λ₄ = ${(spectrum[0]! + spectrum[3]!).toExponential(1)}, λ₂+λ₃ = ${(spectrum[1]! + spectrum[2]!).toExponential(1)}`);
  }
  // The running estimate of the regular orbit's largest exponent against log(t)/t.
  const marks = [pendulumTime / 100, pendulumTime / 10, pendulumTime].map((t) => history.t.findIndex((x) => x >= t - 1e-9));
  const at = (k: number) => `t = ${history.t[k]!.toFixed(1)}: ${history.exponents[k * 8]!.toFixed(4)} (log t / t = ${(Math.log(history.t[k]!) / history.t[k]!).toFixed(4)})`;
  console.log(`  regular orbit, running λ_max: ${marks.map(at).join(', ')}`);
  st.dispose();
}

// 2. Hénon–Heiles: orbits from x = 0, p_y = 0, y on a grid, p_x from the energy.
{
  const { hamiltonian: h } = henonHeiles();
  const dt = 0.05, steps = Math.round(time / dt);
  const st = await compile(h, { method: 'leapfrog', dt, backend });
  console.log(`\nHénon–Heiles (leapfrog, dt = ${dt}, t = ${time}, ${batch} orbits per energy, ${st.backend}):`);
  for (const [energy, label] of [[1 / 12, '1/12'], [1 / 8, '1/8 '], [1 / 6, '1/6 ']] as const) {
    // The allowed y (V(0, y) < E) on a fine grid, then `batch` of them evenly spread.
    const allowed = Array.from({ length: 4000 }, (_, k) => -0.6 + (1.6 * (k + 0.5)) / 4000).filter((y) => energy - (y * y) / 2 + (y * y * y) / 3 > 1e-6);
    const q0: number[] = [], p0: number[] = [];
    for (let k = 0; k < batch; k++) {
      const y = allowed[Math.floor(((k + 0.5) * allowed.length) / batch)]!;
      q0.push(0, y);
      p0.push(Math.sqrt(2 * (energy - (y * y) / 2 + (y * y * y) / 3)), 0);
    }
    const n = q0.length / 2;
    const started = performance.now();
    const { exponents } = await st.lyapunov({ q0, p0, batch: n, steps, count: 1, renormalizeEvery: 10 });
    const seconds = (performance.now() - started) / 1000;
    const sorted = Array.from(exponents).sort((a, b) => a - b);
    const chaotic = sorted.filter((x) => x > 0.02).length;
    console.log(
      `  E = ${label}: chaotic share ${((100 * chaotic) / n).toFixed(0).padStart(3)} % of ${n} (λ_max > 0.02); ` +
        `median λ_max ${sorted[Math.floor(n / 2)]!.toFixed(4)}, largest ${sorted[n - 1]!.toFixed(4)}  (${seconds.toFixed(1)} s)`,
    );
  }
  st.dispose();
}
await releaseGpu();
