#!/usr/bin/env bash
# Make /usr/bin/chromium exist: the browser the admin tests (tests/browser) drive through
# Playwright. It comes from Debian's `chromium` package, never from `playwright install`
# (no downloads but package registries here). Does nothing when it is already installed;
# installing needs root. Called by scripts/test.sh.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "error: /usr/bin/chromium is missing; install the Debian package chromium (needs root)" >&2
  exit 1
fi

echo "==> installing chromium (Debian package) for the browser tests"
export DEBIAN_FRONTEND=noninteractive
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
# Quiet unless it fails; wait for a dpkg lock held by another install instead of failing.
if ! {
  apt-get -o DPkg::Lock::Timeout=300 update -qq &&
    apt-get -o DPkg::Lock::Timeout=300 install -y -qq chromium
} >"$log" 2>&1; then
  cat "$log" >&2
  echo "error: could not install chromium" >&2
  exit 1
fi
test -x /usr/bin/chromium
