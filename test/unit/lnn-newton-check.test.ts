/**
 * The Newton check of an lnn's GPU windows without a device: the marked loss (evaluated in f64 by the reference
 * evaluator) is the plain loss plus one marker per step whose unrolled residual is over tolerance, and the check
 * names the worst window (the marked loss minus the plain loss must be exactly a multiple of the marker).
 */
import { describe, expect, it } from 'vitest';
import { lnn } from '../../src/index.js';
import { graphEvaluator } from '../../src/ir/evaluate-graph.js';
import { DarbouxError } from '../../src/errors.js';
import { gradientProgram, packParams } from '../../src/train/gradient-program.js';
import { lnnWindowLossGraph } from '../../src/train/lnn-window-graph.js';
import { NEWTON_MARKER, NEWTON_RESIDUAL_TOLERANCE, newtonConvergenceCheck, withNewtonMarker } from '../../src/train/lnn-newton-check.js';

const model = (() => {
  const m = lnn({ dof: 1, hidden: [4], seed: 0 });
  return m.withParams({ 'L.out.w': m.params['L.out.w']!.map(Math.abs) });
})();
// Window starts (q₀, v₀) on the oscillator: at dt = 0.9 the first leaves ~3e-3 after step 2, the second converges.
const q = Float64Array.of(1.3 * Math.cos(2.5), 1), v = Float64Array.of(-1.3 * Math.sin(2.5), 0);

function evaluate(dt: number) {
  const graph = lnnWindowLossGraph(model, { method: 'variationalMidpoint', horizon: 2, dt });
  const plain = gradientProgram(model, graph), marked = withNewtonMarker(plain, graph.newtonResiduals);
  const layout = plain.layout, theta = packParams(layout, model.params);
  const params = layout.nodes.map((_, k) => theta.subarray(layout.offsets[k]!, layout.offsets[k]! + layout.sizes[k]!));
  const targets = graph.columns.slice(2).map((c) => c.node);
  const f = graphEvaluator([model.q, model.p, ...targets, ...layout.nodes], [plain.loss, marked.loss, ...graph.newtonResiduals]);
  return [0, 1].map((w) => {
    const out = [plain.loss, marked.loss, ...graph.newtonResiduals].map(() => new Float64Array(1));
    f([[q[w]!], [v[w]!], ...targets.map(() => [0]), ...params], out);
    const [loss, markedLoss, ...residuals] = out.map(([x]) => x!);
    return { loss: loss!, markedLoss: markedLoss!, residuals, check: newtonConvergenceCheck(model, layout, graph.newtonResiduals, { q, v, method: 'variationalMidpoint', horizon: 2, starts: [0, 5] }), theta };
  });
}

describe('Newton check of the GPU lnn windows', () => {
  it('adds nothing to a converged window and one marker per unconverged step', () => {
    for (const { loss, markedLoss, residuals } of evaluate(0.1)) {
      expect(Math.max(...residuals)).toBeLessThan(1e-12);
      expect(markedLoss).toBe(loss);
    }
    const [bad, good] = evaluate(0.9);
    expect(bad!.residuals[1]).toBeGreaterThan(NEWTON_RESIDUAL_TOLERANCE);
    expect(bad!.residuals[0]).toBeLessThan(NEWTON_RESIDUAL_TOLERANCE);
    expect(bad!.markedLoss - bad!.loss).toBe(NEWTON_MARKER);
    expect(good!.markedLoss).toBe(good!.loss);
  });

  it('explains: NO_CONVERGENCE naming the worst window, its step and residual; nothing when all converge', () => {
    const [bad] = evaluate(0.9);
    const error = bad!.check.explain(7, bad!.theta, 1)!;
    expect(error).toBeInstanceOf(DarbouxError);
    expect(error.code).toBe('NO_CONVERGENCE');
    expect(error.details).toMatchObject({ step: 7, flagged: 1, window: 0, windowStart: 0, windowStep: 2, residual: bad!.residuals[1] });
    const [converged] = evaluate(0.1);
    expect(converged!.check.explain(7, converged!.theta, 0)).toBeUndefined();
    expect(converged!.check.explain(7, converged!.theta, 2)!.code).toBe('NO_CONVERGENCE');
  });
});
