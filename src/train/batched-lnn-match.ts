/**
 * Recognises the losses the batched CPU lowering of Lagrangian networks handles: the acceleration loss of an lnn
 * whose L is one scalar MLP, L = w·σ(W_L·…σ(W_{1,q}·q + W_{1,v}·v + b_1)… + b_L), read from the IR of L (as
 * batched-match.ts reads H), so `lnn({ dof, hidden, activation })` and any hand-built network of that shape match;
 * anything else returns a reason and training falls back to the per-sample lowering.
 */
import type { NeuralModel } from '../models/neural/model.js';
import { matchNetwork, type BatchedNetwork } from './batched-match.js';
import type { GradientProgram } from './gradient-program.js';

/** What the batched acceleration-loss lowering needs: the network of L and where q, v, a sit in a data record. */
export interface BatchedLnnSpec {
  dof: number;
  /** L = w·x_L; first-layer weight blocks read column 0 (q) or dof (v) of z = [q; v]. */
  network: BatchedNetwork;
  /** Record offsets of the q, v and a columns, and floats per record. */
  columns: { q: number; v: number; a: number };
  stride: number;
  /** Number of parameters P. */
  parameters: number;
}

/**
 * The batched spec of an lnn's acceleration-loss program, or the reason it does not apply (a string).
 *
 * @example
 * const spec = matchBatchedLnn(model, program);
 * if (typeof spec !== 'string') compileBatchedLnnGradient(spec);
 */
export function matchBatchedLnn(model: NeuralModel, program: GradientProgram): BatchedLnnSpec | string {
  const { graph, layout } = program;
  if (graph.name !== 'acceleration') return `the ${graph.name} loss of an lnn (only the acceleration loss is batched)`;
  const L = model.lagrangian;
  if (model.kind !== 'lnn' || L === undefined) return `a ${model.kind} model with the acceleration loss`;
  if (L.q !== model.q || L.v !== model.p) return 'a Lagrangian whose q and v are not the model state nodes';
  const fields = graph.columns.map((c) => c.field).join(',');
  if (fields !== 'q,v,a') return `the loss reads columns ${fields}`;
  const offsetOf = new Map(layout.nodes.map((n, k) => [n, layout.offsets[k]!] as const));
  const network = matchNetwork(L.L, model, offsetOf);
  if (typeof network === 'string') {
    return model.options.symmetry !== undefined && model.options.symmetry !== 'none'
      ? `a Noether-invariant lnn (symmetry '${String(model.options.symmetry)}': its invariant input layer is not batched)`
      : network;
  }
  const columns = { q: 0, v: 0, a: 0 };
  let at = 0;
  for (const c of graph.columns) {
    columns[c.field as keyof typeof columns] = at;
    at += c.width;
  }
  return { dof: model.dof, network, columns, stride: graph.stride, parameters: layout.total };
}
