# Sourced by scripts/neo4j.sh, kafka.sh and postgres.sh: run a server in the foreground until
# it is stopped, printing its address once it serves.

# mark_log LOG: only lines the server writes to LOG after this count (a restart appends to it).
mark_log() {
    READY_LOG="$1"
    READY_FROM=$(( $(stat -c %s "$1" 2>/dev/null || echo 0) + 1 ))
}

# supervise NAME PID READY_PATTERN PORT ADDRESS SECONDS CONSOLE_LOG
# Ready when the marked log matches READY_PATTERN and PORT accepts a connection: then print
# ADDRESS on standard output. Fail if the server exits first or takes over SECONDS. SIGTERM,
# SIGINT or SIGHUP stop the server (with STOP_SIGNAL, default TERM) and wait for it (exit 0);
# otherwise exit with the server.
supervise() {
    local name="$1" pid="$2" pattern="$3" port="$4" address="$5" seconds="$6" console="$7"
    SUPERVISED="$pid"
    trap 'kill -"${STOP_SIGNAL:-TERM}" "$SUPERVISED" 2>/dev/null || true; wait "$SUPERVISED" 2>/dev/null || true; exit 0' \
        TERM INT HUP
    local ready=""
    for _ in $(seq $(( seconds * 10 ))); do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "$name exited during start; see $console and $READY_LOG:" >&2
            tail -20 "$console" >&2
            exit 1
        fi
        if tail -c +"$READY_FROM" "$READY_LOG" 2>/dev/null | grep -q "$pattern" \
                && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            ready=1
            echo "$address"
            break
        fi
        sleep 0.1
    done
    if [ -z "$ready" ]; then
        echo "$name did not start within $seconds s; see $(dirname "$READY_LOG")/" >&2
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        exit 1
    fi
    wait "$pid"
}
