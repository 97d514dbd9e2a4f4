/**
 * The parameter-gradient program of a per-sample loss: the loss and its reverse-mode gradient with respect to
 * every parameter node, as plain expressions (so the θ-gradient of a loss that already contains ∇_z H is just
 * the VJP of a graph that happens to contain a VJP), plus the flat layout of the parameter vector θ.
 */
import { DarbouxError, showValue } from '../errors.js';
import { gradient } from '../autodiff/vjp.js';
import type { Expr } from '../ir/expr.js';
import { size } from '../ir/shape.js';
import { graphSize, inputsOf } from '../ir/traverse.js';
import type { NeuralModel, ParamTensors } from '../models/neural/model.js';
import type { LossGraph } from './losses.js';

/** Where each parameter lives in the flat vector θ. */
export interface ParamLayout {
  nodes: readonly Expr[];
  names: readonly string[];
  offsets: readonly number[];
  sizes: readonly number[];
  /** Total number of scalars P. */
  total: number;
}

/** A per-sample loss with its parameter gradients. */
export interface GradientProgram {
  graph: LossGraph;
  layout: ParamLayout;
  loss: Expr;
  /** ∂loss/∂θ_k, one expression per parameter node, shaped like the parameter. */
  gradients: Expr[];
  /** Nodes of the loss, and of the loss with every gradient. */
  sizes: { loss: number; gradient: number };
}

/**
 * The flat layout of a model's parameters (in `paramNodes` order).
 *
 * @example
 * const layout = paramLayout(model); layout.total // number of trainable scalars
 */
export function paramLayout(model: NeuralModel): ParamLayout {
  const names: string[] = [], offsets: number[] = [], sizes: number[] = [];
  let total = 0;
  for (const node of model.paramNodes) {
    if (node.op !== 'input' || node.attrs.role !== 'param') throw new DarbouxError('SPEC', `model.paramNodes must be param inputs; got a '${node.op}' node`);
    names.push(node.attrs.name as string);
    offsets.push(total);
    sizes.push(size(node.shape));
    total += size(node.shape);
  }
  return { nodes: model.paramNodes, names, offsets, sizes, total };
}

/**
 * θ as one Float64Array from the model's current values (checked against the shapes).
 *
 * @example
 * const theta = packParams(layout, model.params);
 */
export function packParams(layout: ParamLayout, params: ParamTensors): Float64Array {
  const theta = new Float64Array(layout.total);
  layout.names.forEach((name, k) => {
    const v = params[name];
    if (v === undefined || v.length !== layout.sizes[k]) {
      throw new DarbouxError('SPEC', `parameter '${name}' needs ${layout.sizes[k]} value(s), the model has ${v === undefined ? 'none' : v.length}`);
    }
    for (let i = 0; i < v.length; i++) {
      if (!Number.isFinite(v[i])) throw new DarbouxError('INPUT', `parameter '${name}'[${i}] is ${v[i]}; initial parameters must be finite`);
      theta[layout.offsets[k]! + i] = v[i]!;
    }
  });
  return theta;
}

/**
 * θ back to named JSON-safe arrays (plain number[] per name).
 *
 * @example
 * JSON.stringify(unpackParams(layout, theta));
 */
export function unpackParams(layout: ParamLayout, theta: ArrayLike<number>): ParamTensors {
  const out: ParamTensors = {};
  layout.names.forEach((name, k) => {
    const o = layout.offsets[k]!;
    out[name] = Array.from({ length: layout.sizes[k]! }, (_, i) => theta[o + i]!);
  });
  return out;
}

/**
 * Differentiates a per-sample loss with respect to every parameter of the model (reverse mode, one sweep).
 * Throws SPEC when the loss reads a parameter that is not among `model.paramNodes`.
 *
 * @example
 * const program = gradientProgram(model, lossGraph(model, { loss: 'derivative' }));
 * program.sizes; // { loss: …, gradient: … }
 */
export function gradientProgram(model: NeuralModel, graph: LossGraph): GradientProgram {
  const layout = paramLayout(model);
  const known = new Set(layout.nodes);
  const columns = new Set(graph.columns.map((c) => c.node));
  for (const node of inputsOf([graph.loss])) {
    const role = node.attrs.role as string;
    if (role === 'param' && !known.has(node)) {
      throw new DarbouxError('SPEC', `the loss reads parameter ${showValue(node.attrs.name)}, which is not in model.paramNodes`);
    }
    if (role !== 'param' && !columns.has(node)) {
      throw new DarbouxError('SPEC', `the loss reads the ${role} input ${showValue(node.attrs.name)}, which no data column fills (time-dependent models need a rollout with fixed times)`);
    }
  }
  const gradients = gradient(graph.loss, layout.nodes);
  return {
    graph,
    layout,
    loss: graph.loss,
    gradients,
    sizes: { loss: graphSize([graph.loss]), gradient: graphSize([graph.loss, ...gradients]) },
  };
}
