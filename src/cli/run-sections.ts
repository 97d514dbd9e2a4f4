/**
 * `darboux run --save-at T1,T2,… --section EXPR [--section-direction 1|-1|0] [--section-max N]`: the flags, the
 * run options they give, and the files they write next to --out (`<out>-section.<ext>`: 't', 'trajectory' per
 * crossing and 'q', 'p' (crossings × dof), as `darboux plot section` reads; `<out>-saved.<ext>`: 't', 'qs', 'ps'
 * (saves × batch × dof)).
 */
import fs from 'node:fs';
import { DarbouxError, plot, saveArrays, type RunOptions, type RunResult } from '../index.js';
import { numberFlag, UsageError } from './args.js';

/** The flags of sections and saved steps. */
export const SECTION_RUN_OPTIONS = {
  'save-at': { type: 'string' },
  section: { type: 'string' },
  'section-direction': { type: 'string' },
  'section-max': { type: 'string' },
  plot: { type: 'string' },
} as const;

/** Their lines in `darboux run --help`. */
export const SECTION_RUN_HELP = `  --save-at T1,T2    also save the state at these times (each t0 + k·dt; no interpolation): 'saved' in the summary, <out>-saved.<ext>
  --section EXPR     record crossings of EXPR = 0 (a formula of q, p, params, t), located inside the step: <out>-section.<ext>
  --section-direction D  1 upward only, -1 downward only, 0 both (default)
  --section-max N    crossings stored per trajectory (default 1000)
  --plot FILE        with --section: draw the surface of section (q_0, p_0 of every crossing) to FILE
                     (.svg, or .png with the optional @resvg/resvg-js)`;

/**
 * The run options of the flags (empty when none is given); a UsageError for a malformed one.
 *
 * @example
 * sectionRunFlags({ 'save-at': '0.5,1', section: 'y' }); // { saveAt: [0.5, 1], section: { expr: 'y', direction: 0 } }
 */
export function sectionRunFlags(values: Record<string, unknown>): Pick<RunOptions, 'saveAt' | 'section'> {
  const out: Pick<RunOptions, 'saveAt' | 'section'> = {};
  const saveAt = values['save-at'];
  if (typeof saveAt === 'string') {
    out.saveAt = saveAt.split(',').map((text) => {
      const v = Number(text.trim());
      if (text.trim() === '' || !Number.isFinite(v)) throw new UsageError(`--save-at takes comma-separated times, got '${text}'`, 'run');
      return v;
    });
  }
  const section = values.section;
  const direction = numberFlag('run', 'section-direction', values['section-direction'] as string | undefined, { integer: true });
  const max = numberFlag('run', 'section-max', values['section-max'] as string | undefined, { integer: true, positive: true });
  if (typeof section === 'string') {
    if (direction !== undefined && direction !== 1 && direction !== -1 && direction !== 0) throw new UsageError(`--section-direction takes 1, -1 or 0, got ${direction}`, 'run');
    out.section = { expr: section, direction: (direction ?? 0) as 1 | -1 | 0, ...(max !== undefined ? { max } : {}) };
  } else if (direction !== undefined || max !== undefined) {
    throw new UsageError('--section-direction and --section-max need --section EXPR', 'run');
  }
  return out;
}

/** `out` with `-suffix` before its extension. @example besideOut('res.npz', 'section') // 'res-section.npz' */
function besideOut(out: string, suffix: string): string {
  const dot = out.lastIndexOf('.');
  return dot > out.lastIndexOf('/') ? `${out.slice(0, dot)}-${suffix}${out.slice(dot)}` : `${out}-${suffix}`;
}

/**
 * Writes the section and saved states of a run next to `out` and returns what the JSON summary reports of them.
 *
 * @example
 * const summary = writeSectionOutputs('res.npz', result, 2); // { section: { crossings, file }, … }
 */
export function writeSectionOutputs(out: string | undefined, result: RunResult, dof: number): Record<string, unknown> {
  const summary: Record<string, unknown> = {};
  const s = result.section;
  if (s) {
    const t: number[] = [], trajectory: number[] = [], q: number[] = [], p: number[] = [];
    s.count.forEach((count, b) => {
      for (let k = 0; k < count; k++) {
        const slot = b * s.max + k;
        t.push(s.t[slot]!);
        trajectory.push(b);
        for (let i = 0; i < dof; i++) {
          q.push(s.q[slot * dof + i]!);
          p.push(s.p[slot * dof + i]!);
        }
      }
    });
    const file = out === undefined ? undefined : besideOut(out, 'section');
    if (file !== undefined && t.length > 0) {
      const arr = (data: number[], shape: number[]) => ({ shape, data: Float64Array.from(data) });
      saveArrays(file, { t: arr(t, [t.length]), trajectory: arr(trajectory, [t.length]), q: arr(q, [t.length, dof]), p: arr(p, [t.length, dof]) });
    }
    summary.section = { crossings: t.length, overflowed: s.overflowed.reduce((a, c) => a + c, 0), stopped: s.stopped.reduce((a, c) => a + c, 0), ...(file !== undefined && t.length > 0 ? { file } : {}) };
  }
  const saved = result.saved;
  if (saved) {
    const file = out === undefined ? undefined : besideOut(out, 'saved');
    const batch = saved.t.length > 0 ? saved.q.length / (saved.t.length * dof) : 0;
    if (file !== undefined) saveArrays(file, { t: { shape: [saved.t.length], data: saved.t }, qs: { shape: [saved.t.length, batch, dof], data: saved.q }, ps: { shape: [saved.t.length, batch, dof], data: saved.p } });
    summary.saved = { t: Array.from(saved.t), ...(file !== undefined ? { file } : {}) };
  }
  return summary;
}

/**
 * `--plot FILE` of `darboux run`: the run's surface of section drawn to FILE (SVG, or PNG by the extension);
 * returns what the JSON summary reports. A usage error without --section; nothing is drawn without crossings.
 *
 * @example
 * await writeSectionPlot('hh.svg', result, 'yoshida4', { q: 'x', p: 'px' }); // { plot: { file: 'hh.svg', format: 'svg', crossings } }
 */
export async function writeSectionPlot(file: string | undefined, result: RunResult, title: string, names?: { q: string; p: string }): Promise<Record<string, unknown>> {
  if (file === undefined) return {};
  const s = result.section;
  if (!s) throw new UsageError('--plot draws the surface of section: give --section EXPR', 'run');
  const crossings = s.count.reduce((a, c) => a + c, 0);
  if (crossings === 0) throw new DarbouxError('INPUT', `--plot ${file}: no trajectory crossed the section, nothing to draw (run longer or check the expression)`, { file });
  const format = file.toLowerCase().endsWith('.png') ? 'png' : 'svg';
  await plot.load(); // Node before 20.19 cannot load the ES-module plotting libraries on first use
  const options = { title, ...(names ? { names } : {}) };
  const drawn = format === 'png' ? await plot.section(s, { ...options, format: 'png' }) : plot.section(s, options);
  try {
    fs.writeFileSync(file, drawn);
  } catch (e) {
    throw new DarbouxError('INPUT', `cannot write ${file}: ${(e as Error).message}`, { path: file });
  }
  return { plot: { file, format, crossings } };
}
