/**
 * Launching the machine's Chromium for the browser tests: Debian's `chromium` package driven by
 * playwright-core, headless, with WebGPU enabled (it runs on SwiftShader when there is no GPU).
 * WGRAD_CHROMIUM overrides the executable.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.WGRAD_CHROMIUM ?? '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}\nHINT: run \`bash scripts/setup-browser.sh\` (installs Debian's chromium package), or set WGRAD_CHROMIUM to a Chromium executable`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--enable-unsafe-webgpu'] });
}
