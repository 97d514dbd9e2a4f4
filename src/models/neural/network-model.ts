/**
 * The one implementation of `NeuralModel` shared by hnn, mlpField and sympnet: a fixed expression graph over
 * q, p and parameter nodes (built once per architecture), plus parameter values. `withParams` swaps values
 * and keeps the graph, so compiled kernels keyed by the graph stay valid.
 */
import type { Expr } from '../../ir/expr.js';
import { Hamiltonian } from '../../system/hamiltonian.js';
import { neg } from '../../ir/build.js';
import type { NeuralKind, NeuralModel, ParamTensors } from './model.js';
import { mergeParams } from './params.js';

/** The architecture-dependent part of a model: built once, shared by every `withParams` copy. */
export interface NetworkGraph {
  readonly kind: NeuralKind;
  readonly dof: number;
  readonly q: Expr;
  readonly p: Expr;
  readonly paramNodes: readonly Expr[];
  readonly options: Readonly<Record<string, unknown>>;
  /** hnn: the scalar energy expression. */
  readonly H?: Expr;
  /** mlpField: the field expressions. */
  readonly field?: { q: Expr; p: Expr };
  /** sympnet: the map's output expressions. */
  readonly map?: { q: Expr; p: Expr };
}

/**
 * A neural model: a `NetworkGraph` with parameter values. Constructed by `hnn`, `mlpField` and `sympnet`.
 *
 * @example
 * const model = hnn({ dof: 1, hidden: [16], activation: 'tanh', seed: 0 });
 * const again = model.withParams(JSON.parse(JSON.stringify(model.params)));
 */
export class NetworkModel implements NeuralModel {
  readonly kind: NeuralKind;
  readonly dof: number;
  readonly q: Expr;
  readonly p: Expr;
  readonly paramNodes: readonly Expr[];
  readonly params: ParamTensors;
  readonly options: Readonly<Record<string, unknown>>;
  readonly hamiltonian?: Hamiltonian;
  private readonly graph: NetworkGraph;
  private readonly fieldCache: { value?: { q: Expr; p: Expr } };

  /**
   * Time derivatives (q̇, ṗ) — hnn: (∂H/∂p, −∂H/∂q) by reverse-mode differentiation of H; mlpField: the
   * network's outputs. Absent on a sympnet. @example const { q: qdot, p: pdot } = model.field!()
   */
  readonly field?: () => { q: Expr; p: Expr };
  /** sympnet: the learned one-step map (q′, p′). Absent otherwise. @example const { q: q1, p: p1 } = net.map!() */
  readonly map?: () => { q: Expr; p: Expr };

  constructor(graph: NetworkGraph, params: ParamTensors, fieldCache: { value?: { q: Expr; p: Expr } } = {}) {
    this.graph = graph;
    this.kind = graph.kind;
    this.dof = graph.dof;
    this.q = graph.q;
    this.p = graph.p;
    this.paramNodes = graph.paramNodes;
    this.options = graph.options;
    this.params = Object.freeze(params);
    this.fieldCache = fieldCache;
    if (graph.H !== undefined) {
      const h = new Hamiltonian({ H: graph.H, q: graph.q, p: graph.p, params });
      this.hamiltonian = h;
      this.field = () => {
        if (fieldCache.value === undefined) {
          const { dq, dp } = h.gradientExprs();
          fieldCache.value = { q: dp, p: neg(dq) };
        }
        return fieldCache.value;
      };
    } else if (graph.field !== undefined) {
      const field = graph.field;
      this.field = () => field;
    }
    if (graph.map !== undefined) {
      const map = graph.map;
      this.map = () => map;
    }
  }

  /** The same architecture with other values (missing names keep theirs). @example model.withParams(res.params) */
  withParams(params: ParamTensors | Record<string, number | ArrayLike<number>>): NetworkModel {
    return new NetworkModel(this.graph, mergeParams(this.paramNodes, this.params, params), this.fieldCache);
  }
}
