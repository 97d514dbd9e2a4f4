import { add, constant, index, sub, sum } from '../ir/build.js';
import { DarbouxError, showValue } from '../errors.js';
import { Hamiltonian } from '../system/hamiltonian.js';
import { particles, type ParticleSystem } from '../system/particles.js';
import { pairPotential } from '../system/particles-potentials.js';
import type { Model } from './model.js';

/** Options of {@link fpuChain}. */
export interface FpuChainOptions {
  /** Number of moving particles (default 32). */
  sites?: number;
  /** Quartic coupling β (default 1). */
  beta?: number;
  /** Cubic coupling α of the FPU-α(β) chain; omitted: no cubic term (the pure β chain). */
  alpha?: number;
  /** Amplitude A of the initial longest wave (default 1). */
  amplitude?: number;
  /** 'periodic' (a ring, the default) or 'fixed' (walls at both ends, as Fermi, Pasta, Ulam and Tsingou). */
  ends?: 'periodic' | 'fixed';
}

/** The bond potential V(r) of the chain as a formula in r (unit rest length). */
function bondFormula(alpha: number | undefined): string {
  return alpha === undefined ? '(r - 1)^2/2 + beta*(r - 1)^4/4' : '(r - 1)^2/2 + alpha*(r - 1)^3/3 + beta*(r - 1)^4/4';
}

/**
 * The Fermi–Pasta–Ulam–Tsingou chain of `sites` unit masses at unit spacing, as a particle system with bonds between
 * neighbours (an edge sum, so the graph of H does not grow with the chain):
 *
 *   H = Σₙ pₙ²/2 + Σ_bonds [ (r − 1)²/2 + α (r − 1)³/3 + β (r − 1)⁴/4 ],   r = xₙ₊₁ − xₙ
 *
 * (the α term only when `alpha` is given). With displacements uₙ = xₙ − xₙ⁽⁰⁾ the force is the FPU form
 * ṗₙ = (uₙ₊₁ − 2uₙ + uₙ₋₁) + α[(uₙ₊₁ − uₙ)² − (uₙ − uₙ₋₁)²] + β[(uₙ₊₁ − uₙ)³ − (uₙ − uₙ₋₁)³].
 *
 * - `ends: 'periodic'` (default): a ring in a periodic box of length `sites`, xₙ⁽⁰⁾ = n; the initial state puts all
 *   the energy in the longest wave uₙ = A sin(2πn/N); total momentum is conserved (leapfrog keeps it to rounding).
 * - `ends: 'fixed'`: particles n = 1 … sites at xₙ⁽⁰⁾ = n between walls at x = 0 and x = sites + 1 (so N = sites + 1
 *   bonds, u₀ = u_N = 0: the setup of Fermi, Pasta, Ulam and Tsingou, whose N = 32 is `sites: 31`). The interior bonds
 *   are the edge sum; the two wall bonds are two more terms of H. The initial state is the first normal mode
 *   uₙ = A sin(πn/N), whose linear frequency is ω₁ = 2 sin(π/2N). `system` is then undefined (the walls are not
 *   particles).
 *
 * @example
 * const { hamiltonian: h, q0, p0, dt } = fpuChain({ sites: 31, beta: 8, ends: 'fixed' });
 * const st = await compile(h, { method: 'leapfrog', dt, backend: 'cpu' });
 */
export function fpuChain(options: FpuChainOptions = {}): Model & { system?: ParticleSystem } {
  const sites = options.sites ?? 32, amplitude = options.amplitude ?? 1, ends = options.ends ?? 'periodic';
  if (ends !== 'periodic' && ends !== 'fixed') {
    throw new DarbouxError('OPTION', `fpuChain: ends must be 'periodic' or 'fixed', got ${showValue(ends)}`, { ends });
  }
  const params: Record<string, number> = { beta: options.beta ?? 1 };
  if (options.alpha !== undefined) params.alpha = options.alpha;
  const V = bondFormula(options.alpha);
  const name = `fpu-${options.alpha === undefined ? 'beta' : 'alpha-beta'}-${ends}-${sites}`;
  if (ends === 'fixed') return fixedChain(sites, amplitude, V, params, name);

  const edges = Array.from({ length: sites }, (_, n) => [n, (n + 1) % sites] as [number, number]);
  const system = particles({ n: sites, dim: 1, mass: 1, box: [sites], bonds: { edges, V, params } });
  const h = system.hamiltonian;
  return {
    name,
    hamiltonian: h,
    system,
    q0: Array.from({ length: sites }, (_, n) => n + amplitude * Math.sin((2 * Math.PI * n) / sites)),
    p0: Array.from({ length: sites }, () => 0),
    dt: 0.05,
    invariants: { momentum: sum(h.p) },
  };
}

/** The chain between two fixed walls: the interior bonds as an edge sum plus the two wall bonds. */
function fixedChain(sites: number, amplitude: number, V: string, params: Record<string, number>, name: string): Model {
  if (!Number.isInteger(sites) || sites < 2) {
    throw new DarbouxError('SPEC', `fpuChain: a chain with fixed ends needs sites ≥ 2 moving particles, got ${showValue(sites)}`, { sites });
  }
  const edges = Array.from({ length: sites - 1 }, (_, n) => [n, n + 1] as [number, number]);
  const interior = particles({ n: sites, dim: 1, mass: 1, bonds: { edges, V, params } }).hamiltonian;
  const bond = pairPotential('bonds', V, params);
  const wall = sites + 1;
  const H = add(add(interior.H, bond(index(interior.q, 0))), bond(sub(constant(wall), index(interior.q, sites - 1))));
  const hamiltonian = new Hamiltonian({ H, q: interior.q, p: interior.p, params, names: interior.names });
  const bonds = sites + 1;
  return {
    name,
    hamiltonian,
    q0: Array.from({ length: sites }, (_, k) => k + 1 + amplitude * Math.sin((Math.PI * (k + 1)) / bonds)),
    p0: Array.from({ length: sites }, () => 0),
    dt: 0.05,
    invariants: {},
  };
}
