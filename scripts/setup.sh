#!/usr/bin/env bash
# Idempotent set-up for a fresh machine: npm dependencies, then a WebGPU adapter.
# With no GPU, Dawn needs a software Vulkan driver; Debian 12's own lavapipe (22.3) is rejected by
# Dawn, the one in bookworm-backports (25.x) works. We add that suite only when no adapter is found,
# reusing the URI of the machine's existing Debian source (never a hard-coded mirror).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules/webgpu ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies"
  npm ci --no-audit --no-fund --loglevel=error
fi

has_adapter() { node scripts/probe-adapter.mjs >/dev/null 2>&1; }

if has_adapter; then
  echo "setup: WebGPU adapter found"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1 || [ ! -f /etc/debian_version ]; then
  echo "setup: no WebGPU adapter, and this is not Debian; install a Vulkan driver (e.g. Mesa lavapipe) by hand" >&2
  exit 1
fi

codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
backports_list=/etc/apt/sources.list.d/wgrad-backports.list
if [ ! -f "$backports_list" ]; then
  # First Debian archive URI already configured on this machine (deb822 or one-line format).
  uri=$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -n 1 || true)
  if [ -z "$uri" ]; then
    uri=$(grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | grep -v security | head -n 1 || true)
  fi
  if [ -z "$uri" ]; then
    echo "setup: no Debian apt source found to reuse for ${codename}-backports" >&2
    exit 1
  fi
  echo "setup: adding ${codename}-backports from $uri"
  echo "deb $uri ${codename}-backports main" > "$backports_list"
fi

echo "setup: installing Mesa's software Vulkan driver (lavapipe) from ${codename}-backports"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends -t "${codename}-backports" libvulkan1 mesa-vulkan-drivers >/dev/null

if has_adapter; then
  echo "setup: WebGPU adapter found"
else
  node scripts/probe-adapter.mjs || true
  echo "setup: still no WebGPU adapter after installing lavapipe" >&2
  exit 1
fi
