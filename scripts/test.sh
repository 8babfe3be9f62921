#!/usr/bin/env bash
# Installs what is needed, builds, and runs the whole test suite:
#   1. the normal build: unit tests, the WebSocket conformance suite, real-client tests
#      (python3-websockets, Node's ws, Chromium), TLS, the messaging hub (python3-websockets),
#      the browser SDK's tests and the chat app end to end in Chromium;
#   2. the same unit and conformance tests built with AddressSanitizer + UBSan;
#   3. a smoke run of every libFuzzer target (FUZZ_SECONDS each, default 30).
# Ends with ctest's summary of the normal build. Exit status is non-zero if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test || exit 1
jobs=$(nproc)
status=0

echo "== sanitizer build (ASan + UBSan)"
if cmake --preset asan >/dev/null && cmake --build build/asan -j"$jobs"; then
  SB_SANITIZED=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build/asan --output-on-failure -R '^(unit|ws_conformance|python_websockets_test|server_test|tls_test|hub_test|turn_test|rooms_test|rtc_aiortc_test|files_cli_e2e)' \
    > build/asan-ctest.log 2>&1 || { status=1; cat build/asan-ctest.log; }
  tail -n 3 build/asan-ctest.log
else
  status=1
fi

echo "== fuzz smoke"
if [ -x fuzz/smoke.sh ]; then
  fuzz/smoke.sh || status=1
fi

echo "== release build (what scripts/serve.sh builds; -O3 warns differently)"
if ! { cmake --preset release >/dev/null && cmake --build build/release -j"$jobs" --target switchboard; }; then
  echo "release build failed"
  status=1
fi

echo "== normal build"
if cmake --preset dev >/dev/null && cmake --build build/dev -j"$jobs"; then
  ctest --test-dir build/dev --output-on-failure || status=1
else
  echo "build failed"
  status=1
fi
exit $status
