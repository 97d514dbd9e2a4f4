/**
 * Plots through Observable Plot: SVG text always (drawn on a linkedom document in Node, the page's in a
 * browser), PNG bytes on request (`format: 'png'`, with the optional `@resvg/resvg-js`).
 */
import { energy, phase, section } from './phase-space.js';
import { gradientMemory, loss, rdf } from './curves.js';
import { toPng } from './render.js';
import { loadPlotLibraries } from './libraries.js';

export type { PlotOptions, PlotOutput } from './render.js';
export type { EnergyOptions, EnergySeries, PhaseOptions, RunSectionInput, SectionInput, SectionOptions } from './phase-space.js';
export type { RunFrameOptions } from './run-frames.js';
export type { LossInput, GradientMemoryRow, RdfInput, RdfSeries } from './curves.js';

/**
 * The plot kinds: each returns SVG text, or a Promise of PNG bytes with `{ format: 'png' }`. Observable Plot and
 * linkedom load on the first plot (Node ≥ 20.19); in browsers and older Node, `await plot.load()` once first.
 *
 * @example
 * import { plot } from 'darboux';
 * fs.writeFileSync('energy.svg', plot.energy(traj, { hamiltonian: h }));
 * fs.writeFileSync('energy.png', await plot.energy(traj, { hamiltonian: h, format: 'png', width: 1280 }));
 */
export const plot = Object.freeze({ energy, phase, section, loss, gradientMemory, rdf, toPng, load: async (): Promise<void> => void (await loadPlotLibraries()) });
