/** Types of scripts/serve.mjs, for the tests that import it. */
import type { Server } from 'node:http';
export declare function serveStatic(root: string, port?: number): Promise<{ server: Server; url: string }>;
