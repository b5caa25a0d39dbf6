#!/usr/bin/env bash
# Installs what the web client (web/, docs/web.md) needs, idempotently:
# - Debian's Chromium, for the end-to-end tests (tests/web drive it with Playwright, which never
#   downloads a browser of its own). As root it runs apt-get; otherwise it says what to run, and
#   the end-to-end tests are skipped until it is there.
# - web/'s npm packages exactly as package-lock.json pins them (`npm ci`), with the Node.js 20+
#   and npm already on the machine (Debian's `nodejs` package is too old: it is not installed).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "bootstrap-web: Node.js 20+ and npm are needed for web/ (https://nodejs.org)" >&2
  exit 1
fi
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' || {
  echo "bootstrap-web: Node.js $(node --version) is too old for web/: 20 or newer is needed" >&2
  exit 1
}

if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap-web: installing chromium with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq chromium >/dev/null 2>&1 || {
      apt-get update -qq
      apt-get install -y -qq chromium >/dev/null
    }
  else
    echo "bootstrap-web: no /usr/bin/chromium, so the web end-to-end tests will be skipped." \
      "Install it with: sudo apt-get install -y chromium" >&2
  fi
fi

(cd web && npm ci --no-audit --no-fund --loglevel=error)
