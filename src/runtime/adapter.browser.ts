/**
 * The browser's adapter search, which the browser build (scripts/build-browser.mjs) puts in place of adapter.ts:
 * the page's own WebGPU (`navigator.gpu`), with no dawn.node, no node:fs and no environment variables. Same
 * exports as adapter.ts, so device.ts and everything above it run unchanged in a page.
 */
import { DarbouxError } from '../errors.js';
import { describeAdapter, isSoftwareAdapter, parseAdapterChoice, type AdapterChoice, type FoundAdapter } from './adapter-info.js';

export {
  ADAPTER_CHOICES, SOFTWARE_ADAPTER_PACKAGES, SWIFTSHADER_ICD, describeAdapter, isSoftwareAdapter,
  type AdapterAttempt, type AdapterChoice, type FoundAdapter,
} from './adapter-info.js';

/**
 * Nothing to do in a browser: GPUBufferUsage, GPUMapMode, … are the page's own globals.
 *
 * @example
 * installWebGpuGlobals(); // then GPUBufferUsage.STORAGE as in Node
 */
export function installWebGpuGlobals(): void {}

/**
 * The adapter kind asked for through the option, validated (a page has no environment variables).
 *
 * @example
 * requestedAdapter('hardware'); // 'hardware'
 * requestedAdapter();           // undefined: whatever the browser offers
 */
export function requestedAdapter(option?: AdapterChoice): AdapterChoice | undefined {
  return parseAdapterChoice(option, 'the adapter option');
}

/** What kind of adapter the browser gave: hardware, else SwiftShader or another software rasteriser. */
function kindOf(adapter: GPUAdapter): AdapterChoice {
  if (!isSoftwareAdapter(adapter)) return 'hardware';
  return /swiftshader/i.test(describeAdapter(adapter)) ? 'swiftshader' : 'llvmpipe';
}

/**
 * The browser's adapter (`navigator.gpu.requestAdapter`). Throws DarbouxError('DEVICE') when the page has no
 * WebGPU, the browser offers no adapter, or the one offered is not of the kind asked for.
 *
 * @example
 * const { adapter, kind } = await findAdapter(undefined); // kind 'hardware' on a desktop GPU
 */
export async function findAdapter(choice: AdapterChoice | undefined): Promise<FoundAdapter> {
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (gpu === undefined) {
    throw new DarbouxError('DEVICE', 'this page has no WebGPU (navigator.gpu is missing: an older browser, WebGPU disabled, or a page not served over https or localhost); use backend \'cpu\'', { attempts: [] });
  }
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (adapter === null) {
    throw new DarbouxError('DEVICE', 'the browser offered no WebGPU adapter (blocklisted GPU or driver?); use backend \'cpu\'', { attempts: [] });
  }
  const kind = kindOf(adapter);
  if (choice !== undefined && choice !== kind) {
    throw new DarbouxError('DEVICE', `the browser's WebGPU adapter is ${kind} (${describeAdapter(adapter)}), not the ${choice} one asked for; leave the adapter option unset in a browser`, { attempts: [{ kind: choice, reason: `the browser offers ${kind}` }] });
  }
  return { instance: gpu, adapter, kind, featureLevel: 'core' };
}
