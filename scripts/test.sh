#!/usr/bin/env bash
# Runs the whole test suite from a fresh clone: restores, builds and tests every project, then prints one
# closing line "N passed, N failed, N skipped". Exit code 0 only when every test passed.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v dotnet >/dev/null 2>&1; then
  echo "error: the .NET SDK 10 is required (dotnet not found on PATH)" >&2
  exit 1
fi
# Tests start real processes (/bin/sh, sleep) for command jobs; make sure the basics are there.
for tool in sh sleep; do
  command -v "$tool" >/dev/null 2>&1 || { echo "error: '$tool' is required by the tests" >&2; exit 1; }
done

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
log=$(mktemp)
trap 'rm -f "$log"' EXIT

set +e
dotnet test Scheduler.sln -c Release --blame-hang-timeout 10m 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

passed=0 failed=0 skipped=0
while read -r f p s; do
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
done < <(sed -n 's/.*Failed:[[:space:]]*\([0-9]*\), Passed:[[:space:]]*\([0-9]*\), Skipped:[[:space:]]*\([0-9]*\).*/\1 \2 \3/p' "$log")

if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1 # the build or the test host failed before any test could report
fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit "$status"
