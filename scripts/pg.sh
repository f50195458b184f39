#!/usr/bin/env bash
# Start or stop a throwaway PostgreSQL cluster for tests: temporary directory, 127.0.0.1 only,
# a free port, trust authentication (acceptable for a throwaway test cluster only).
#
#   scripts/pg.sh start    prints `export VAULT_TEST_PG_DIR=… VAULT_TEST_DATABASE_URL=…` lines
#   scripts/pg.sh stop DIR stops the cluster and removes DIR
#
# Works as root (initdb runs as the `postgres` user through runuser) and as a normal user.
set -euo pipefail

find_bindir() {
  if [ -n "${VAULT_PG_BINDIR:-}" ] && [ -x "$VAULT_PG_BINDIR/initdb" ]; then echo "$VAULT_PG_BINDIR"; return 0; fi
  for d in /usr/lib/postgresql/*/bin /usr/local/pgsql/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return 0; }
  return 1
}

as_owner() {
  if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

cmd="${1:-}"
case "$cmd" in
  available)
    find_bindir >/dev/null
    ;;
  start)
    bindir=$(find_bindir) || { echo "no PostgreSQL binaries found" >&2; exit 3; }
    dir=$(mktemp -d "${TMPDIR:-/tmp}/vault-pg.XXXXXX")
    chmod 0700 "$dir"
    if [ "$(id -u)" = "0" ]; then
      id postgres >/dev/null 2>&1 || { echo "running as root but there is no 'postgres' user" >&2; exit 3; }
      chown postgres: "$dir"
    fi
    as_owner "$bindir/initdb" -D "$dir/data" -U vault -A trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 3; }
    port=$(free_port)
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c full_page_writes=off -c max_connections=200" \
      >/dev/null || { cat "$dir/server.log" >&2; exit 3; }
    as_owner "$bindir/createdb" -h 127.0.0.1 -p "$port" -U vault vault
    echo "export VAULT_TEST_PG_DIR=$dir"
    echo "export VAULT_TEST_PG_BINDIR=$bindir"
    echo "export VAULT_TEST_DATABASE_URL=postgresql+psycopg://vault@127.0.0.1:$port/vault"
    ;;
  stop)
    dir="${2:?usage: pg.sh stop DIR}"
    bindir=$(find_bindir) || exit 0
    [ -d "$dir/data" ] && as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    case "$dir" in
      */vault-pg.*) rm -rf "$dir" ;;
      *) echo "refusing to remove $dir" >&2; exit 2 ;;
    esac
    ;;
  *)
    echo "usage: $0 start | stop DIR | available" >&2
    exit 2
    ;;
esac
