/**
 * Binding a gradient program's leaves for the shared lowering (JS and WGSL alike): the per-sample columns to a
 * packed sample record, the parameters to the flat θ buffer (writing gradients out: src/codegen/gradient-writes.ts).
 */
import type { Lowering } from '../codegen/lowering.js';
import { size } from '../ir/shape.js';
import type { GradientProgram } from './gradient-program.js';

/** Names in generated code: the sample buffer, the record's base index, the θ buffer. */
export interface BindingNames {
  data: string;
  base: string;
  theta: string;
}

/**
 * Binds every column of the loss to `data[base + …]` (short vectors as unrolled scalars) and every parameter
 * to `theta[offset + …]`; returns prologue statements reading scalar parameters into constants.
 *
 * @example
 * const prologue = bindTrainingInputs(lowering, program, { data: 'data', base: 'base', theta: 'theta' });
 */
export function bindTrainingInputs(lowering: Lowering, program: GradientProgram, names: BindingNames): string[] {
  let at = 0;
  for (const c of program.graph.columns) {
    const offset = at === 0 ? names.base : `${names.base} + ${at}`;
    if (c.width <= lowering.unrollLimit) {
      lowering.bind(c.node, { kind: 'unrolled', elems: Array.from({ length: c.width }, (_, i) => `${names.data}[${names.base} + ${at + i}]`) });
    } else {
      lowering.bind(c.node, { kind: 'array', name: names.data, size: c.width, offset });
    }
    at += c.width;
  }
  const prologue: string[] = [];
  program.layout.nodes.forEach((node, k) => {
    const off = program.layout.offsets[k]!;
    if (node.shape.length === 0) {
      const name = `th${k}`;
      prologue.push(lowering.syntax.constDecl(name, `${names.theta}[${off}]`));
      lowering.bind(node, { kind: 'scalar', code: name });
    } else {
      lowering.bind(node, { kind: 'array', name: names.theta, size: size(node.shape), offset: off });
    }
  });
  return prologue;
}
