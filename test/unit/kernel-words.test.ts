import { describe, expect, it } from 'vitest';
import { henonHeiles, pendulum } from '../../src/index.js';
import { stepProgram } from '../../src/internals.js';
import { adjointStep } from '../../src/integrators/adjoint-step.js';
import { emitWgslStepper } from '../../src/codegen/emit-wgsl.js';
import { wgslAdjointKernel } from '../../src/codegen/emit-wgsl-adjoint.js';
import { ADJOINT_CONTROL_WORDS, STEPPER_CONTROL_WORDS } from '../../src/codegen/kernel-words.js';
import { controlWriter, decodeStatus } from '../../src/backends/gpu/kernel-host.js';

/** The fields of `struct Control` as a kernel declares them, in order. */
function declaredControl(wgsl: string): { name: string; type: string }[] {
  const body = /struct Control \{([^}]*)\}/.exec(wgsl)![1]!;
  return [...body.matchAll(/(\w+): (f32|u32)/g)].map((m) => ({ name: m[1]!, type: m[2]! }));
}

/** Reads the uniform's bytes field by field as the kernel's struct declares them (4-byte words in order). */
function readAsDeclared(bytes: ArrayBuffer, fields: { name: string; type: string }[]): Record<string, number> {
  const f32 = new Float32Array(bytes), u32 = new Uint32Array(bytes);
  return Object.fromEntries(fields.map((f, k) => [f.name, f.type === 'f32' ? f32[k]! : u32[k]!]));
}

describe('named control words', () => {
  it('the host writes each stepper control word where and as the kernel declares it', () => {
    const fields = declaredControl(emitWgslStepper(stepProgram(henonHeiles().hamiltonian, 'leapfrog')));
    expect(fields.map((f) => f.name)).toEqual([...STEPPER_CONTROL_WORDS]);
    const control = controlWriter(STEPPER_CONTROL_WORDS);
    const values = { dt: 0.25, tStart: -1.5, steps: 7, stepBase: 300, offset: 64, batch: 1000, recordEvery: 3, recordCount: 11 };
    control.set(values);
    expect(readAsDeclared(control.bytes, fields)).toEqual(values);
  });

  it('the host writes each backward control word where and as the kernel declares it (pad stays 0)', () => {
    const { wgsl } = wgslAdjointKernel(adjointStep(stepProgram(pendulum().hamiltonian, 'midpoint'), 'store'));
    const fields = declaredControl(wgsl);
    expect(fields.map((f) => f.name)).toEqual([...ADJOINT_CONTROL_WORDS]);
    const control = controlWriter(ADJOINT_CONTROL_WORDS);
    const values = { dt: 0.125, tStart: 2.5, steps: 9, stepBase: 40, offset: 128, batch: 77, storedSteps: 49 };
    control.set(values);
    expect(readAsDeclared(control.bytes, fields)).toEqual({ ...values, pad: 0 });
  });
});

describe('named status words', () => {
  /** Status words laid out by hand: 0 failure (step + 1 | flags), 1 iteration total, 2 iteration max, 3 residual bits. */
  function statusBuffer(rows: [number, number, number, number][]): ArrayBuffer {
    const words = new Uint32Array(rows.length * 4);
    rows.forEach((row, b) => words.set(row, 4 * b));
    return words.buffer;
  }
  const bitsOf = (x: number) => new Uint32Array(Float32Array.of(x).buffer)[0]!;

  it('decodes iteration statistics and an unconverged solve with its residual', () => {
    const status = decodeStatus(statusBuffer([[0, 12, 4, 0], [(7 + 1) | 0x80000000, 30, 100, bitsOf(0.5)], [0, 5, 2, 0]]), 3);
    expect(status).toEqual({ iterationsTotal: 47, iterationsMax: 100, failure: { kind: 'noConvergence', step: 7, trajectory: 1, residual: 0.5, iterations: 100 } });
  });

  it('decodes a non-finite state, one known only by a step, and a truncated loop first of all', () => {
    expect(decodeStatus(statusBuffer([[0, 0, 0, 0], [3, 0, 0, 0]]), 2).failure).toEqual({ kind: 'nonfinite', step: 2, trajectory: 1 });
    expect(decodeStatus(statusBuffer([[20 | 0x40000000, 0, 0, 0]]), 1).failure).toEqual({ kind: 'nonfiniteBy', step: 19, trajectory: 0 });
    expect(decodeStatus(statusBuffer([[3, 0, 0, 0], [9 | 0x20000000, 0, 0, 0]]), 2).failure).toEqual({ kind: 'truncated', step: 8, trajectory: 1 });
  });

  it('reads only the trajectories of the chunk', () => {
    expect(decodeStatus(statusBuffer([[0, 1, 1, 0], [5, 9, 9, 0]]), 1)).toEqual({ iterationsTotal: 1, iterationsMax: 1, failure: null });
  });
});
