/**
 * Particle throughput (not a test): the LAMMPS `lj` benchmark state (fcc ρ* = 0.8442, T* = 1.44, r_c = 2.5,
 * unshifted, dt = 0.005) at 256, 4 000 and 32 000 atoms, leapfrog on the f64 CPU backend (cell lists from
 * 3 cells per side), as ms per step and atom-steps/s — medians of 3 runs. LAMMPS, when installed (`lmp`), is the
 * peer; this bench does not run it yet and says so.
 *
 * Run: npx tsx bench/particles.ts            (SIZES=4,10 for fewer; the size is the fcc cells per side)
 */
import { execFileSync } from 'node:child_process';
import { compile, fcc, maxwellBoltzmann, particles } from '../src/index.js';

const sizes = (process.env.SIZES ?? '4,10,20').split(',').map(Number);
console.log('## Lennard-Jones (LAMMPS lj benchmark state), leapfrog, CPU f64\n');
for (const cells of sizes) {
  const { q, box } = fcc({ cells: [cells, cells, cells], density: 0.8442 });
  const n = q.length / 3;
  const p = maxwellBoltzmann({ n, dim: 3, temperature: 1.44, mass: 1, seed: 0 });
  const sys = particles({ n, dim: 3, mass: 1, box, pair: { V: '4*eps*((sig/r)^12 - (sig/r)^6)', params: { eps: 1, sig: 1 }, cutoff: 2.5, shift: false } });
  const st = await compile(sys.hamiltonian, { method: 'leapfrog', dt: 0.005, backend: 'cpu' });
  const steps = n <= 256 ? 2000 : n <= 4000 ? 100 : 10;
  await st.run({ q0: q, p0: p, steps: Math.max(1, steps / 10) });
  const times: number[] = [];
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    await st.run({ q0: q, p0: p, steps });
    times.push((performance.now() - t0) / steps);
  }
  const ms = times.sort((a, b) => a - b)[1]!;
  console.log(`${String(n).padStart(6)} atoms  box ${box[0]!.toFixed(2)}  ${ms.toFixed(3).padStart(9)} ms/step  ${((n * 1000) / ms / 1e6).toFixed(2)} M atom-steps/s`);
  st.dispose();
}
let lammps = false;
try {
  execFileSync('lmp', ['-h'], { stdio: 'ignore' });
  lammps = true;
} catch {
  lammps = false;
}
console.log(
  lammps
    ? '\nlammps: installed, but the same-run comparison (write_data state, 100 steps, thermo energy) is not written yet: skipped'
    : '\nlammps: not installed (Debian: apt-get install lammps): skipped. Reference measured on this kind of machine: 1 rank 2.1 M, 2 ranks 4.1 M atom-steps/s',
);
