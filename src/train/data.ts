/**
 * Training data: validation against the model and the loss (before any work), and packing into one flat
 * record per sample in the order of the loss graph's input columns.
 */
import { DarbouxError, showValue } from '../errors.js';
import type { LossGraph, DataField } from './losses.js';
import type { SampleData, TrainingData } from './types.js';

/** Samples packed row-major: `count` records of `stride` floats. */
export interface PackedSamples {
  rows: Float64Array;
  count: number;
  stride: number;
}

type SampleField = keyof TrainingData | 'v' | 'a';
type SampleArrays = Partial<Record<SampleField, ArrayLike<number>>>;

const FIELD_NEEDS: Record<DataField, SampleField> = {
  q: 'q', p: 'p', v: 'v', a: 'a', dqdt: 'dqdt', dpdt: 'dpdt', qNext: 'qNext', pNext: 'pNext', qRef: 'trajectoryIndex', pRef: 'trajectoryIndex',
};

function isArrayLike(v: unknown): v is ArrayLike<number> {
  return v !== null && typeof v === 'object' && typeof (v as { length?: unknown }).length === 'number';
}

/**
 * Checks that `data` has every array the loss reads, with consistent sample counts (each a multiple of dof,
 * or of k·dof for rollout targets) and only finite values; returns the sample count. `what` names the data
 * set in messages ('data', 'validation').
 *
 * @example
 * const n = checkTrainingData(graph, 1, { q, p, dqdt, dpdt }, 'data');
 */
export function checkTrainingData(graph: LossGraph, dof: number, samples: SampleData, what: string): number {
  const data = samples as SampleArrays;
  if (data === null || typeof data !== 'object') throw new DarbouxError('INPUT', `fit: ${what} must be an object of arrays (q, p, …)`);
  const second = graph.columns.some((c) => c.field === 'v') ? 'v' : 'p';
  if (!isArrayLike(data.q) || !isArrayLike(data[second])) throw new DarbouxError('INPUT', `fit: ${what}.q and ${what}.${second} must be arrays (samples × dof, row-major)`);
  if (data.q.length % dof !== 0) {
    throw new DarbouxError('INPUT', `fit: ${what}.q has ${data.q.length} values, not a multiple of the model's dof ${dof} (samples × dof, row-major)`);
  }
  const count = data.q.length / dof;
  if (count === 0) throw new DarbouxError('INPUT', `fit: ${what} has no samples`);
  const widths = new Map<SampleField, number>();
  for (const c of graph.columns) widths.set(FIELD_NEEDS[c.field], c.field === 'qRef' || c.field === 'pRef' ? 1 : c.fieldWidth);
  for (const [key, width] of widths) {
    const arr = data[key];
    if (!isArrayLike(arr)) {
      const why = key === 'trajectoryIndex' ? 'the energy regulariser of the derivative loss' : `the ${graph.name} loss`;
      throw new DarbouxError('INPUT', `fit: ${what}.${key} is missing; ${why} needs it`);
    }
    const expected = count * width;
    if (arr.length !== expected) {
      const unit = key === 'trajectoryIndex' ? 'one per sample' : width === dof ? 'samples × dof' : `samples × ${width / dof} steps × dof`;
      throw new DarbouxError('INPUT', `fit: ${what}.${key} has ${arr.length} values but ${what}.q has ${count} samples of dof ${dof}: expected ${expected} (${unit})`);
    }
    for (let i = 0; i < arr.length; i++) {
      const v = arr[i]!;
      if (typeof v !== 'number' || !Number.isFinite(v) || (key === 'trajectoryIndex' && !Number.isInteger(v))) {
        const sample = Math.floor(i / width);
        throw new DarbouxError('INPUT', `fit: ${what}.${key}[${i}] (sample ${sample}) is ${showValue(v)}; ${key === 'trajectoryIndex' ? 'trajectory indices must be integers' : 'data must be finite'}`, { field: key, index: i, sample });
      }
    }
  }
  return count;
}

/**
 * Packs samples into records of `graph.stride` floats in column order. `qRef`/`pRef` columns take the state
 * of the first sample (in data order) with the same `trajectoryIndex`.
 *
 * @example
 * const { rows, count, stride } = packSamples(graph, 1, data);
 */
export function packSamples(graph: LossGraph, dof: number, samples: SampleData): PackedSamples {
  const data = samples as SampleArrays;
  const count = data.q!.length / dof;
  const stride = graph.stride;
  const rows = new Float64Array(count * stride);
  let firstOf: Map<number, number> | undefined;
  if (graph.columns.some((c) => c.field === 'qRef' || c.field === 'pRef')) {
    firstOf = new Map();
    const idx = data.trajectoryIndex!;
    for (let s = 0; s < count; s++) if (!firstOf.has(idx[s]!)) firstOf.set(idx[s]!, s);
  }
  let at = 0;
  for (const c of graph.columns) {
    const ref = c.field === 'qRef' || c.field === 'pRef';
    const src = data[ref ? (c.field === 'qRef' ? 'q' : 'p') : FIELD_NEEDS[c.field]]!;
    for (let s = 0; s < count; s++) {
      const from = ref ? firstOf!.get(data.trajectoryIndex![s]!)! : s;
      const base = from * c.fieldWidth + c.offset;
      for (let i = 0; i < c.width; i++) rows[s * stride + at + i] = src[base + i]!;
    }
    at += c.width;
  }
  return { rows, count, stride };
}
