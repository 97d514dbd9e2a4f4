import { add, div, dot, mul, param } from '../ir/build.js';
import { hamiltonian, phaseSpace } from '../system/dsl.js';
import type { Model } from './model.js';

/**
 * Harmonic oscillator H = |p|²/(2m) + k|q|²/2 in `dof` dimensions (parameters m, k).
 *
 * @example
 * const { hamiltonian: h } = harmonicOscillator({ k: 4 });
 */
export function harmonicOscillator(options: { dof?: number; m?: number; k?: number } = {}): Model {
  const s = phaseSpace(options.dof ?? 1);
  const H = add(div(dot(s.p, s.p), mul(2, param('m'))), mul(mul(0.5, param('k')), dot(s.q, s.q)));
  return {
    name: 'harmonic oscillator',
    hamiltonian: hamiltonian(s, H, { params: { m: options.m ?? 1, k: options.k ?? 1 } }),
    q0: Array.from({ length: s.dof }, (_, i) => (i === 0 ? 1 : 0)),
    p0: Array.from({ length: s.dof }, (_, i) => (i === 1 ? 1 : 0)),
    dt: 0.05,
    invariants: {},
  };
}
