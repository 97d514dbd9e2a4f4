/**
 * Energy drift on the Kepler problem (e = 0.6, dt = 0.01, 10⁵ steps ≈ 160 orbits): symplectic methods keep
 * the energy error bounded; RK4, which is not symplectic, drifts linearly. For each method the table shows
 * the maximum relative energy error, the maximum over each half of the run and their ratio, and the growth
 * exponent α of the running maximum, err(t) ∝ t^α (≈ 0 when bounded, ≈ 1 for linear drift).
 *
 * Run: npx tsx examples/energy-drift.ts
 */
import { compile, kepler } from '../src/index.js';

const model = kepler({ eccentricity: 0.6 });
const h = model.hamiltonian;
const steps = 100_000, dt = 0.01, every = 10;
const e0 = h.energy(model.q0, model.p0);

console.log(`Kepler, e = 0.6, dt = ${dt}, ${steps} steps (t = ${steps * dt}), H₀ = ${e0}\n`);
const header = ['method', 'max |H−H₀|/|H₀|', 'first half', 'second half', 'ratio', 'growth α', 'wall time'];
const rows: string[][] = [];
for (const method of ['rk4', 'leapfrog', 'yoshida4', 'midpoint', 'gauss4']) {
  const st = await compile(h, { method, dt, backend: 'cpu' });
  const t0 = performance.now();
  const res = await st.run({ q0: model.q0, p0: model.p0, steps, record: every });
  const seconds = (performance.now() - t0) / 1000;
  const rec = res.record!;
  let first = 0, second = 0, running = 0;
  const points: [number, number][] = [];
  for (let k = 0; k < rec.count; k++) {
    const err = Math.abs(h.energy(rec.q.subarray(2 * k, 2 * k + 2), rec.p.subarray(2 * k, 2 * k + 2)) - e0) / Math.abs(e0);
    if (k < rec.count / 2) first = Math.max(first, err);
    else second = Math.max(second, err);
    running = Math.max(running, err);
    if ((k + 1) % 1000 === 0) points.push([Math.log((k + 1) * every * dt), Math.log(running)]);
  }
  // Least-squares slope of log(running max) against log(t) over the last 90% of the run.
  const tail = points.slice(1);
  const mx = tail.reduce((s, [x]) => s + x, 0) / tail.length, my = tail.reduce((s, [, y]) => s + y, 0) / tail.length;
  const alpha = tail.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0) / tail.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  rows.push([method, Math.max(first, second).toExponential(2), first.toExponential(2), second.toExponential(2), (second / first).toFixed(2), alpha.toFixed(2), `${(seconds * 1000).toFixed(0)} ms`]);
  st.dispose();
}
const widths = header.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
console.log(line(header));
console.log(widths.map((w) => '─'.repeat(w)).join('  '));
rows.forEach((r) => console.log(line(r)));
