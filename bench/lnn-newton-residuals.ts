/**
 * Relative Newton residual |R|/(|p|+1) left after the unrolled iterations of the GPU window graph of an lnn
 * (variational methods), in f32 on the device (the training kernel with the residual sum as its loss, one window
 * per evaluation) and in f64 (the same unrolled graph, reference evaluator). Cases: the oscillator data of
 * test/gpu/lnn-trajectory.test.ts. Run: npx tsx bench/lnn-newton-residuals.ts
 */
import { lnn } from '../src/index.js';
import { addAll } from '../src/ir/build.js';
import { graphEvaluator } from '../src/ir/evaluate-graph.js';
import { releaseGpu } from '../src/runtime/index.js';
import { evaluateGpuGradient } from '../src/train/gpu-trainer.js';
import { gradientProgram, packParams } from '../src/train/gradient-program.js';
import { packSamples } from '../src/train/data.js';
import { lnnWindowLossGraph } from '../src/train/lnn-window-graph.js';
import type { LagrangianTrainingData } from '../src/train/types.js';

const convexInV = (model: ReturnType<typeof lnn>) => model.withParams({ 'L.out.w': model.params['L.out.w']!.map(Math.abs) });

async function measure(method: string, dt: number, horizon: number, iterations: number, seed: number): Promise<void> {
  const model = convexInV(lnn({ dof: 1, hidden: [4], seed }));
  const graph = lnnWindowLossGraph(model, { method, horizon, dt, newtonIterations: iterations });
  const starts = [[0.8, 0.1], [0.5, 2], [1.2, 4], [1, 0], [1.3, 2.5]];
  const q = Float64Array.from(starts, ([a, ph]) => a! * Math.cos(ph!)), v = Float64Array.from(starts, ([a, ph]) => -a! * Math.sin(ph!));
  const f64 = graphEvaluator([model.q, model.p, ...gradientProgram(model, graph).layout.nodes], graph.newtonResiduals);
  const layout = gradientProgram(model, graph).layout, theta = packParams(layout, model.params);
  const params = layout.nodes.map((_, k) => theta.subarray(layout.offsets[k]!, layout.offsets[k]! + layout.sizes[k]!));
  let max64 = 0;
  for (let w = 0; w < starts.length; w++) {
    const out = graph.newtonResiduals.map(() => new Float64Array(1));
    f64([q.subarray(w, w + 1), v.subarray(w, w + 1), ...params], out);
    for (const [r] of out) max64 = Math.max(max64, r!);
  }
  const residualGraph = { ...graph, loss: addAll(graph.newtonResiduals) };
  const program = gradientProgram(model, residualGraph);
  const samples = { q, v, a: new Float64Array(0), qNext: new Float64Array(starts.length * horizon), pNext: new Float64Array(starts.length * horizon) } as LagrangianTrainingData;
  const train = packSamples(residualGraph, 1, samples);
  let max32 = 0;
  for (let w = 0; w < starts.length; w++) max32 = Math.max(max32, (await evaluateGpuGradient(program, train, theta, Uint32Array.of(w)))[0]!);
  console.log(`${method} dt=${dt} horizon=${horizon} iterations=${iterations} seed=${seed}: max residual f64 ${max64.toExponential(2)}, f32 (sum over steps) ${max32.toExponential(2)}`);
}

for (const [method, dt, iterations] of [
  ['variationalMidpoint', 0.1, 3], ['variationalMidpoint', 0.1, 2], ['variationalMidpoint', 0.1, 4], ['variationalTrapezoid', 0.1, 3],
  ['variationalMidpoint', 1, 3], ['variationalMidpoint', 2, 3], ['variationalMidpoint', 4, 3],
] as const) {
  for (const seed of [0, 3]) await measure(method, dt, 3, iterations, seed);
}
releaseGpu();
