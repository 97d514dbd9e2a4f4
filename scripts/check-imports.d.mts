/** Types of scripts/check-imports.mjs, for the tests that import it. */
export declare function checkImports(): { files: number; problems: string[] };
/** The layers of src/, lowest first ('' is the root: src/index.ts and src/internals.ts). */
export declare const LAYERS: readonly string[];
