/** Types of shared-tests.mjs (plain JavaScript so that scripts/build-web.mjs can import it). */
export const SHARED_TEST_FILES: readonly string[];
