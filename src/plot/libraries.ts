/**
 * Observable Plot and linkedom, loaded on first use rather than with `darboux` (they take ~0.4 s to load, which
 * every `import 'darboux'` and every CLI command would otherwise pay). In Node ≥ 20.19 they load synchronously
 * on the first plot (require of ES modules); elsewhere (browsers, older Node) `await plot.load()` once first.
 */
import type * as PlotModule from '@observablehq/plot';
import type { parseHTML as ParseHtml } from 'linkedom';
import { DarbouxError } from '../errors.js';

/** The loaded plotting libraries. */
export interface PlotLibraries {
  Plot: typeof PlotModule;
  parseHTML: typeof ParseHtml;
}

let loaded: PlotLibraries | null = null;

/**
 * Loads the plotting libraries (once) by dynamic import; the plot functions are synchronous after it everywhere.
 *
 * @example
 * await loadPlotLibraries(); // then plot.energy(…) returns SVG text in a browser too
 */
export async function loadPlotLibraries(): Promise<PlotLibraries> {
  if (loaded === null) {
    const [Plot, linkedom] = await Promise.all([import('@observablehq/plot'), import('linkedom')]);
    loaded = { Plot, parseHTML: linkedom.parseHTML };
  }
  return loaded;
}

/**
 * The plotting libraries, loading them synchronously on first use where the platform can (Node's require of ES
 * modules); otherwise an OPTION error that says to `await plot.load()` first.
 *
 * @example
 * const { Plot } = plotLibraries(); Plot.lineY([1, 2, 3])
 */
export function plotLibraries(): PlotLibraries {
  if (loaded !== null) return loaded;
  const builtin = (globalThis as { process?: { getBuiltinModule?: (name: string) => unknown } }).process?.getBuiltinModule;
  const moduleApi = builtin?.('node:module') as { createRequire(from: string): (id: string) => unknown } | undefined;
  let reason = 'this platform cannot load ES modules synchronously';
  if (moduleApi !== undefined) {
    try {
      const require = moduleApi.createRequire(import.meta.url);
      const Plot = require('@observablehq/plot') as typeof PlotModule;
      const linkedom = require('linkedom') as { parseHTML: typeof ParseHtml };
      loaded = { Plot, parseHTML: linkedom.parseHTML };
      return loaded;
    } catch (e) {
      reason = (e as Error).message;
    }
  }
  throw new DarbouxError('OPTION', `plot: the plotting libraries are not loaded; call \`await plot.load()\` once before drawing (${reason})`, { reason });
}
