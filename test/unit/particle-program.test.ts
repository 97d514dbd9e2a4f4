/** Recognising particle programs from the IR (particle-analysis.ts) and the tiled kernel's dispatch schedule. */
import { describe, expect, it } from 'vitest';
import { harmonicOscillator, parse, particles } from '../../src/index.js';
import { add, dot, input, mul, sin } from '../../src/ir/build.js';
import { pairSum } from '../../src/ir/ops/pair-builders.js';
import { Hamiltonian } from '../../src/system/hamiltonian.js';
import { stepProgram } from '../../src/integrators/methods.js';
import { particleProgram } from '../../src/codegen/particle-analysis.js';
import { tiledSchedule } from '../../src/backends/gpu/particle-schedule.js';

const LJ = '4*eps*((sig/r)^12 - (sig/r)^6)';

describe('particleProgram', () => {
  it('reads pair, edge and site terms with their coefficients, the inverse masses and the stage steps', () => {
    const sys = particles({
      n: 4, dim: 2, mass: [1, 2, 4, 1], box: [6, 6],
      pair: { V: LJ, params: { eps: 1, sig: 1 }, cutoff: 2.5, shift: true },
      bonds: { edges: [[0, 1], [2, 3]], V: 'k/2*(r - r0)^2', params: { k: 100, r0: 1 } },
      external: { V: 'g*y', params: { g: 0.1 } },
    });
    const pp = particleProgram(stepProgram(sys.hamiltonian, 'leapfrog'), 0.01)!;
    expect(pp.n).toBe(4);
    expect(pp.dim).toBe(2);
    expect(pp.terms.map((t) => t.kind).sort()).toEqual(['edges', 'pairs', 'site']);
    expect(pp.terms.every((t) => t.coefficient === 1)).toBe(true);
    expect(pp.terms.find((t) => t.kind === 'pairs')!.geometry.cutoff).toBe(2.5);
    expect([...pp.inverseMass]).toEqual([1, 1, 0.5, 0.5, 0.25, 0.25, 1, 1]);
    expect(pp.stages).toEqual([{ kind: 'kick', step: 0.005 }, { kind: 'drift', step: 0.01 }, { kind: 'kick', step: 0.005 }]);
  });

  it('a scaled pair sum keeps its coefficient; compositions give their stages', () => {
    const n = 3, dim = 2;
    const q = input('q', 'q', [n * dim]), p = input('p', 'p', [n * dim]);
    const H = add(mul(0.25, dot(p, p)), mul(-3, pairSum(q, { n, dim, potential: (r) => mul(r, r) })));
    const h = new Hamiltonian({ H, q, p });
    const pp = particleProgram(stepProgram(h, 'yoshida4'), 0.1)!;
    expect(pp.terms).toHaveLength(1);
    expect(pp.terms[0]!.coefficient).toBe(-3);
    expect([...pp.inverseMass]).toEqual(new Array(6).fill(0.5));
    expect(pp.stages.filter((s) => s.kind === 'drift')).toHaveLength(3);
    expect(pp.stages.reduce((s, st) => s + (st.kind === 'drift' ? st.step : 0), 0)).toBeCloseTo(0.1, 14);
  });

  it('is null for systems that are not particle systems, implicit methods and q-dependent mixtures', () => {
    expect(particleProgram(stepProgram(harmonicOscillator().hamiltonian, 'leapfrog'), 0.1)).toBeNull();
    expect(particleProgram(stepProgram(parse({ q: ['x'], p: ['px'], H: 'px^2/2 + x^2/2' }), 'leapfrog'), 0.1)).toBeNull();
    const sys = particles({ n: 3, dim: 2, mass: 1, pair: { V: LJ, params: { eps: 1, sig: 1 } } });
    expect(particleProgram(stepProgram(sys.hamiltonian, 'midpoint'), 0.1)).toBeNull();
    const n = 3, dim = 1;
    const q = input('q', 'q', [n * dim]), p = input('p', 'p', [n * dim]);
    const mixed = add(mul(0.5, dot(p, p)), add(pairSum(q, { n, dim, potential: (r) => mul(r, r) }), sin(dot(q, q))));
    expect(particleProgram(stepProgram(new Hamiltonian({ H: mixed, q, p }), 'leapfrog'), 0.1)).toBeNull();
  });
});

describe('tiledSchedule', () => {
  const leapfrog = [{ kind: 'kick', step: 0.5 }, { kind: 'drift', step: 1 }, { kind: 'kick', step: 0.5 }] as const;

  it('merges the kicks of adjacent steps: one dispatch per force evaluation, the last kick alone', () => {
    expect([...tiledSchedule(leapfrog, 3, 0)]).toEqual([
      { kind: 'dispatch', kick: 0.5, drift: 1, step: 0 },
      { kind: 'dispatch', kick: 1, drift: 1, step: 1 },
      { kind: 'dispatch', kick: 1, drift: 1, step: 2 },
      { kind: 'dispatch', kick: 0.5, drift: 0, step: 2 },
    ]);
  });

  it('completes a step before each snapshot', () => {
    expect([...tiledSchedule(leapfrog, 2, 1)]).toEqual([
      { kind: 'dispatch', kick: 0.5, drift: 1, step: 0 },
      { kind: 'dispatch', kick: 0.5, drift: 0, step: 0 },
      { kind: 'record', index: 0 },
      { kind: 'dispatch', kick: 0.5, drift: 1, step: 1 },
      { kind: 'dispatch', kick: 0.5, drift: 0, step: 1 },
      { kind: 'record', index: 1 },
    ]);
  });

  it('a method starting with a drift dispatches it without a kick', () => {
    const eulerB = [{ kind: 'drift', step: 1 }, { kind: 'kick', step: 1 }] as const;
    expect([...tiledSchedule(eulerB, 2, 0)]).toEqual([
      { kind: 'dispatch', kick: 0, drift: 1, step: 0 },
      { kind: 'dispatch', kick: 1, drift: 1, step: 1 },
      { kind: 'dispatch', kick: 1, drift: 0, step: 1 },
    ]);
  });
});
