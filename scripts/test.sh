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

# The PostgreSQL and Redis tests start their own servers (loopback only, temp dirs, free ports) from the
# Debian packages' binaries. Install the packages when the binaries are missing (needs root, or sudo without a
# password); nothing else of the packages is used, and their own services may stay as the package left them.
# The dashboard's browser tests drive Debian's Chromium through its chromedriver, and its build needs Node.js + npm.
need_packages=()
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need_packages+=(postgresql)
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || need_packages+=(redis-server)
[ -x /usr/bin/chromium ] || need_packages+=(chromium)
[ -x /usr/bin/chromedriver ] || need_packages+=(chromium-driver)
command -v npm >/dev/null 2>&1 || need_packages+=(nodejs npm)
if [ "${#need_packages[@]}" -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: the tests need ${need_packages[*]} and apt-get is not available to install them" >&2
    exit 1
  fi
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null || {
      echo "error: the tests need ${need_packages[*]}; install them (apt-get install ${need_packages[*]}) or run as root" >&2
      exit 1
    }
    sudo=(sudo -n)
  fi
  echo "installing ${need_packages[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${need_packages[@]}"
fi

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
if [ "$failed" -gt 0 ]; then
  # CI keeps only the end of the output: name the failed tests again there, each with its error message.
  echo "failed tests:"
  awk '/^[[:space:]]+Failed [^[:space:]]+ \[/ { show = 12 }
       /^[[:space:]]+Stack Trace:/ { show = 0 }
       show > 0 { print "  " substr($0, 1, 400); show-- }' "$log"
fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit "$status"
