import { sum } from '../ir/build.js';
import { particles, type ParticleSystem } from '../system/particles.js';
import type { Model } from './model.js';

/**
 * The Fermi–Pasta–Ulam–Tsingou β chain on a ring of `sites` unit masses at unit spacing, as a particle system with
 * bonds between neighbours (an edge sum, so the graph of H does not grow with the chain):
 *
 *   H = Σₙ pₙ²/2 + Σₙ [ (rₙ − 1)²/2 + β (rₙ − 1)⁴/4 ],   rₙ = xₙ₊₁ − xₙ (periodic box of length `sites`).
 *
 * With displacements uₙ = xₙ − n the force is the FPU form ṗₙ = (uₙ₊₁ − 2uₙ + uₙ₋₁) + β[(uₙ₊₁ − uₙ)³ − (uₙ − uₙ₋₁)³].
 * The initial state puts all the energy in the longest wave, uₙ = A sin(2πn/N) (parameters: beta, amplitude).
 * Total momentum is conserved (a linear invariant: leapfrog keeps it to rounding).
 *
 * @example
 * const { hamiltonian: h, q0, p0, dt } = fpuChain({ sites: 32, beta: 1 });
 * const st = await compile(h, { method: 'leapfrog', dt, backend: 'cpu' });
 */
export function fpuChain(options: { sites?: number; beta?: number; amplitude?: number } = {}): Model & { system: ParticleSystem } {
  const sites = options.sites ?? 32, amplitude = options.amplitude ?? 1;
  const edges = Array.from({ length: sites }, (_, n) => [n, (n + 1) % sites] as [number, number]);
  const system = particles({
    n: sites, dim: 1, mass: 1, box: [sites],
    bonds: { edges, V: '(r - 1)^2/2 + beta*(r - 1)^4/4', params: { beta: options.beta ?? 1 } },
  });
  const h = system.hamiltonian;
  return {
    name: `fpu-beta-${sites}`,
    hamiltonian: h,
    system,
    q0: Array.from({ length: sites }, (_, n) => n + amplitude * Math.sin((2 * Math.PI * n) / sites)),
    p0: Array.from({ length: sites }, () => 0),
    dt: 0.05,
    invariants: { momentum: sum(h.p) },
  };
}
