#!/usr/bin/env bash
# Runs every Go fuzz target in the module (each `func FuzzXxx(f *testing.F)` in a *_test.go file)
# for a short time (FUZZTIME each, or a share of FUZZ_BUDGET: see below), one instrumented test
# binary per package. 34 targets at 2 s: about 2.5 minutes on a quiet 2-core machine, builds
# included (10 minutes at 3 s on this shared machine under a load average of 20).
# Their seed corpora already run with the ordinary tests; this explores beyond them. A failing
# input is written under the package's testdata/fuzz/FuzzXxx/ (commit it with the fix: it then
# runs as a seed). Optional argument: a regular expression selecting targets by name.
# CI runs it after the tests (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

# Some targets drive the API on both databases, as the tests do (scripts/test.sh).
export MAPSYNC_TEST_DATABASE_URL="${MAPSYNC_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}"
export MAPSYNC_REQUIRE_POSTGRES=1
filter="${1:-.}"

# "dir FuzzName" per target (every package here lives in a folder, none at the root).
targets=$(git grep -n -E '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' -- '*_test.go' |
  sed -E 's#^(.*)/[^/]*_test\.go:[0-9]+:func (Fuzz[A-Za-z0-9_]*)\(.*#\1 \2#' | sort -u)

# FUZZTIME per target, or else FUZZ_BUDGET seconds (default 100) shared among the targets, 1 to
# 3 s each, so the run stays near two minutes as targets are added.
matching=$(awk '{print $2}' <<<"$targets" | grep -cE -- "$filter" || true)
if [ -n "${FUZZTIME:-}" ]; then
  per="$FUZZTIME"
else
  each=$(( ${FUZZ_BUDGET:-100} / (matching > 0 ? matching : 1) ))
  per="$(( each < 1 ? 1 : (each > 3 ? 3 : each) ))s"
fi

start=$SECONDS
bins=$(mktemp -d)
trap 'rm -rf "$bins"' EXIT
cache="$(go env GOCACHE)/fuzz" # where `go test -fuzz` keeps what it found interesting
failed=()
n=0
built=""
while read -r dir name; do
  [ -n "$name" ] || continue
  [[ "$name" =~ $filter ]] || continue
  n=$((n + 1))
  bin="$bins/$(echo "$dir" | tr / _).test"
  # One instrumented test binary per package, run once per target in the package's folder.
  if [[ " $built " != *" $dir "* ]]; then
    if ! go test -c -fuzz=. -o "$bin" "./$dir"; then
      failed+=("$dir (build)")
      continue
    fi
    built="$built $dir"
  fi
  [ -x "$bin" ] || continue
  t0=$SECONDS
  fuzz() { (cd "$dir" && "$bin" -test.run '^$' -test.fuzz "^${name}\$" -test.fuzztime "$per" -test.fuzzcachedir "$cache") >"$bins/log" 2>&1; }
  ok=0
  fuzz && ok=1
  # Go's fuzzer sometimes ends a run whose -fuzztime ran out while a worker was mid-input with
  # a bare "context deadline exceeded" and no failing input (a known flake of the Go fuzzing
  # engine, seen here in CI): such a run found nothing; it is run once more, and fails if the
  # second run fails in any way.
  if [ "$ok" = 0 ] && grep -q 'context deadline exceeded' "$bins/log" && ! grep -qE 'Failing input written|panic:' "$bins/log"; then
    echo "note $dir $name: fuzzer ended with a bare 'context deadline exceeded'; running it again"
    fuzz && ok=1
  fi
  if [ "$ok" = 1 ]; then
    echo "ok   $dir $name ($((SECONDS - t0))s)"
  else
    echo "FAIL $dir $name ($((SECONDS - t0))s)"
    tail -n 30 "$bins/log"
    failed+=("$dir $name")
  fi
done <<<"$targets"

echo "fuzz: $n targets, $per each, $((SECONDS - start))s"
if [ "${#failed[@]}" -gt 0 ]; then
  printf 'fuzz: failed: %s\n' "${failed[@]}" >&2
  exit 1
fi
if [ "$n" -eq 0 ]; then
  echo "fuzz: no target matches $filter" >&2
  exit 1
fi
