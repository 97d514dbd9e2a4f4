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

/**
 * Whether the per-sample lowering beats the batched one for this network, so `cpuLowering: 'auto'` keeps it: one
 * hidden layer with width × dof ≤ 16, where the per-sample code holds every weight block in unrolled scalars. Measured
 * (CPU time per gradient, batch 128, softplus): per-sample 2.0–2.3× faster at dof 1 [8], [12], [16], dof 2 [4], [8] and
 * dof 3 [4], 1.3× at dof 4 [4]; batched faster at dof 1 [24] (1.7×), [32] (1.6×), dof 2 [12] (1.2×), dof 2 [16] (25×),
 * dof 5 [4] (1.5×), dof 6 [4] (27×), every two-layer network (1.4× at dof 2 [4, 4], 9× at dof 3 [32, 32]); the one
 * miss of the rule is dof 3 [8] (per-sample 1.5× faster, both under a microsecond per sample).
 *
 * @example
 * perSampleIsFaster(spec); // true for lnn({ dof: 1, hidden: [8] })
 */
export function perSampleIsFaster(spec: BatchedLnnSpec): boolean {
  const layers = spec.network.layers;
  return layers.length === 1 && layers[0]!.width * spec.dof <= 16;
}
