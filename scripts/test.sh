#!/usr/bin/env bash
# The whole test suite: strict type check, unit tests, the kernel through a Jupyter client and in the
# classic Notebook driven by Chromium, every notebook through Jupyter, and the HTML exports rendered in
# headless Chromium. Prints one closing line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p output
passed=0; failed=0
times=""
step() { # name, command...
  local name=$1; shift
  echo; echo "=== $name ==="
  local t0=$SECONDS
  if "$@"; then passed=$((passed+1)); echo "--- $name: ok"; else failed=$((failed+1)); echo "--- $name: FAILED"; fi
  times="$times$(printf '%6d s  %s' $((SECONDS - t0)) "$name")"$'\n'
}
step "typecheck (tsc --noEmit, strict)" npx tsc --noEmit -p tsconfig.json
step "format (prettier --check; npm run format fixes)" npx prettier --check --log-level warn .
step "unit tests" node --import tsx --test --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination=output/unit-tests.tap test/*.test.ts
unit_pass=$(grep -E '^# pass ' output/unit-tests.tap | awk '{print $3}' || echo 0)
unit_fail=$(grep -E '^# fail ' output/unit-tests.tap | awk '{print $3}' || echo 0)
step "kernel through a Jupyter client (errors, interrupts, inspect, shutdown)" env JUPYTER_PATH="$PWD/jupyter" /usr/bin/python3 scripts/check-kernel.py
step "kernel protocol (messaging spec 5.3 schemas, history, completion, autoreload)" env JUPYTER_PATH="$PWD/jupyter" /usr/bin/python3 scripts/check-protocol.py
step "notebooks (Jupyter + tslab)" node --import tsx scripts/run-notebooks.ts --out output/test-notebooks
step "classic Notebook in Chromium (run all, reload, run again, interrupts)" node --import tsx scripts/notebook-browser-test.ts --out output/browser-test
step "browser check (Chromium)" node --import tsx scripts/browser-check.ts output/test-notebooks/*.html
echo
node --import tsx scripts/test-times.ts output/unit-tests.tap | head -16
echo; echo "suite steps by wall time (${SECONDS} s in all):"; printf '%s' "$times"
echo
echo "unit tests: ${unit_pass:-0} passed, ${unit_fail:-0} failed; suite steps: $passed passed, $failed failed"
echo "tests: $((passed + ${unit_pass:-0})) passed, $((failed + ${unit_fail:-0})) failed"
[ "$failed" = 0 ]
