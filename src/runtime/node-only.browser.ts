/**
 * Stand-ins for the Node-only modules the library imports, which the browser build (scripts/build-browser.mjs)
 * puts in their place: `node:fs` (file helpers: they refuse, naming the byte-level readers to use instead),
 * `node:os` (one thread), `node:worker_threads` (threaded CPU runs refuse) and `linkedom` (plots draw into the
 * page's document). Nothing here is used in Node.
 */
import { DarbouxError } from '../errors.js';

const NO_FILES = 'a browser has no file system; read and write bytes with readNpz/writeNpz, readNpy/writeNpy, encodeTrajectory/decodeTrajectory instead';

/**
 * `node:fs` in a browser: reading and writing refuse (loadArrays, saveTrajectory, … turn this into an INPUT error).
 *
 * @example
 * fs.readFileSync('q0.npy'); // throws: a browser has no file system …
 */
const fs = {
  readFileSync(path: string): never { throw new DarbouxError('INPUT', `cannot read ${path}: ${NO_FILES}`, { path }); },
  writeFileSync(path: string): never { throw new DarbouxError('INPUT', `cannot write ${path}: ${NO_FILES}`, { path }); },
  existsSync(): boolean { return false; },
};
export default fs;

/**
 * `node:os` availableParallelism in a browser: 1, so the CPU backend runs on the page's thread.
 *
 * @example
 * availableParallelism(); // 1
 */
export function availableParallelism(): number {
  return 1;
}

/**
 * `node:worker_threads` Worker in a browser: constructing one refuses (threaded CPU runs need Node).
 *
 * @example
 * new Worker('…'); // throws OPTION: use threads: 1
 */
export class Worker {
  constructor() {
    throw new DarbouxError('OPTION', 'threaded CPU runs (threads > 1) need Node\'s worker_threads; in a browser use threads: 1 or the GPU backend', {});
  }
}

/**
 * `linkedom` parseHTML in a browser: plots draw into the page's document (or `options.document`), so this refuses.
 *
 * @example
 * parseHTML('<html></html>'); // throws OPTION: pass options.document
 */
export function parseHTML(): never {
  throw new DarbouxError('OPTION', 'plot: no document to draw into (a worker?); pass options.document', {});
}
