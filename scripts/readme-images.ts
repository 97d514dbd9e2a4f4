/**
 * Generates the README's images into docs/images/ with the library's `plot`: the relative energy error of
 * leapfrog against rk4 on Kepler, a Hénon–Heiles phase portrait, and g(r) of a Lennard-Jones liquid.
 * Deterministic (fixed initial states and seeds); a few seconds on the CPU backend.
 *
 *   npm run images [-- --png]   (npx tsx scripts/readme-images.ts)      (--png also writes .png next to each .svg)
 */
import fs from 'node:fs';
import path from 'node:path';
import { compile, fcc, henonHeiles, kepler, maxwellBoltzmann, particles, plot, radialDistribution, trajectoryFromRun } from '../src/index.js';

const outDir = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', 'docs', 'images');
const png = process.argv.includes('--png');
fs.mkdirSync(outDir, { recursive: true });

async function save(name: string, svg: string): Promise<void> {
  fs.writeFileSync(path.join(outDir, `${name}.svg`), `${svg}\n`);
  if (png) fs.writeFileSync(path.join(outDir, `${name}.png`), await plot.toPng(svg, { width: 1280 }));
  console.log(`docs/images/${name}.svg`);
}

// 1. Kepler (e = 0.6), dt = 0.01, 20 000 steps: leapfrog's error stays bounded, rk4's drifts.
{
  const model = kepler();
  const h = model.hamiltonian;
  const series = [];
  for (const method of ['leapfrog', 'rk4']) {
    const st = await compile(h, { method, dt: 0.01, backend: 'cpu' });
    const res = await st.run({ q0: model.q0, p0: model.p0, steps: 20_000, record: 20 });
    series.push({ label: method, trajectory: trajectoryFromRun(res, { q0: model.q0, p0: model.p0, dt: 0.01 }) });
    st.dispose();
  }
  await save('energy-kepler', plot.energy(series, { hamiltonian: h, title: 'Kepler (e = 0.6), dt = 0.01: relative energy error' }));
}

// 2. Hénon–Heiles: four orbits at energies below the escape energy 1/6, (y, p_y).
{
  const h = henonHeiles().hamiltonian;
  const batch = 4;
  const q0 = Array.from({ length: batch }, (_, b) => [0, -0.12 + 0.08 * b]).flat();
  const p0 = Array.from({ length: batch }, (_, b) => [0.35 - 0.03 * b, 0.05]).flat();
  const st = await compile(h, { method: 'leapfrog', dt: 0.02, backend: 'cpu' });
  const res = await st.run({ q0, p0, batch, steps: 3000, record: 2 });
  st.dispose();
  const traj = trajectoryFromRun(res, { q0, p0, batch, dt: 0.02 });
  await save('phase-henon-heiles', plot.phase(traj, { dof: 1, names: { q: 'y', p: 'p_y' }, title: 'Hénon–Heiles: four orbits, (y, p_y)' }));
}

// 3. Lennard-Jones liquid: 108 atoms at ρ* = 0.8442 melted from fcc, g(r) averaged over 40 frames.
{
  const { q: lattice, box } = fcc({ cells: [3, 3, 3], density: 0.8442 });
  const n = lattice.length / 3;
  const sys = particles({ n, dim: 3, mass: 1, box, pair: { V: '4*eps*((sig/r)^12 - (sig/r)^6)', params: { eps: 1, sig: 1 }, cutoff: 2.5, shift: true } });
  const st = await compile(sys.hamiltonian, { method: 'leapfrog', dt: 0.005, backend: 'cpu' });
  let q = lattice, p = maxwellBoltzmann({ n, dim: 3, temperature: 1.44, mass: 1, seed: 1 });
  for (let block = 0; block < 8; block++) {
    ({ q, p } = await st.run({ q0: q, p0: p, steps: 250 }));
    const scale = Math.sqrt(0.72 / sys.temperature(p));
    p = p.map((x) => x * scale);
  }
  const res = await st.run({ q0: q, p0: p, steps: 2000, record: 50 });
  st.dispose();
  const g = radialDistribution(res.record!.q, { n, dim: 3, box, bins: 60, rMax: Math.min(...box) / 2 });
  await save('rdf-lennard-jones', plot.rdf(g, { title: `Lennard-Jones liquid (${n} atoms, ρ* = 0.8442, T* ≈ 0.72): g(r)` }));
}
