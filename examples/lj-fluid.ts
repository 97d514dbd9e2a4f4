/**
 * A 256-particle Lennard-Jones fluid (reduced units) near ρ* = 0.8442, T* ≈ 0.72, integrated by leapfrog on the
 * f64 CPU backend: the fcc lattice is melted at T* = 1.44 (as LAMMPS's `lj` benchmark starts), equilibrated with
 * velocity rescaling, then run at constant energy. Prints the total energy over the NVE run (its drift and
 * fluctuation), temperature and virial pressure, and the radial distribution function g(r) averaged over the
 * run, as a table and a text plot (a liquid: first peak near r ≈ 1.1, second shell near 2.1, g → 1).
 *
 * Run: npx tsx examples/lj-fluid.ts [--steps 100000]      (default 20 000 NVE steps)
 */
import { compile, fcc, maxwellBoltzmann, particles, radialDistribution } from '../src/index.js';

const stepsArg = process.argv.indexOf('--steps');
const steps = stepsArg > 0 ? Number(process.argv[stepsArg + 1]) : 20_000;
const dt = 0.005, every = 100, target = 0.72;

const { q: lattice, box } = fcc({ cells: [4, 4, 4], density: 0.8442 });
const n = lattice.length / 3;
const sys = particles({
  n, dim: 3, mass: 1, box,
  pair: { V: '4*eps*((sig/r)^12 - (sig/r)^6)', params: { eps: 1, sig: 1 }, cutoff: 2.5, shift: true },
});
const h = sys.hamiltonian;
const st = await compile(h, { method: 'leapfrog', dt, backend: 'cpu' });

// Melt and equilibrate: 20 blocks of 250 steps, rescaling the momenta to the target temperature after each.
let q = lattice, p = maxwellBoltzmann({ n, dim: 3, temperature: 1.44, mass: 1, seed: 1 });
for (let block = 0; block < 20; block++) {
  ({ q, p } = await st.run({ q0: q, p0: p, steps: 250 }));
  const scale = Math.sqrt(target / sys.temperature(p));
  p = p.map((x) => x * scale);
}

const t0 = performance.now();
const run = await st.run({ q0: q, p0: p, steps, record: every });
const seconds = (performance.now() - t0) / 1000;
const record = run.record!;
const frame = (k: number) => ({ q: record.q.subarray(k * n * 3, (k + 1) * n * 3), p: record.p.subarray(k * n * 3, (k + 1) * n * 3) });
const e0 = h.energy(q, p);
let drift = 0, temperature = 0, pressure = 0;
for (let k = 0; k < record.count; k++) {
  const z = frame(k);
  drift = Math.max(drift, Math.abs(h.energy(z.q, z.p) - e0));
  temperature += sys.temperature(z.p) / record.count;
  pressure += sys.pressure(z.q, z.p) / record.count;
}
const last = frame(record.count - 1);

console.log(`Lennard-Jones fluid: ${n} atoms, ρ* = 0.8442, box ${box[0]!.toFixed(4)}³, r_c = 2.5 (shifted), leapfrog dt = ${dt}`);
console.log(`NVE run: ${steps} steps in ${seconds.toFixed(1)} s (${((steps * n) / seconds / 1e6).toFixed(2)} M atom-steps/s, CPU f64)`);
console.log(`energy per atom E/N = ${(e0 / n).toFixed(6)}; max |E − E₀|/N over the run = ${(drift / n).toExponential(2)}`);
console.log(`mean temperature T* = ${temperature.toFixed(3)}, mean virial pressure P* = ${pressure.toFixed(3)}`);
console.log(`total momentum at the end: ${Array.from(sys.momentum(last.p), (x) => x.toExponential(1)).join(', ')}\n`);

const frames = Array.from({ length: record.count }, (_, k) => frame(k).q);
const { r, g } = radialDistribution(frames, { n, dim: 3, box, bins: 60, rMax: 3.3 });
const peak = g.indexOf(Math.max(...g));
console.log(`g(r) averaged over ${record.count} frames: first peak g = ${g[peak]!.toFixed(2)} at r = ${r[peak]!.toFixed(3)}\n`);
for (let b = 0; b < r.length; b += 2) {
  console.log(`${r[b]!.toFixed(2).padStart(5)} ${g[b]!.toFixed(3).padStart(6)} ${'#'.repeat(Math.round(g[b]! * 12))}`);
}
st.dispose();
