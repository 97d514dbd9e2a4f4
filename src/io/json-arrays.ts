/**
 * Named arrays as JSON: an object whose values are nested arrays of numbers (the nesting is the shape; a
 * scalar is a bare number). Numbers JSON cannot hold exactly are tagged as in darboux's graph JSON:
 * `{ "$number": "-0" | "NaN" | "Infinity" | "-Infinity" }`.
 */
import type { NdArray } from './ndarray.js';
import { corrupt, shapeSize } from './ndarray.js';

type Nested = number | { $number: string } | Nested[];

const TAGS: Record<string, number> = { '-0': -0, NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity };

function encodeNumber(x: number): number | { $number: string } {
  if (Number.isNaN(x)) return { $number: 'NaN' };
  if (x === Infinity || x === -Infinity) return { $number: String(x) };
  if (Object.is(x, -0)) return { $number: '-0' };
  return x;
}

/** An array as nested JSON arrays (row-major), numbers encoded. */
function nest(array: NdArray): Nested {
  const { shape, data } = array;
  if (shape.length === 0) return encodeNumber(data[0]!);
  let level: Nested[] = Array.from(data, encodeNumber);
  for (let axis = shape.length - 1; axis >= 1; axis--) {
    const n = shape[axis]!;
    const grouped: Nested[] = [];
    for (let i = 0; i < level.length; i += n) grouped.push(level.slice(i, i + n));
    level = grouped;
  }
  // A zero extent before the last axis: rebuild the empty outer levels from the shape.
  return shape.includes(0) ? emptyNest(shape) : level;
}

function emptyNest(shape: readonly number[]): Nested[] {
  const zero = shape.indexOf(0);
  let level: Nested = [];
  for (let axis = zero - 1; axis >= 0; axis--) level = Array.from({ length: shape[axis]! }, () => structuredClone(level));
  return level as Nested[];
}

/**
 * JSON text of named arrays: `{ "q": [[…], …], "t": [...] }`, each value nested to its shape.
 *
 * @example
 * writeJsonArrays({ q: { shape: [2, 1], data: Float64Array.of(1, -0) } }); // '{"q":[[1],[{"$number":"-0"}]]}'
 */
export function writeJsonArrays(entries: Readonly<Record<string, NdArray>>): string {
  const out: Record<string, Nested> = {};
  for (const [name, array] of Object.entries(entries)) {
    if (array.data.length !== shapeSize(array.shape, `writeJsonArrays '${name}'`)) throw corrupt('writeJsonArrays', `'${name}': data does not match shape [${array.shape.join(', ')}]`);
    out[name] = nest(array);
  }
  return JSON.stringify(out);
}

/**
 * Reads a JSON value of nested number arrays (rectangular) into an array with its shape.
 *
 * @example
 * jsonToArray([[1, 2], [3, 4]], 'q0.json') // { shape: [2, 2], data: Float64Array [1, 2, 3, 4] }
 */
export function jsonToArray(value: unknown, what: string): NdArray {
  const shape: number[] = [];
  let probe = value;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0];
  }
  const data = new Float64Array(shapeSize(shape, what));
  let level: unknown[] = [value];
  for (let axis = 0; axis < shape.length; axis++) {
    const next: unknown[] = [];
    for (const item of level) {
      if (!Array.isArray(item) || item.length !== shape[axis]) throw corrupt(what, `ragged or mixed nesting at depth ${axis + 1}: every array there must have ${shape[axis]} elements`);
      for (const x of item) next.push(x);
    }
    level = next;
  }
  level.forEach((x, i) => { data[i] = decodeNumber(x, what); });
  return { shape, data };
}

function decodeNumber(x: unknown, what: string): number {
  if (typeof x === 'number') return x;
  if (x !== null && typeof x === 'object' && typeof (x as { $number?: unknown }).$number === 'string') {
    const v = TAGS[(x as { $number: string }).$number];
    if (v !== undefined) return v;
  }
  throw corrupt(what, `${JSON.stringify(x)} is not a number (non-finite values are written { "$number": "NaN" | "Infinity" | "-Infinity" | "-0" })`);
}

/**
 * Reads JSON text into named arrays: an object of nested arrays (as {@link writeJsonArrays} writes), or a single
 * nested array (returned under the name `array`). Throws DarbouxError INPUT for bad JSON, ragged nesting or
 * values that are not numbers.
 *
 * @example
 * const { q, p } = readJsonArrays(fs.readFileSync('out.json', 'utf8'));
 */
export function readJsonArrays(text: string, what = 'json'): Record<string, NdArray> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw corrupt(what, `not valid JSON: ${(e as Error).message}`);
  }
  if (Array.isArray(value) || typeof value === 'number') return { array: jsonToArray(value, what) };
  if (value === null || typeof value !== 'object') throw corrupt(what, 'expected an object of arrays or a nested array of numbers');
  const out: Record<string, NdArray> = {};
  for (const [name, v] of Object.entries(value)) out[name] = jsonToArray(v, `${what}:${name}`);
  return out;
}
