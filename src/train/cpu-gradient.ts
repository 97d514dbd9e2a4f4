/**
 * The CPU (f64) batch gradient: one generated JavaScript function that loops over the minibatch's sample
 * records, evaluates the per-sample loss and parameter gradient with the shared lowering, and accumulates the
 * sums in place (no allocation in the loop; scratch arrays live in the closure). Parameter-only
 * subexpressions are computed once per call, outside the sample loop.
 */
import { loopInvariants } from '../codegen/invariants.js';
import { Lowering } from '../codegen/lowering.js';
import { jsTarget } from '../codegen/target-js.js';
import { bindTrainingInputs } from './bind-inputs.js';
import { gradientParts, offsetPlus, partRoots, writeElements, writeGradient } from '../codegen/gradient-writes.js';
import type { GradientProgram } from './gradient-program.js';

/**
 * Sums over the samples `rows[0 … count−1]` of the packed records in `data`: out[0] = Σ loss and, when compiled
 * with gradients, out[1 + j] = Σ ∂loss/∂θ_j (out has 1 + P entries; it is overwritten).
 */
export interface CpuBatchGradient {
  (data: Float64Array, theta: Float64Array, rows: ArrayLike<number>, count: number, out: Float64Array): void;
  readonly source: string;
}

/**
 * Compiles the batch loss (and, by default, its parameter gradient) of a gradient program to f64 JavaScript.
 *
 * @example
 * const f = compileCpuGradient(program);
 * const out = new Float64Array(1 + program.layout.total);
 * f(packed.rows, theta, Uint32Array.of(0, 1, 2), 3, out); // out[0]/3 is the mean loss
 */
export function compileCpuGradient(program: GradientProgram, options: { gradients?: boolean } = {}): CpuBatchGradient {
  const withGradients = options.gradients ?? true;
  const parts = withGradients ? program.gradients.map(gradientParts) : [];
  const outputs = [program.loss, ...partRoots(parts)];
  const lowering = new Lowering(jsTarget);
  const prologue = bindTrainingInputs(lowering, program, { data: 'data', base: 'base', theta: 'theta' });
  lowering.baseIndent = 1;
  lowering.emit(loopInvariants(outputs, program.graph.columns.map((c) => c.node)));
  const invariantLines = lowering.takeLines();
  lowering.baseIndent = 2;
  const values = lowering.emit(outputs);
  writeElements(lowering, program.loss, values[0]!, (_k, code) => `out[0] += ${code}`);
  parts.forEach((part, j) => {
    const at = 1 + program.layout.offsets[j]!;
    writeGradient(lowering, part, (k) => `out[${offsetPlus(at, k)}]`, true);
  });
  const source = [
    '"use strict";',
    ...lowering.hoisted,
    'return function batchGradient(data, theta, rows, count, out) {',
    '  out.fill(0);',
    ...prologue.map((l) => `  ${l}`),
    ...invariantLines,
    '  for (let s = 0; s < count; s++) {',
    `    const base = rows[s] * ${program.graph.stride};`,
    ...lowering.lines,
    '  }',
    '};',
  ].join('\n');
  const fn = new Function(source)() as (d: Float64Array, t: Float64Array, r: ArrayLike<number>, c: number, o: Float64Array) => void;
  return Object.assign(fn, { source });
}
