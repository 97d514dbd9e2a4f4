/** Types of scripts/build-browser.mjs, for the tests that import it. */
import type { Metafile } from 'esbuild';
export declare const BROWSER_SWAPS: Readonly<Record<string, string>>;
export declare function buildBrowser(outdir?: string): Promise<{ library: Metafile; playground: Metafile }>;
