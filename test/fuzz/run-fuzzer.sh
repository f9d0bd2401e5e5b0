#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time on a copy of its seed corpus;
# ctest runs it for each fuzz target in build-fuzz/ (label fuzz), and
# scripts/fuzz for long runs. Exits non-zero on any finding: a crash, a
# sanitizer report, a leak, a failed property, an input slower than the
# timeout or one needing more memory than the limit.
#
#   run-fuzzer.sh BINARY SEED_CORPUS WORK_DIRECTORY [DICTIONARY]
#
#   CFBP_FUZZ_SECONDS      how long to fuzz (default 15)
#   CFBP_FUZZ_TIMEOUT      seconds one input may take (default 10)
#   CFBP_FUZZ_RSS_MB       memory limit in MB (default 2048)
#   CFBP_FUZZ_KEEP_CORPUS  1: keep WORK_DIRECTORY/corpus from earlier runs and
#                          grow it (scripts/fuzz); otherwise start from the seeds
#
# WORK_DIRECTORY gets corpus/ (the copy the run adds to; the seed corpus in
# the source tree is never written), findings/ (inputs that failed, kept
# across runs) and fuzz.log (libFuzzer's output).
set -euo pipefail
if [ $# -lt 3 ] || [ $# -gt 4 ]; then
  echo "usage: $0 BINARY SEED_CORPUS WORK_DIRECTORY [DICTIONARY]" >&2
  exit 2
fi
binary=$1 seeds=$2 work=$3 dictionary=${4:-}
seconds=${CFBP_FUZZ_SECONDS:-15}
name=$(basename "$binary")

[ "${CFBP_FUZZ_KEEP_CORPUS:-0}" = 1 ] || rm -rf "$work/corpus"
mkdir -p "$work/corpus" "$work/findings"
cp -R "$seeds"/. "$work/corpus"/
options=(-max_total_time="$seconds" -timeout="${CFBP_FUZZ_TIMEOUT:-10}"
         -rss_limit_mb="${CFBP_FUZZ_RSS_MB:-2048}" -max_len=8192 -print_final_stats=1
         -artifact_prefix="$work/findings/")
[ -z "$dictionary" ] || options+=(-dict="$dictionary")

# The findings directory may hold inputs from earlier runs: name the new ones.
marker=$work/.started
touch "$marker"
status=0
"$binary" "${options[@]}" "$work/corpus" >"$work/fuzz.log" 2>&1 || status=$?

stat() { sed -n "s/^stat::$1: *//p" "$work/fuzz.log" | tail -n 1; }
echo "$name: $(stat number_of_executed_units) runs ($(stat average_exec_per_sec) per second)," \
     "corpus $(find "$work/corpus" -type f | wc -l) inputs, peak $(stat peak_rss_mb) MB"
if [ "$status" -ne 0 ]; then
  tail -n 80 "$work/fuzz.log"
  echo "$name: FAILED (libFuzzer exit status $status); full log: $work/fuzz.log" >&2
  find "$work/findings" -type f -newer "$marker" | sed "s|^|$name: finding: |" >&2
  echo "$name: replay one with: $binary FILE" >&2
  exit 1
fi
