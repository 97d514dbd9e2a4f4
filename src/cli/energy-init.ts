/**
 * `--init energy --energy E --section NAME`: initial states on one energy level H = E, on the section NAME = 0
 * (a position coordinate). Every other coordinate is drawn uniformly in [-r, r] around the model's state (or 0);
 * the section coordinate is 0 and its momentum is solved from H(q, p) = E (bisection on the system's compiled
 * energy, so any Hamiltonian works), with the sign of the section direction (+ for 1 or 0, − for −1). A draw with
 * no real solution is redrawn from the same member's stream; members depend on (seed, member index) only.
 */
import { createRandom, DarbouxError, type Hamiltonian } from '../index.js';
import { UsageError } from './args.js';
import { memberSeed } from './shard.js';

/** Draws per member before a level is refused as unreachable. */
export const ENERGY_DRAWS = 1000;

/** What `--init energy` needs: the level, the section variable and sign, the draw box and the seed. */
export interface EnergyLevelSpec {
  energy: number;
  /** Index of the section's position coordinate (q_k = 0). */
  coordinate: number;
  /** +1 or −1: the sign of p_k at the start (the direction the section is crossed). */
  sign: 1 | -1;
  radius: number;
  seed: number;
  center: { q: readonly number[]; p: readonly number[] };
}

/**
 * The spec of `--init energy` from the flags, or a UsageError naming what is missing or unclear.
 *
 * @example
 * energyLevelSpec('run', { energy: '0.125', section: 'y' }, h, 0.5, 0, center) // { energy: 0.125, coordinate: 1, sign: 1, … }
 */
export function energyLevelSpec(
  command: string, values: { energy?: string; section?: string; 'section-direction'?: string },
  h: Pick<Hamiltonian, 'names'>, radius: number, seed: number, center: EnergyLevelSpec['center'],
): EnergyLevelSpec {
  if (values.energy === undefined) throw new UsageError('--init energy needs --energy E (the level H = E every member starts on)', command);
  const energy = Number(values.energy);
  if (values.energy.trim() === '' || !Number.isFinite(energy)) throw new UsageError(`--energy must be a finite number, got '${values.energy}'`, command);
  const names = h.names.q;
  const section = values.section?.trim();
  const coordinate = section === undefined ? -1 : names.indexOf(section);
  if (coordinate < 0) {
    throw new UsageError(`--init energy puts every member on the section q_k = 0: give --section NAME with NAME one of the positions ${names.join(', ')}${section === undefined ? '' : ` (got '${section}')`}`, command);
  }
  const sign = values['section-direction']?.trim() === '-1' ? -1 : 1;
  return { energy, coordinate, sign, radius, seed, center };
}

/**
 * States of members `first … first + batch − 1` on H = E (batch × dof each); a DarbouxError naming E when a
 * member finds no state on the level in {@link ENERGY_DRAWS} draws.
 *
 * @example
 * const { q0, p0 } = energyLevelStates(h, spec, 0, 64); // h.energy(q0[b], p0[b]) === E to rounding
 */
export function energyLevelStates(h: Pick<Hamiltonian, 'dof' | 'energy'>, spec: EnergyLevelSpec, first: number, batch: number): { q0: Float64Array; p0: Float64Array } {
  const dof = h.dof, k = spec.coordinate;
  const q0 = new Float64Array(batch * dof), p0 = new Float64Array(batch * dof);
  const q = new Float64Array(dof), p = new Float64Array(dof);
  for (let b = 0; b < batch; b++) {
    // Member m's state depends on (seed, m) only, so it is the same in any --shard split.
    const rng = createRandom(memberSeed(spec.seed, first + b));
    let found = false;
    for (let draw = 0; draw < ENERGY_DRAWS && !found; draw++) {
      for (let i = 0; i < dof; i++) q[i] = spec.center.q[i]! + spec.radius * (2 * rng.next() - 1);
      for (let i = 0; i < dof; i++) p[i] = spec.center.p[i]! + spec.radius * (2 * rng.next() - 1);
      q[k] = 0;
      const momentum = solveMomentum(h, q, p, k, spec.sign, spec.energy);
      if (momentum === null) continue;
      p[k] = momentum;
      found = true;
    }
    if (!found) {
      throw new DarbouxError('INPUT', `--init energy: member ${first + b} found no state with H = ${spec.energy} on the section in ${ENERGY_DRAWS} draws within --radius ${spec.radius}; E may be below the minimum of H there, or the box may miss the level: raise --energy or change --radius`, { energy: spec.energy, member: first + b, radius: spec.radius, draws: ENERGY_DRAWS });
    }
    q0.set(q, b * dof);
    p0.set(p, b * dof);
  }
  return { q0, p0 };
}

/**
 * The momentum p_k = sign·s, s ≥ 0, with H(q, p) = E: f(s) = H − E must be ≤ 0 at s = 0; s doubles until f > 0
 * (up to 2^60), then bisection to adjacent doubles. null when the draw has no such root.
 */
function solveMomentum(h: Pick<Hamiltonian, 'energy'>, q: Float64Array, p: Float64Array, k: number, sign: 1 | -1, energy: number): number | null {
  const f = (s: number) => {
    p[k] = sign * s;
    return h.energy(q, p) - energy;
  };
  const f0 = f(0);
  if (!(f0 <= 0)) return null;
  if (f0 === 0) return 0;
  let lo = 0, hi = 1;
  for (let doublings = 0; !(f(hi) > 0); doublings++) {
    if (doublings > 60) return null;
    lo = hi;
    hi *= 2;
  }
  for (let it = 0; it < 200; it++) {
    const mid = lo + (hi - lo) / 2;
    if (mid <= lo || mid >= hi) break;
    const v = f(mid);
    if (v === 0) return sign * mid;
    if (v < 0) lo = mid; else hi = mid;
  }
  // The end of the final bracket closer to the level.
  return sign * (Math.abs(f(lo)) <= Math.abs(f(hi)) ? lo : hi);
}
