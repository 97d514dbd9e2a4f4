import type { Shape } from './shape.js';

/** Static attributes of a node (exponents, indices, input roles, constant values). */
export type AttrValue = number | string | boolean | readonly number[];
export type Attrs = Readonly<Record<string, AttrValue>>;

let nextId = 0;

/**
 * The intern table, weak: key → a weak reference to the node. A node stays in the table exactly as long as it is
 * alive (its parents, and whoever built it, hold it strongly), so a long-lived process that builds and drops
 * graphs does not grow. A dead node's entry is removed by the finalization registry — only if the entry still
 * holds a dead reference (the key may have been interned again, by a new live node, in between).
 */
const table = new Map<string, WeakRef<Expr>>();
const finalizer = new FinalizationRegistry<string>((key) => {
  if (table.get(key)?.deref() === undefined) table.delete(key);
});

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
  let keys: string[] | undefined;
  for (const k in attrs) (keys ??= []).push(k);
  if (keys === undefined) return '';
  keys.sort();
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
 * The intern key of a node: its op, its arguments' ids and its attributes. @internal
 *
 * @example
 * internKey('add', [x, y], {}); // 'add(3,7){}'
 */
export function internKey(op: string, args: readonly Expr[], attrs: Attrs): string {
  let key = `${op}(`;
  for (let k = 0; k < args.length; k++) key += k === 0 ? `${args[k]!.id}` : `,${args[k]!.id}`;
  return `${key}){${attrsKey(attrs)}}`;
}

/**
 * The live interned node with this key, if any (a node that exists was built by `make` from the same op, args and
 * attrs, so `make` would return it again). @internal
 *
 * @example
 * internedNode(internKey('add', [x, y], {})) === add(x, y); // true once add(x, y) exists
 */
export function internedNode(key: string): Expr | undefined {
  return table.get(key)?.deref();
}

/** Shared frozen empty attributes and scalar shape (most nodes have both). */
const NO_ATTRS: Attrs = Object.freeze({});
const SCALAR: Shape = Object.freeze([]) as Shape;
const hasKeys = (attrs: Attrs): boolean => {
  for (const _ in attrs) return true;
  return false;
};

/**
 * Returns the unique node with this op, args and attrs, creating it if needed (no simplification here:
 * use `make`). @internal
 *
 * @example
 * intern('const', [], { value: 1, shape: [] }, []) === intern('const', [], { value: 1, shape: [] }, []); // true
 */
export function intern(op: string, args: readonly Expr[], attrs: Attrs, shape: Shape, key: string = internKey(op, args, attrs)): Expr {
  let node = table.get(key)?.deref();
  if (node === undefined) {
    node = new Expr(op, [...args], hasKeys(attrs) ? { ...attrs } : NO_ATTRS, shape.length === 0 ? SCALAR : [...shape], key);
    table.set(key, new WeakRef(node));
    finalizer.register(node, key);
  }
  return node;
}

/**
 * Number of interned nodes alive in the table (diagnostics; walks the table). After a garbage collection, nodes
 * no longer reachable are gone, so this stays bounded in a long-lived process.
 *
 * @example
 * internedCount() > 0
 */
export function internedCount(): number {
  let alive = 0;
  for (const ref of table.values()) if (ref.deref() !== undefined) alive++;
  return alive;
}
