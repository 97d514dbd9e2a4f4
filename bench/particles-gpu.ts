/**
 * Particle throughput of the per-particle GPU kernels (not a test): the LAMMPS `lj` benchmark state (fcc
 * ρ* = 0.8442, T* = 1.44, r_c = 2.5, unshifted, dt = 0.005), leapfrog, atom-steps/s of each kernel that applies
 * (workgroup: one workgroup per system, many steps per dispatch; tiled: all pairs through workgroup memory; cells:
 * cell lists rebuilt on the device every step) next to the f64 CPU backend — medians of 3 runs.
 *
 * Run: npx tsx bench/particles-gpu.ts        (SIZES=4,10 — fcc cells per side: 256 and 4 000 atoms)
 */
import { compile, fcc, maxwellBoltzmann, particles, releaseGpu } from '../src/index.js';
import { acquireGpu } from '../src/internals.js';

const sizes = (process.env.SIZES ?? '4,10').split(',').map(Number);
const gpu = await acquireGpu();
console.log(`## Lennard-Jones (LAMMPS lj benchmark state), leapfrog: per-particle GPU kernels (${gpu.adapterKind}, f32) and CPU (f64)\n`);
for (const cells of sizes) {
  const { q, box } = fcc({ cells: [cells, cells, cells], density: 0.8442 });
  const n = q.length / 3;
  const p = maxwellBoltzmann({ n, dim: 3, temperature: 1.44, mass: 1, seed: 0 });
  const sys = particles({ n, dim: 3, mass: 1, box, pair: { V: '4*eps*((sig/r)^12 - (sig/r)^6)', params: { eps: 1, sig: 1 }, cutoff: 2.5, shift: false } });
  const steps = Math.max(10, Math.round(2e6 / n));
  const kernels = [...(n <= 256 ? ['workgroup'] : []), ...(n <= 16_384 ? ['tiled'] : []), 'cells', 'cpu'];
  for (const kernel of kernels) {
    let st;
    try {
      st = await compile(sys.hamiltonian, { method: 'leapfrog', dt: 0.005, backend: kernel === 'cpu' ? 'cpu' : 'gpu', particleKernel: kernel === 'cpu' ? undefined : (kernel as 'tiled') });
    } catch (e) {
      console.log(`${String(n).padStart(6)} atoms  ${kernel.padEnd(9)}  not applicable: ${(e as Error).message.split('\n')[0]}`);
      continue;
    }
    // All pairs cost n² per step: fewer steps for the tiled kernel, so that the bench stays around a minute.
    const runSteps = kernel === 'tiled' ? Math.min(steps, Math.max(10, Math.round(2e8 / (n * n)))) : steps;
    await st.run({ q0: q, p0: p, steps: Math.max(1, Math.round(runSteps / 10)) });
    const times: number[] = [];
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      await st.run({ q0: q, p0: p, steps: runSteps });
      times.push((performance.now() - t0) / 1000);
    }
    const s = times.sort((a, b) => a - b)[1]!;
    console.log(`${String(n).padStart(6)} atoms  ${kernel.padEnd(9)}  ${((n * runSteps) / s / 1e6).toFixed(3)} M atom-steps/s  (${runSteps} steps in ${s.toFixed(2)} s)`);
    st.dispose();
  }
}
await releaseGpu();
