import type { Expr } from './expr.js';
import { evaluateOp } from './evaluate-op.js';
import { opDef } from './op.js';
import { size } from './shape.js';
import { topologicalOrder } from './traverse.js';

/** An f64 evaluator of a graph: reads flat input arrays, writes flat output arrays (the shape of a compiled JS function). */
export type GraphEvaluator = (inputs: readonly ArrayLike<number>[], outputs: readonly Float64Array[]) => void;

/**
 * The reference f64 evaluator of a graph: every node evaluated by its op record, in one iterative pass over a
 * topological order fixed once (so graphs of any depth work). Input node k reads `inputs[k]`; output k is
 * written flat into `outputs[k]`. It is the IR's own semantics — the oracle the code generators are tested
 * against — and what `Hamiltonian.energy` and `gradient` use, without reaching into code generation.
 *
 * @example
 * const f = graphEvaluator([q, p], [H]);
 * const out = [new Float64Array(1)];
 * f([Float64Array.of(1, 0), Float64Array.of(0, 1)], out); // out[0][0] = H(q, p)
 */
export function graphEvaluator(inputs: readonly Expr[], outputs: readonly Expr[]): GraphEvaluator {
  const slotOf = new Map<Expr, number>();
  inputs.forEach((node, k) => slotOf.set(node, k));
  const order = topologicalOrder(outputs, (n) => slotOf.has(n)).filter((n) => !slotOf.has(n));
  const steps = order.map((node) => {
    slotOf.set(node, slotOf.size);
    // A leaf is evaluated once, here (an input that is not among `inputs` is refused by its op record).
    const constant = node.args.length === 0 ? evaluateOp(opDef(node.op), [], node) : null;
    return { node, def: opDef(node.op), args: node.args.map((a) => slotOf.get(a)!), constant };
  });
  const outputSlots = outputs.map((o) => slotOf.get(o)!);
  return (values, out) => {
    const slots: Float64Array[] = new Array(slotOf.size);
    inputs.forEach((node, k) => {
      const v = values[k]!;
      slots[k] = v instanceof Float64Array && v.length === size(node.shape) ? v : Float64Array.from({ length: size(node.shape) }, (_, i) => v[i]!);
    });
    let at = inputs.length;
    for (const step of steps) {
      slots[at++] = step.constant ?? evaluateOp(step.def, step.args.map((k) => slots[k]!), step.node);
    }
    outputSlots.forEach((slot, k) => out[k]!.set(slots[slot]!));
  };
}
