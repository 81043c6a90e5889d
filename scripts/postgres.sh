#!/usr/bin/env bash
# Run a PostgreSQL server (Debian's packages) in the foreground, for tests, benchmarks and
# local use of the PostgreSQL parts of the catalog (scanning a database for personal data).
#
#   bash scripts/postgres.sh DATA_DIR [PORT]
#   bash scripts/postgres.sh --install   # only install Debian's postgresql (setup.sh --test does this)
#
# The first start creates a cluster in DATA_DIR/data with one superuser, `catalog`, and
# trust authentication; later starts on the same DATA_DIR keep its databases. It listens on
# 127.0.0.1 only (and a socket in DATA_DIR), on PORT or a free port: for one user or tests,
# not for a shared host. Once it accepts connections the script prints
# `postgresql://catalog@127.0.0.1:PORT/postgres` on standard output (and nothing else there);
# the server's log is DATA_DIR/postgres.log. SIGTERM or Ctrl-C stops it cleanly. Run as
# root, the server runs as the `postgres` user, which owns DATA_DIR.
set -euo pipefail
if [ $# -lt 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/apt.sh"
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    apt_install postgresql
fi
[ "$1" = "--install" ] && exit 0
BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"

mkdir -p "$1"
DATA_DIR="$(cd "$1" && pwd)"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PORT="${2:-$(free_port)}"
AS=()
if [ "$(id -u)" -eq 0 ]; then
    # The server may not run as root: it runs as postgres, which must reach DATA_DIR.
    dir="$DATA_DIR"
    while [ "$dir" != "/" ]; do
        dir="$(dirname "$dir")"
        if ! setpriv --reuid=postgres --regid=postgres --init-groups test -x "$dir"; then
            echo "scripts/postgres.sh: letting the postgres user traverse $dir (chmod o+x)" >&2
            chmod o+x "$dir"
        fi
    done
    chown postgres: "$DATA_DIR"
    # setpriv replaces itself with the server, so signals reach the postgres process itself.
    AS=(setpriv --reuid=postgres --regid=postgres --init-groups)
fi
if [ ! -f "$DATA_DIR/data/PG_VERSION" ]; then
    "${AS[@]}" "$BIN/initdb" -D "$DATA_DIR/data" -A trust -U catalog -E UTF8 --locale=C.UTF-8 \
        >"$DATA_DIR/initdb.log" 2>&1 || { cat "$DATA_DIR/initdb.log" >&2; exit 1; }
fi
LOG="$DATA_DIR/postgres.log"
# shellcheck source=scripts/supervise.sh
. "$HERE/supervise.sh"
STOP_SIGNAL=INT  # PostgreSQL's fast shutdown: SIGTERM would wait for every client to disconnect
"${AS[@]}" touch "$LOG"
mark_log "$LOG"
"${AS[@]}" "$BIN/postgres" -D "$DATA_DIR/data" -p "$PORT" -k "$DATA_DIR" -c listen_addresses=127.0.0.1 \
    -c logging_collector=off >>"$LOG" 2>&1 &
supervise PostgreSQL $! "database system is ready to accept connections" "$PORT" \
    "postgresql://catalog@127.0.0.1:$PORT/postgres" 60 "$LOG"
