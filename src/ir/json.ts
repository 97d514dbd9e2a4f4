/**
 * Lossless JSON form of expression graphs: nodes in topological order, each naming its op, its arguments
 * (indices of earlier nodes) and its attributes. Rebuilding goes through the factory, so a graph read back
 * is the very same interned nodes: `graphFromJson(graphToJson(e))[0] === e`.
 */
import { DarbouxError } from '../errors.js';
import { Expr, type Attrs, type AttrValue } from './expr.js';
import { make } from './make.js';
import { opNames } from './op.js';
import { topologicalOrder } from './traverse.js';

/**
 * A number in graph JSON: finite numbers other than -0 as themselves; -0, ±Infinity and NaN (which
 * `JSON.stringify` would lose or turn into `null`) as a tagged object, e.g. `{ "$number": "-0" }`.
 */
export type JsonNumber = number | { $number: '-0' | 'Infinity' | '-Infinity' | 'NaN' };

/** An attribute value in graph JSON: strings and booleans as themselves, numbers as {@link JsonNumber}. */
export type JsonAttrValue = JsonNumber | string | boolean | JsonNumber[];

/** One node of a serialized graph. */
export interface GraphJsonNode {
  op: string;
  /** Indices of the argument nodes, each smaller than this node's own index. */
  args: number[];
  attrs: Record<string, JsonAttrValue>;
}

/** A serialized expression graph (format version 1). */
export interface GraphJson {
  version: 1;
  /** Every node reachable from the outputs, each after its arguments; shared nodes appear once. */
  nodes: GraphJsonNode[];
  /** Indices of the output nodes, in the order given to {@link graphToJson}. */
  outputs: number[];
}

const SPECIAL = new Map<string, number>([
  ['-0', -0],
  ['Infinity', Infinity],
  ['-Infinity', -Infinity],
  ['NaN', NaN],
]);

function encodeNumber(v: number): JsonNumber {
  if (Number.isNaN(v)) return { $number: 'NaN' };
  if (v === Infinity) return { $number: 'Infinity' };
  if (v === -Infinity) return { $number: '-Infinity' };
  if (Object.is(v, -0)) return { $number: '-0' };
  return v;
}

function encodeAttr(v: AttrValue): JsonAttrValue {
  if (typeof v === 'number') return encodeNumber(v);
  if (Array.isArray(v)) return (v as readonly number[]).map(encodeNumber);
  return v as string | boolean;
}

/**
 * The JSON form of the graph computing `outputs` (one expression or several sharing nodes).
 *
 * @example
 * const q = input('q', 'q', [2]);
 * const e = div(sin(index(q, 0)), -0);
 * const json = graphToJson(e); // { version: 1, nodes: [...], outputs: [4] }, -0 written as { "$number": "-0" }
 * graphFromJson(json)[0] === e; // true
 */
export function graphToJson(outputs: Expr | readonly Expr[]): GraphJson {
  const roots: readonly Expr[] = outputs instanceof Expr ? [outputs] : outputs;
  const order = topologicalOrder(roots);
  const position = new Map<Expr, number>(order.map((n, i) => [n, i]));
  const nodes = order.map((n) => ({
    op: n.op,
    args: n.args.map((a) => position.get(a)!),
    attrs: Object.fromEntries(Object.keys(n.attrs).sort().map((k) => [k, encodeAttr(n.attrs[k]!)])),
  }));
  return { version: 1, nodes, outputs: roots.map((r) => position.get(r)!) };
}

const jsonError = (message: string, details: Record<string, unknown> = {}) => new DarbouxError('JSON', message, details);
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function decodeNumber(v: unknown, where: string): number {
  if (typeof v === 'number') return v;
  if (isRecord(v) && Object.keys(v).length === 1 && typeof v.$number === 'string' && SPECIAL.has(v.$number)) return SPECIAL.get(v.$number)!;
  throw jsonError(`${where}: expected a number or {"$number": "-0" | "Infinity" | "-Infinity" | "NaN"}, got ${JSON.stringify(v)}`);
}

