/**
 * Printing results: JSON documents (numbers JSON cannot hold tagged as in darboux's array JSON) and the final
 * state as a CSV table.
 */
import { writeCsv } from '../index.js';
import type { CliStreams } from './terminal.js';

/** Replaces numbers JSON cannot hold (NaN, ±Infinity, −0) with `{ "$number": … }`, as the array files do. */
function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'number' && (!Number.isFinite(value) || Object.is(value, -0))) return { $number: Object.is(value, -0) ? '-0' : String(value) };
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return Array.from(value as Float64Array, (x) => jsonSafe('', x));
  return value;
}

/**
 * Writes one JSON document (and a newline) to stdout.
 *
 * @example
 * printJson(io, { command: 'run', steps: 1000 });
 */
export function printJson(io: CliStreams, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, jsonSafe)}\n`);
}

/**
 * batch × dof rows as nested arrays (for JSON output).
 *
 * @example
 * rowsOf(Float64Array.of(1, 2, 3, 4), 2) // [[1, 2], [3, 4]]
 */
export function rowsOf(data: Float64Array, dof: number): number[][] {
  const rows: number[][] = [];
  for (let i = 0; i < data.length; i += dof) rows.push(Array.from(data.subarray(i, i + dof)));
  return rows;
}

/**
 * The final state as CSV on stdout: header q names then p names, one row per trajectory.
 *
 * @example
 * printStateCsv(io, ['x', 'y'], ['px', 'py'], q, p);
 */
export function printStateCsv(io: CliStreams, qNames: readonly string[], pNames: readonly string[], q: Float64Array, p: Float64Array): void {
  const dof = qNames.length, batch = q.length / dof;
  const data = new Float64Array(batch * 2 * dof);
  for (let b = 0; b < batch; b++) {
    data.set(q.subarray(b * dof, (b + 1) * dof), 2 * b * dof);
    data.set(p.subarray(b * dof, (b + 1) * dof), (2 * b + 1) * dof);
  }
  io.stdout.write(writeCsv({ header: [...qNames, ...pNames], data: { shape: [batch, 2 * dof], data } }));
}
