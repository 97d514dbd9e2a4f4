/**
 * What the Node adapter search (adapter.ts, through dawn.node) and the browser one (adapter.browser.ts, through
 * `navigator.gpu`) share: the adapter kinds, the shape of a found adapter, and how an adapter is described.
 * Nothing here touches Node or the DOM.
 */
import { DarbouxError } from '../errors.js';

/** Which kind of adapter runs the kernels. */
export type AdapterChoice = 'hardware' | 'llvmpipe' | 'swiftshader';

/** The adapter kinds, in the order tried when none is asked for. */
export const ADAPTER_CHOICES: readonly AdapterChoice[] = ['hardware', 'llvmpipe', 'swiftshader'];

/** Where Debian's `chromium` package puts SwiftShader's Vulkan ICD. */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** Debian packages that provide the llvmpipe software adapter (and, last resort, SwiftShader). */
export const SOFTWARE_ADAPTER_PACKAGES = 'libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri';

/** An adapter found, with the dawn instance that must stay referenced while it is in use. */
export interface FoundAdapter {
  instance: GPU;
  adapter: GPUAdapter;
  kind: AdapterChoice;
  featureLevel: 'core' | 'compatibility';
}

/** One failed attempt: which adapter and why. */
export interface AdapterAttempt {
  kind: AdapterChoice;
  reason: string;
}

/**
 * The adapter's vendor / architecture / device / description, joined, for messages and `gpuInfo`.
 *
 * @example
 * describeAdapter(adapter); // 'llvmpipe-llvm-15-0-6-256-bits- / OpenGL version 4.5 (Core Profile) Mesa 22.3.6'
 */
export function describeAdapter(adapter: GPUAdapter): string {
  const info = adapter.info;
  const parts = [info.vendor, info.architecture, info.device, info.description].filter((s) => s && s.length > 0);
  return parts.length > 0 ? parts.join(' / ') : '(adapter gave no description)';
}

const SOFTWARE_NAME = /llvmpipe|lavapipe|softpipe|swiftshader|software|basic render|warp/i;

/**
 * Whether an adapter is a CPU implementation (by its fallback flag or its name).
 *
 * @example
 * if (isSoftwareAdapter(adapter)) console.log('software rendering:', describeAdapter(adapter));
 */
export function isSoftwareAdapter(adapter: GPUAdapter): boolean {
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  return info.isFallbackAdapter === true || SOFTWARE_NAME.test(describeAdapter(adapter));
}

/**
 * An adapter kind from an option or an environment variable, validated; undefined (or 'auto') for "the best
 * there is". `from` names where the value came from, for the error.
 *
 * @example
 * parseAdapterChoice('llvmpipe', 'the adapter option'); // 'llvmpipe'
 * parseAdapterChoice(undefined, 'DARBOUX_ADAPTER');     // undefined
 */
export function parseAdapterChoice(raw: string | undefined, from: string): AdapterChoice | undefined {
  if (raw === undefined || raw === 'auto') return undefined;
  if (!(ADAPTER_CHOICES as readonly string[]).includes(raw)) {
    throw new DarbouxError('OPTION', `${from} is '${raw}'; use one of ${ADAPTER_CHOICES.join(', ')} (or leave it unset for the best available)`, { adapter: raw });
  }
  return raw as AdapterChoice;
}
