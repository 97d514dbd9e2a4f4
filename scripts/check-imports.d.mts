/** Types of scripts/check-imports.mjs, for the tests that import it. */
export declare function checkImports(): { files: number; problems: string[] };
