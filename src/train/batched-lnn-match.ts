/**
 * Recognises the losses the batched CPU lowering of Lagrangian networks handles: the acceleration loss of an lnn
 * whose L is one scalar MLP, L = w·σ(W_L·…σ(W_{1,q}·q + W_{1,v}·v + b_1)… + b_L), or an MLP of a parameter-free
 * input layer φ(q, v) (the Noether-invariant networks: L = w·σ(…σ(W_1·φ(q, v) + b_1)…)), read from the IR of L (as
 * batched-match.ts reads H), so `lnn(…)` and any hand-built network of that shape match; anything else returns a
 * reason and training falls back to the per-sample lowering.
 */
import { input } from '../ir/build.js';
import type { Expr } from '../ir/expr.js';
import { inputsOf, substitute } from '../ir/traverse.js';
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
  /**
   * A Noether-invariant network: its first layer reads φ(q, v) (the invariants, `inputs` of them, no parameters),
   * applied per sample before the MLP (first-layer weight blocks then read column 0 of φ).
   */
  invariant?: { phi: Expr; q: Expr; v: Expr; inputs: number };
}

const ACTIVATION_OPS: readonly string[] = ['tanh', 'softplus', 'sigmoid', 'sin'];

/** The vector the first dense layer of L = w·σ(…) reads: walks matvec inputs down through activations (iteratively). */
function firstLayerInput(L: Expr): Expr | undefined {
  let node: Expr | undefined = L.op === 'dot' ? L.args.find((a) => !(a.op === 'input' && a.attrs.role === 'param')) : undefined;
  while (node !== undefined && ACTIVATION_OPS.includes(node.op)) {
    const stack = [node.args[0]!], reads: Expr[] = [];
    while (stack.length > 0) {
      const t = stack.pop()!;
      if (t.op === 'add') stack.push(...t.args);
      else if (t.op === 'matvec') reads.push(t.args[1]!);
    }
    if (reads.length !== 1) return undefined;
    node = reads[0]!;
  }
  return node;
}

/** The network of a Noether-invariant L, with φ(q, v) replaced by a placeholder input, or the reason it does not match. */
function matchInvariant(model: NeuralModel, offsetOf: Map<Expr, number>): { network: BatchedNetwork; invariant: NonNullable<BatchedLnnSpec['invariant']> } | string {
  const L = model.lagrangian!;
  const phi = firstLayerInput(L.L);
  if (phi === undefined || phi.shape.length !== 1) return 'an lnn whose first layer does not read one vector';
  if (inputsOf([phi]).some((n) => n !== L.q && n !== L.v)) return 'an lnn input layer that reads more than q and v';
  const placeholder = input('aux', 'lnn.invariants', [phi.shape[0]!]);
  const [body] = substitute([L.L], new Map([[phi, placeholder]]));
  const network = matchNetwork(body!, { q: placeholder, p: placeholder, dof: 0 } as unknown as NeuralModel, offsetOf);
  if (typeof network === 'string') return network;
  return { network, invariant: { phi, q: L.q, v: L.v, inputs: phi.shape[0]! } };
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
  const direct = matchNetwork(L.L, model, offsetOf);
  const matched = typeof direct === 'string' ? matchInvariant(model, offsetOf) : { network: direct };
  if (typeof matched === 'string') return typeof direct === 'string' ? direct : matched;
  const columns = { q: 0, v: 0, a: 0 };
  let at = 0;
  for (const c of graph.columns) {
    columns[c.field as keyof typeof columns] = at;
    at += c.width;
  }
  return { dof: model.dof, ...matched, columns, stride: graph.stride, parameters: layout.total };
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
