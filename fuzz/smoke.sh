#!/usr/bin/env bash
# Fuzz smoke run for CI: builds the `fuzz` preset and runs every libFuzzer target for a short
# time on its seed corpus. Fails if any target crashes, leaks, hits a sanitizer or an invariant.
#
#   FUZZ_SECONDS=30 fuzz/smoke.sh            # seconds per target (default 30)
#   FUZZ_TARGETS="ws_parser_fuzz" fuzz/smoke.sh
#   FUZZ_JOBS=2                              # parallel build jobs (default 2)
#
# New inputs are written to a scratch corpus (build/fuzz/corpus-work/<target>), never into the
# checked-in seeds; crash reproducers land in build/fuzz/artifacts/<target>/.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root" || exit 1
seconds="${FUZZ_SECONDS:-30}"
jobs="${FUZZ_JOBS:-2}"
all_targets="$(cd "$root/fuzz" && ls *_fuzz.cpp | sed 's/\.cpp$//' | tr '\n' ' ')"
targets="${FUZZ_TARGETS:-$all_targets}"
build="$root/build/fuzz"

echo "== configuring and building the fuzz preset"
mkdir -p "$build"
if ! cmake --preset fuzz >"$build/smoke-configure.log" 2>&1; then
    cat "$build/smoke-configure.log" >&2
    echo "FAIL: cmake --preset fuzz" >&2
    exit 1
fi
if ! cmake --build "$build" -j"$jobs"; then
    echo "FAIL: cmake --build build/fuzz" >&2
    exit 1
fi

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

declare -a summary
failed=0
for t in $targets; do
    bin="$build/$t"
    seeds="$root/fuzz/corpus/$t"
    work="$build/corpus-work/$t"
    artifacts="$build/artifacts/$t"
    log="$build/$t.smoke.log"
    mkdir -p "$work" "$artifacts"
    if [[ ! -x "$bin" ]]; then
        summary+=("$(printf '%-20s MISSING (not built)' "$t")")
        failed=1
        continue
    fi
    if [[ ! -d "$seeds" ]] || [[ -z "$(ls -A "$seeds" 2>/dev/null)" ]]; then
        summary+=("$(printf '%-20s NO SEED CORPUS (%s)' "$t" "$seeds")")
        failed=1
        continue
    fi
    echo "== $t: ${seconds}s"
    # FUZZ_SECONDS=0 only replays the corpora (libFuzzer reads max_total_time=0 as "no limit").
    if [[ "$seconds" -gt 0 ]]; then limit=(-max_total_time="$seconds"); else limit=(-runs=0); fi
    # The work corpus comes first: libFuzzer writes new inputs into the first directory.
    "$bin" "$work" "$seeds" -max_len=65536 "${limit[@]}" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$artifacts/" >"$log" 2>&1
    rc=$?
    execs="$(grep -m1 '^stat::number_of_executed_units:' "$log" | awk '{print $2}')"
    cov="$(grep -Eo 'cov: [0-9]+' "$log" | tail -1 | awk '{print $2}')"
    if [[ $rc -eq 0 ]]; then
        summary+=("$(printf '%-20s ok     runs=%-9s cov=%s' "$t" "${execs:-?}" "${cov:-?}")")
    else
        failed=1
        crash="$(find "$artifacts" -type f -printf "%T@ %f\n" 2>/dev/null | sort -rn | head -1 | cut -d" " -f2)"
        summary+=("$(printf '%-20s FAILED (exit %d) %s log: %s' "$t" "$rc" "${crash:+artifact: $artifacts/$crash}" "$log")")
        echo "---- last lines of $log" >&2
        tail -n 40 "$log" >&2
    fi
done

echo
echo "== fuzz smoke summary (${seconds}s per target)"
printf '%s\n' "${summary[@]}"
if [[ $failed -ne 0 ]]; then
    echo "FUZZ SMOKE FAILED"
    exit 1
fi
echo "all fuzz targets passed"