function decodeAttr(v: unknown, where: string): AttrValue {
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (Array.isArray(v)) return v.map((x, i) => decodeNumber(x, `${where}[${i}]`));
  return decodeNumber(v, where);
}

/**
 * Rebuilds the output expressions of a {@link GraphJson} through the factory: the result is simplified and
 * interned, so a graph written by {@link graphToJson} comes back as the identical nodes. Throws a `JSON`
 * {@link DarbouxError} for a wrong version, an unknown op, an argument index that is not an earlier node,
 * a malformed attribute, or a node the factory rejects (e.g. a shape mismatch).
 *
 * @example
 * const e = add(sin(index(input('q', 'q', [1]), 0)), 1);
 * graphFromJson(graphToJson([e, e])); // [e, e]
 */
export function graphFromJson(json: GraphJson): Expr[] {
  if (!isRecord(json)) throw jsonError(`a graph must be an object { version, nodes, outputs }, got ${json === null ? 'null' : typeof json}`);
  if (json.version !== 1) throw jsonError(`unsupported graph version ${JSON.stringify(json.version)}: this darboux reads version 1`);
  const { nodes, outputs } = json as { nodes: unknown; outputs: unknown };
  if (!Array.isArray(nodes)) throw jsonError('graph.nodes must be an array');
  if (!Array.isArray(outputs)) throw jsonError('graph.outputs must be an array');
  const ops = new Set(opNames());
  const built: Expr[] = [];
  nodes.forEach((raw: unknown, k) => {
    const where = `node ${k}`;
    if (!isRecord(raw)) throw jsonError(`${where}: expected an object { op, args, attrs }`, { node: k });
    const { op, args, attrs } = raw;
    if (typeof op !== 'string' || !ops.has(op)) throw jsonError(`${where}: unknown op ${JSON.stringify(op)}`, { node: k, op });
    if (!Array.isArray(args)) throw jsonError(`${where} (${op}): args must be an array of node indices`, { node: k });
    const argNodes = args.map((a: unknown) => {
      if (typeof a !== 'number' || !Number.isInteger(a) || a < 0 || a >= k) {
        throw jsonError(`${where} (${op}): argument ${JSON.stringify(a)} is not the index of an earlier node`, { node: k, arg: a });
      }
      return built[a]!;
    });
    if (attrs !== undefined && !isRecord(attrs)) throw jsonError(`${where} (${op}): attrs must be an object`, { node: k });
    // fromEntries defines own properties, so a key like "__proto__" cannot reach a prototype.
    const decoded: Attrs = Object.fromEntries(Object.entries(attrs ?? {}).map(([key, v]) => [key, decodeAttr(v, `${where} (${op}) attribute '${key}'`)]));
    try {
      built.push(make(op, argNodes, decoded));
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      throw jsonError(`${where} (${op}) cannot be built: ${message}`, { node: k, op, cause: e });
    }
  });
  return outputs.map((o: unknown) => {
    if (typeof o !== 'number' || !Number.isInteger(o) || o < 0 || o >= built.length) {
      throw jsonError(`output ${JSON.stringify(o)} is not the index of a node`, { output: o });
    }
    return built[o]!;
  });
}

/**
 * {@link graphToJson} as a JSON string.
 *
 * @example
 * const text = serializeGraph(H);
 * deserializeGraph(text)[0] === H; // true
 */
export function serializeGraph(outputs: Expr | readonly Expr[]): string {
  return JSON.stringify(graphToJson(outputs));
}

/**
 * {@link graphFromJson} of a JSON string; malformed JSON is a `JSON` {@link DarbouxError}.
 *
 * @example
 * const [H] = deserializeGraph(serializeGraph(H0)); // H === H0
 */
export function deserializeGraph(text: string): Expr[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw jsonError(`not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  return graphFromJson(json as GraphJson);
}
