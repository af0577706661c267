#!/usr/bin/env bash
# Runs every mapsync test: makes sure PostgreSQL is reachable (starting the local cluster if the
# machine has one), installs the pinned Node client libraries the sandbox fidelity tests drive,
# then runs `go test` over the whole module. Extra arguments go to `go test` (e.g. -race, -run X).
set -euo pipefail
cd "$(dirname "$0")/.."

export MAPSYNC_TEST_DATABASE_URL="${MAPSYNC_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}"
# Store tests must never pass without PostgreSQL: with this set they fail instead of skipping.
export MAPSYNC_REQUIRE_POSTGRES=1
# The slow fault tests (private PostgreSQL restarts, kill -9; internal/pgtest.Faults) run when
# MAPSYNC_FAULTS=1; CI always runs them.
if [ "${CI:-}" = true ]; then
  export MAPSYNC_FAULTS="${MAPSYNC_FAULTS:-1}"
fi

pg_ready() {
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -d "$MAPSYNC_TEST_DATABASE_URL" -t 3
  else
    psql "$MAPSYNC_TEST_DATABASE_URL" -qAtc 'select 1' >/dev/null 2>&1
  fi
}

if ! pg_ready; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ] && [ -n "$(ls /etc/postgresql 2>/dev/null)" ]; then
    ver=$(ls /etc/postgresql | sort -V | tail -n 1)
    echo "test.sh: PostgreSQL is not running; starting cluster $ver/main" >&2
    pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
    for _ in $(seq 1 30); do pg_ready && break; sleep 1; done
  fi
  if ! pg_ready; then
    cat >&2 <<MSG
test.sh: PostgreSQL is not reachable at MAPSYNC_TEST_DATABASE_URL ($MAPSYNC_TEST_DATABASE_URL).
  Install and start it (Debian: apt-get install postgresql && pg_ctlcluster 15 main start),
  or point MAPSYNC_TEST_DATABASE_URL at a server where user may CREATE SCHEMA.
MSG
    exit 1
  fi
fi

# Node client libraries (jsforce, @hubspot/api-client) for the sandbox fidelity tests.
for lock in sandbox/*/testdata/*/package-lock.json; do
  [ -f "$lock" ] || continue
  dir=$(dirname "$lock")
  if [ ! -d "$dir/node_modules" ] || [ "$lock" -nt "$dir/node_modules/.package-lock.json" ]; then
    if ! command -v npm >/dev/null 2>&1; then
      echo "test.sh: npm is needed for $dir (apt-get install nodejs npm)" >&2
      exit 1
    fi
    echo "test.sh: npm ci --prefix $dir" >&2
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error >&2
  fi
done

# Packages given as ./path arguments are tested instead of the whole module.
pkgs=./...
for a in "$@"; do
  case "$a" in ./*) pkgs= ;; esac
done
exec go test -count=1 "$@" $pkgs
