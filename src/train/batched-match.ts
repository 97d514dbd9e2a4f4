/**
 * Recognises the losses the batched CPU lowering handles: the derivative loss of an HNN whose energy is a sum of
 * scalar MLPs, H = Σ_n w_n·σ(W_{n,L}·…σ(Σ_k W_{n,1,k}·x_k + b_{n,1})… + b_{n,L}) (+ constants or scalar
 * parameters, which the derivative loss does not see), x_k ∈ {q, p}. The match reads the IR of H, not the
 * model's options, so it covers `hnn` (separable or not) and any hand-built network of that shape; anything
 * else returns a reason instead of a spec and training falls back to the per-sample lowering.
 */
import type { Expr } from '../ir/expr.js';
import { neg } from '../ir/build.js';
import type { NeuralModel } from '../models/neural/model.js';
import type { GradientProgram } from './gradient-program.js';

/** Activations with fused value, first and second derivative in the batched lowering. */
export type BatchedActivation = 'tanh' | 'softplus' | 'sigmoid' | 'sin';
const ACTIVATIONS: readonly string[] = ['tanh', 'softplus', 'sigmoid', 'sin'];

/** One weight block of a dense layer: θ offset, its [rows × cols] shape and the input column it starts at. */
export interface BatchedWeight {
  offset: number;
  rows: number;
  cols: number;
  /** First-layer blocks: 0 for q, dof for p (the input is z = [q; p]); deeper layers: 0. */
  inputColumn: number;
}

/** A dense layer σ(Σ W·x + b) of one network. */
export interface BatchedLayer {
  width: number;
  activation: BatchedActivation;
  weights: BatchedWeight[];
  /** θ offset of the bias, if any. */
  bias?: number;
}

/** One scalar MLP term w·h_L of H. */
export interface BatchedNetwork {
  layers: BatchedLayer[];
  /** θ offset of the output weight vector w (length = last layer's width). */
  out: number;
}

/** What the batched derivative-loss lowering needs: the networks and where q, p, q̇, ṗ sit in a data record. */
export interface BatchedHnnSpec {
  dof: number;
  networks: BatchedNetwork[];
  /** Record offsets of the q, p, dqdt, dpdt columns and floats per record. */
  columns: { q: number; p: number; dqdt: number; dpdt: number };
  stride: number;
  /** Number of parameters P. */
  parameters: number;
}

/** The terms of a tree of `add` nodes (iterative). */
function addTerms(e: Expr): Expr[] {
  const terms: Expr[] = [], stack = [e];
  while (stack.length > 0) {
    const x = stack.pop()!;
    if (x.op === 'add') stack.push(x.args[1]!, x.args[0]!);
    else terms.push(x);
  }
  return terms;
}

const isParam = (e: Expr): boolean => e.op === 'input' && e.attrs.role === 'param';

/** A dense layer's pre-activation: weight blocks W·x and at most one bias; x are the inputs it reads. */
function matchDense(a: Expr, offsetOf: Map<Expr, number>, width: number): { layer: Omit<BatchedLayer, 'activation'>; inputs: Expr[] } | string {
  const weights: { node: Expr; x: Expr }[] = [];
  let bias: number | undefined;
  for (const t of addTerms(a)) {
    if (t.op === 'matvec' && isParam(t.args[0]!) && offsetOf.has(t.args[0]!)) weights.push({ node: t.args[0]!, x: t.args[1]! });
    else if (isParam(t) && t.shape.length === 1 && offsetOf.has(t) && bias === undefined) bias = offsetOf.get(t)!;
    else return `a '${t.op}' term in a dense layer`;
  }
  if (weights.length === 0) return 'a layer without a weight matrix';
  const layer = {
    width,
    weights: weights.map((w) => ({ offset: offsetOf.get(w.node)!, rows: w.node.shape[0]!, cols: w.node.shape[1]!, inputColumn: 0 })),
    ...(bias === undefined ? {} : { bias }),
  };
  return { layer, inputs: weights.map((w) => w.x) };
}

/**
 * One term w·σ(…) of H (or of an lnn's L) as a network, walking from the output layer down to q and p
 * (iteratively); `model.p` is the velocity node of an lnn.
 *
 * @example
 * const net = matchNetwork(model.lagrangian!.L, model, offsetOf); // a BatchedNetwork, or the reason as a string
 */
export function matchNetwork(term: Expr, model: NeuralModel, offsetOf: Map<Expr, number>): BatchedNetwork | string {
  if (term.op !== 'dot') return `a '${term.op}' term in H`;
  const [x, y] = term.args as [Expr, Expr];
  const [w, h] = isParam(x) && offsetOf.has(x) ? [x, y] : [y, x];
  if (!isParam(w) || !offsetOf.has(w)) return 'an output product without a weight vector';
  const layers: BatchedLayer[] = [];
  let node = h;
  for (;;) {
    if (!ACTIVATIONS.includes(node.op)) return `a '${node.op}' node where an activation was expected`;
    const dense = matchDense(node.args[0]!, offsetOf, node.shape[0]!);
    if (typeof dense === 'string') return dense;
    const layer: BatchedLayer = { ...dense.layer, activation: node.op as BatchedActivation };
    layers.unshift(layer);
    if (dense.inputs.every((i) => i === model.q || i === model.p)) {
      dense.inputs.forEach((i, k) => (layer.weights[k]!.inputColumn = i === model.q ? 0 : model.dof));
      break;
    }
    if (dense.inputs.length !== 1) return 'a hidden layer that reads more than one vector';
    node = dense.inputs[0]!;
  }
  return { layers, out: offsetOf.get(w)! };
}

/**
 * The batched spec of a gradient program, or the reason it does not apply (a string).
 *
 * @example
 * const spec = matchBatchedHnn(model, program);
 * if (typeof spec !== 'string') compileBatchedGradient(spec);
 */
export function matchBatchedHnn(model: NeuralModel, program: GradientProgram): BatchedHnnSpec | string {
  const { graph, layout } = program;
  if (graph.name !== 'derivative') return `the ${graph.name} loss (only the derivative loss is batched)`;
  if (model.kind !== 'hnn' || model.hamiltonian === undefined || model.field === undefined) return `a ${model.kind} model (only hnn is batched)`;
  const fields = graph.columns.map((c) => c.field).join(',');
  if (fields !== 'q,p,dqdt,dpdt') return `the loss reads columns ${fields} (an energy regulariser is not batched)`;
  const h = model.hamiltonian;
  const field = model.field();
  const { dq, dp } = h.gradientExprs();
  if (field.q !== dp || field.p !== neg(dq)) return 'the model field is not (∂H/∂p, −∂H/∂q)';
  const offsetOf = new Map(layout.nodes.map((n, k) => [n, layout.offsets[k]!] as const));
  const networks: BatchedNetwork[] = [];
  for (const term of addTerms(h.H)) {
    if (term.op === 'const' || (isParam(term) && term.shape.length === 0)) continue;
    const net = matchNetwork(term, model, offsetOf);
    if (typeof net === 'string') return net;
    networks.push(net);
  }
  if (networks.length === 0) return 'H has no network term';
  const columns = { q: 0, p: 0, dqdt: 0, dpdt: 0 };
  let at = 0;
  for (const c of graph.columns) {
    columns[c.field as keyof typeof columns] = at;
    at += c.width;
  }
  return { dof: model.dof, networks, columns, stride: graph.stride, parameters: layout.total };
}
