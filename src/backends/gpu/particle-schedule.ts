/**
 * The dispatch schedule of the tiled particle kernel: the kick and drift stages of `steps` steps, with adjacent
 * kicks merged (their forces are at the same q), cut into dispatches of one (kick, drift) pair each, and a
 * snapshot after every `record`-th step (the trailing kick of that step is then applied before the snapshot).
 */
import type { ParticleStage } from '../../codegen/particle-analysis.js';

/** One dispatch (kick by `kick`, then drift by `drift`, during step `step`, 0-based) or one snapshot. */
export type ScheduleEntry = { kind: 'dispatch'; kick: number; drift: number; step: number } | { kind: 'record'; index: number };

/**
 * The entries of a run, lazily.
 *
 * @example
 * [...tiledSchedule([{ kind: 'kick', step: 0.005 }, { kind: 'drift', step: 0.01 }, { kind: 'kick', step: 0.005 }], 2, 0)]
 * // → dispatch(0.005, 0.01, 0), dispatch(0.01, 0.01, 1), dispatch(0.005, 0, 1)
 */
export function* tiledSchedule(stages: readonly ParticleStage[], steps: number, record: number): Generator<ScheduleEntry> {
  let pending = 0;
  for (let s = 0; s < steps; s++) {
    for (const stage of stages) {
      if (stage.kind === 'kick') pending += stage.step;
      else {
        yield { kind: 'dispatch', kick: pending, drift: stage.step, step: s };
        pending = 0;
      }
    }
    if (record > 0 && (s + 1) % record === 0) {
      if (pending !== 0) yield { kind: 'dispatch', kick: pending, drift: 0, step: s };
      pending = 0;
      yield { kind: 'record', index: (s + 1) / record - 1 };
    }
  }
  if (pending !== 0) yield { kind: 'dispatch', kick: pending, drift: 0, step: steps - 1 };
}
