import type { Shape } from './shape.js';

/** Static attributes of a node (exponents, indices, input roles, constant values). */
export type AttrValue = number | string | boolean | readonly number[];
export type Attrs = Readonly<Record<string, AttrValue>>;

let nextId = 0;
const table = new Map<string, Expr>();

/**
 * A node of the interned expression DAG. Never construct one directly: every node comes from the factory
 * (`make` and the builders in `build.ts`), which simplifies and interns, so structurally equal nodes are the
 * same object and `===` is structural equality.
 *
 * @example
 * const { q } = phaseSpace(1);
 * mul(2, index(q, 0)) === mul(2, index(q, 0)); // true
 */
export class Expr {
  /** Creation order; stable within a process, used for ordering and hashing. */
  readonly id: number;
  /** @internal */
  constructor(
    readonly op: string,
    readonly args: readonly Expr[],
    readonly attrs: Attrs,
    readonly shape: Shape,
    readonly key: string,
  ) {
    this.id = nextId++;
    Object.freeze(this.args);
    Object.freeze(this.attrs);
    Object.freeze(this.shape);
  }

  /** Whether this node is a scalar. */
  get isScalar(): boolean {
    return this.shape.length === 0;
  }
}

/**
 * Canonical text of attributes for the intern key; distinguishes -0 from 0.
 *
 * @example
 * attrsKey({ value: -0, shape: [2] }); // 'shape=[2];value=-0'
 */
export function attrsKey(attrs: Attrs): string {
  const keys = Object.keys(attrs).sort();
  if (keys.length === 0) return '';
  const num = (v: number) => (Object.is(v, -0) ? '-0' : String(v));
  return keys
    .map((k) => {
      const v = attrs[k]!;
      if (typeof v === 'number') return `${k}=${num(v)}`;
      if (Array.isArray(v)) return `${k}=[${(v as number[]).map(num).join(',')}]`;
      return `${k}=${JSON.stringify(v)}`;
    })
    .join(';');
}

/**
 * Returns the unique node with this op, args and attrs, creating it if needed (no simplification here:
 * use `make`). @internal
 *
 * @example
 * intern('const', [], { value: 1, shape: [] }, []) === intern('const', [], { value: 1, shape: [] }, []); // true
 */
export function intern(op: string, args: readonly Expr[], attrs: Attrs, shape: Shape): Expr {
  const key = `${op}(${args.map((a) => a.id).join(',')}){${attrsKey(attrs)}}`;
  let node = table.get(key);
  if (node === undefined) {
    node = new Expr(op, [...args], { ...attrs }, [...shape], key);
    table.set(key, node);
  }
  return node;
}

/** Number of interned nodes alive in the table (diagnostics). @example internedCount() > 0 */
export function internedCount(): number {
  return table.size;
}
