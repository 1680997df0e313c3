#!/usr/bin/env bash
# The whole test suite: type check, unit tests (concurrent), then integration
# tests against the real runc, conmon, overlayfs and registry (serial).
set -euo pipefail
# The slow tests (base images with debootstrap and Node from the npm registry, and
# the whole walkthrough twice) run by default: they prove the README's first
# command. BERTH_SLOW_TESTS=0 leaves them out (they then skip, saying so).
export BERTH_SLOW_TESTS="${BERTH_SLOW_TESTS:-1}"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
echo "== type check"
npx --no-install tsc -p tsconfig.json
echo "== unit tests"
node --test --test-concurrency=2 --test-reporter=spec 'src/**/*.test.ts'
echo "== integration tests"
node --test --test-concurrency=1 --test-reporter=spec 'test/**/*.test.ts'
