/**
 * Benchmarks (not tests): gradient graph sizes, and generated CPU leapfrog vs a hand-written JS leapfrog.
 * Run: npm run bench
 */
import { compile, graphSize, henonHeiles, kepler, lennardJones, stepProgram } from '../src/index.js';

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
