#!/usr/bin/env bash
# Chromium for the browser tests (test/browser/): Debian's `chromium` package, installed only when
# missing. Headless Chromium runs WebGPU on its bundled SwiftShader, so no GPU or Vulkan driver is
# needed for it. WGRAD_CHROMIUM points the tests at another Chromium executable.
set -euo pipefail
cd "$(dirname "$0")/.."

chromium=${WGRAD_CHROMIUM:-/usr/bin/chromium}
if [ -x "$chromium" ]; then
  echo "setup-browser: Chromium found at $chromium"
  exit 0
fi
if [ -n "${WGRAD_CHROMIUM:-}" ]; then
  echo "setup-browser: WGRAD_CHROMIUM=$WGRAD_CHROMIUM is not an executable" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1 || [ ! -f /etc/debian_version ]; then
  echo "setup-browser: no Chromium at $chromium, and this is not Debian; install Chromium and set WGRAD_CHROMIUM to its executable" >&2
  exit 1
fi

echo "setup-browser: installing Debian's chromium package (for the browser tests)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq chromium >/dev/null
[ -x "$chromium" ] || { echo "setup-browser: chromium was installed but $chromium is missing" >&2; exit 1; }
echo "setup-browser: Chromium installed at $chromium"
