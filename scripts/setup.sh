#!/usr/bin/env bash
# One-time set-up on a fresh machine, safe to re-run (it only installs what is missing):
#   - Debian packages: Jupyter's nbconvert/nbclient (run by /usr/bin/python3) and, for the tests (--with-browser),
#     chromium, the classic Notebook server (jupyter-notebook), python3-jsonschema, slurm-wlm and munge
#   - npm packages from package-lock.json (npm ci), again whenever the lock file changes
# Usage: scripts/setup.sh [--with-browser]
set -euo pipefail
cd "$(dirname "$0")/.."

want_browser=0
[ "${1:-}" = "--with-browser" ] && want_browser=1

need=()
[ -x /usr/bin/jupyter-nbconvert ] || need+=(jupyter-nbconvert)
/usr/bin/python3 -c 'import nbclient, nbconvert, jupyter_client' >/dev/null 2>&1 || need+=(python3-nbclient python3-nbconvert python3-jupyter-client)
if [ "$want_browser" = 1 ]; then
  [ -x /usr/bin/chromium ] || need+=(chromium)
  # the classic Notebook server the browser test drives, and JSON-schema validation for the protocol check
  /usr/bin/python3 -c 'import notebook' >/dev/null 2>&1 || need+=(jupyter-notebook python3-notebook)
  /usr/bin/python3 -c 'import jsonschema' >/dev/null 2>&1 || need+=(python3-jsonschema)
  # test/slurm.test.ts runs a sweep on a one-node Slurm it starts itself (munge authenticates its daemons).
  [ -x /usr/sbin/slurmctld ] || need+=(slurm-wlm)
  [ -x /usr/sbin/munged ] || need+=(munge)
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need[*]}"
  if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else
    echo "setup: need root (or sudo) to run: apt-get install --no-install-recommends ${need[*]}" >&2; exit 1
  fi
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${need[@]}"
fi

stamp=node_modules/.prefopt-installed
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || [ package.json -nt "$stamp" ]; then
  echo "setup: npm ci (the optional @tensorflow/tfjs-node is skipped where libtensorflow cannot be downloaded)"
  npm ci --no-audit --no-fund
  touch "$stamp"
fi
