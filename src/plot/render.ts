/**
 * Rendering: an Observable Plot specification to an SVG string (on the page's `document` in a browser, on a
 * linkedom document in Node), and an SVG string to PNG bytes with `@resvg/resvg-js`, an optional peer dependency
 * imported only when a PNG is asked for.
 */
import type * as PlotTypes from '@observablehq/plot';
import { plotLibraries } from './libraries.js';
import { DarbouxError } from '../errors.js';

/** Options every plot kind takes. */
export interface PlotOptions {
  /** Width in pixels (default 640); a PNG is rasterised at this width. */
  width?: number;
  /** Height in pixels (default 400). */
  height?: number;
  /** A title above the plot. */
  title?: string;
  /** 'svg' (default): the SVG text; 'png': a Promise of the PNG bytes (needs the optional `@resvg/resvg-js`). */
  format?: 'svg' | 'png';
  /** The DOM document Observable Plot draws into (default: the page's in a browser, else a linkedom one). */
  document?: Document;
}

/** What a plot function returns for its options: SVG text, or a Promise of PNG bytes with `format: 'png'`. */
export type PlotOutput<O extends PlotOptions> = O extends { format: 'png' } ? Promise<Uint8Array>
  : 'format' extends keyof O ? (O extends { format?: 'svg' } ? string : string | Promise<Uint8Array>) : string;

/** A document to draw into: the caller's, the page's, or a fresh linkedom one. */
function documentFor(options: PlotOptions): Document {
  if (options.document) return options.document;
  const page = (globalThis as { document?: Document }).document;
  if (page) return page;
  return plotLibraries().parseHTML('<!doctype html><html><head></head><body></body></html>').document as unknown as Document;
}

function checkSize(name: 'width' | 'height', value: number | undefined): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= 32 && value <= 16384)) {
    throw new DarbouxError('OPTION', `plot: ${name} must be an integer number of pixels in [32, 16384], got ${String(value)}`, { [name]: value });
  }
}

/**
 * Draws an Observable Plot specification with darboux's common options and returns standalone SVG text
 * (with the SVG namespace, so it opens as a file).
 *
 * @example
 * renderSvg({ marks: [Plot.lineY([1, 3, 2])] }, { width: 400 }) // '<svg xmlns="http://www.w3.org/2000/svg" …'
 */
export function renderSvg(spec: PlotTypes.PlotOptions, options: PlotOptions): string {
  checkSize('width', options.width);
  checkSize('height', options.height);
  if (options.format !== undefined && options.format !== 'svg' && options.format !== 'png') {
    throw new DarbouxError('OPTION', `plot: format must be 'svg' or 'png', got '${String(options.format)}'`, { format: options.format });
  }
  const node = plotLibraries().Plot.plot({
    width: options.width ?? 640,
    height: options.height ?? 400,
    style: { background: 'white', color: 'black', fontSize: '11px' },
    ...spec,
    document: documentFor(options),
  }) as unknown as Element;
  // A title makes Plot wrap the SVG in a <figure>; the file holds the SVG itself, titled with an SVG <text>.
  const svg = node.tagName.toLowerCase() === 'svg' ? node : node.querySelector('svg')!;
  svg.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  if (options.title !== undefined) addTitle(svg, options.title);
  return svg.outerHTML;
}

/**
 * Tick labels of a log axis: 10ⁿ at the powers of ten, none between (the minor ticks stay unlabelled).
 *
 * @example
 * Plot.plot({ y: { type: 'log', tickFormat: powerOfTenLabel } })
 */
export function powerOfTenLabel(value: number): string {
  const exponent = Math.round(Math.log10(value));
  if (!(value > 0) || Math.abs(Math.log10(value) - exponent) > 1e-9) return '';
  const superscript = String(exponent).replace(/[-0-9]/g, (c) => '⁻⁰¹²³⁴⁵⁶⁷⁸⁹'['-0123456789'.indexOf(c)]!);
  return `10${superscript}`;
}

/** A title in a band of 24 pixels added above the plot (the view box grows upwards, the plot stays put). */
function addTitle(svg: Element, title: string): void {
  const width = Number(svg.getAttribute('width')), height = Number(svg.getAttribute('height'));
  svg.setAttribute('height', String(height + 24));
  svg.setAttribute('viewBox', `0 -24 ${width} ${height + 24}`);
  const text = svg.ownerDocument.createElementNS('http://www.w3.org/2000/svg', 'text');
  text.setAttribute('x', String(width / 2));
  text.setAttribute('y', '-6');
  text.setAttribute('font-size', '13');
  text.setAttribute('font-weight', 'bold');
  text.setAttribute('aria-label', 'title');
  text.textContent = title;
  svg.insertBefore(text, svg.firstChild);
}

interface ResvgModule {
  Resvg: new (svg: string, options?: { fitTo?: { mode: 'width'; value: number }; background?: string; font?: { loadSystemFonts?: boolean; defaultFontFamily?: string } }) => { render(): { asPng(): Uint8Array } };
}

/**
 * Rasterises SVG text to PNG bytes at `width` pixels with `@resvg/resvg-js` (an optional peer dependency, imported
 * here on first use; an OPTION error says how to install it when it is missing).
 *
 * @example
 * const png = await toPng(plot.energy(traj, { hamiltonian: h }), { width: 1280 });
 * fs.writeFileSync('energy.png', png);
 */
export async function toPng(svg: string, options: { width?: number } = {}): Promise<Uint8Array> {
  checkSize('width', options.width);
  const width = options.width ?? Number(/\bwidth="(\d+(?:\.\d+)?)"/.exec(svg)?.[1] ?? 640);
  let resvg: ResvgModule;
  try {
    const name = '@resvg/resvg-js';
    resvg = (await import(/* @vite-ignore */ name)) as ResvgModule;
  } catch (e) {
    throw new DarbouxError('OPTION', `plot: format 'png' needs the optional package @resvg/resvg-js (npm install @resvg/resvg-js); SVG needs nothing more (${(e as Error).message})`, { format: 'png' });
  }
  const Resvg = resvg.Resvg ?? (resvg as unknown as { default: ResvgModule }).default.Resvg;
  const png = new Resvg(svg, { fitTo: { mode: 'width', value: Math.round(width) }, background: 'white', font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } }).render().asPng();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}

/**
 * The SVG text, or a Promise of its PNG bytes when the options ask for `format: 'png'`.
 *
 * @example
 * return output(renderSvg(spec, options), options);
 */
export function output<O extends PlotOptions>(svg: string, options: O | undefined): PlotOutput<O> {
  if (options?.format === 'png') return toPng(svg, { width: options.width ?? 640 }) as PlotOutput<O>;
  return svg as PlotOutput<O>;
}
