#!/usr/bin/env bash
# Installs Debian's Chromium for StatusPageChromiumTest (headless DOM checks of the admin status page).
# Idempotent: does nothing when /usr/bin/chromium is already there. Uses sudo only when not root.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1; then
  sudo="sudo"
else
  echo "install-chromium.sh: /usr/bin/chromium is missing and installing it needs root (no sudo found)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update
$sudo apt-get install -y --no-install-recommends chromium
if [ ! -x /usr/bin/chromium ]; then
  echo "install-chromium.sh: apt-get installed chromium but /usr/bin/chromium is still missing" >&2
  exit 1
fi
