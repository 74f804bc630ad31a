/** Types of scripts/serve-web.mjs, for the TypeScript tests that start the server. */
export function serveWeb(port?: number): Promise<{ url: string; close(): Promise<void> }>;
