/** Types of scripts/build-web.mjs, for the TypeScript tests that build the browser bundles. */
export function buildWeb(): Promise<string>;
