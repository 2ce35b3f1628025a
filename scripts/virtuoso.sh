#!/bin/sh
# Start or stop a throwaway Virtuoso Open Source on loopback, for the `pledgegraph push` tests.
#   scripts/virtuoso.sh start|stop
# Settings (environment): VIRTUOSO_DIR (database, ini, pid and log; default /tmp/pledgegraph-virtuoso),
# VIRTUOSO_SQL_PORT (default 11111), VIRTUOSO_HTTP_PORT (default 18890), VIRTUOSO_DIRS_ALLOWED (extra
# folders its loaders may read, comma-separated; `pledgegraph push` bulk-loads through one it can
# write), VIRTUOSO_BUFFERS (8 KB pages of cache, default 10000: 80 MB; the bench gives more at 1M),
# VIRTUOSO_QUERY_SECONDS (MaxQueryExecutionTime, default 60: an HTTP request's transaction is killed
# 10 s after it, so a `push` swap of millions of triples needs more), VIRTUOSO_TIMEOUT (seconds to wait
# for start-up, default 60), VIRTUOSO_AFTER_IMAGE_BYTES (TransactionAfterImageLimit, default 1500000000:
# an HTTP `push` swaps the whole release in one transaction, 30-60 bytes of after-image a triple; Virtuoso's
# own default, 50 MB, refused the swap of a 1.8M-triple release with SR325).
# A fresh database each start: user dba, password dba. Both ports listen on 127.0.0.1 only.
set -eu

DIR=${VIRTUOSO_DIR:-/tmp/pledgegraph-virtuoso}
SQL_PORT=${VIRTUOSO_SQL_PORT:-11111}
HTTP_PORT=${VIRTUOSO_HTTP_PORT:-18890}
TIMEOUT=${VIRTUOSO_TIMEOUT:-60}
BUFFERS=${VIRTUOSO_BUFFERS:-10000}
QUERY_SECONDS=${VIRTUOSO_QUERY_SECONDS:-60}
AFTER_IMAGE_BYTES=${VIRTUOSO_AFTER_IMAGE_BYTES:-1500000000}
BIN=$(command -v virtuoso-t || true)
VSP=/var/lib/virtuoso-opensource-7/vsp

stop() {
    [ -f "$DIR/virtuoso.pid" ] || return 0
    pid=$(cat "$DIR/virtuoso.pid")
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        waited=0
        while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt 30 ]; do sleep 0.5; waited=$((waited + 1)); done
        kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    fi
    rm -rf "$DIR"
}

start() {
    [ -n "$BIN" ] || { echo "virtuoso-t not found: run scripts/install-test-deps.sh" >&2; exit 3; }
    stop
    mkdir -p "$DIR/db"
    cat > "$DIR/virtuoso.ini" <<INI
[Database]
DatabaseFile       = $DIR/db/virtuoso.db
ErrorLogFile       = $DIR/db/virtuoso.log
LockFile           = $DIR/db/virtuoso.lck
TransactionFile    = $DIR/db/virtuoso.trx
xa_persistent_file = $DIR/db/virtuoso.pxa
ErrorLogLevel      = 7
FileExtend         = 200
MaxCheckpointRemap = 2000
Striping           = 0
TempStorage        = TempDatabase

[TempDatabase]
DatabaseFile       = $DIR/db/virtuoso-temp.db
TransactionFile    = $DIR/db/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping           = 0

[Parameters]
ServerPort           = 127.0.0.1:$SQL_PORT
DisableUnixSocket    = 1
MaxClientConnections = 5
CheckpointInterval   = 0
DirsAllowed          = ., $DIR${VIRTUOSO_DIRS_ALLOWED:+, $VIRTUOSO_DIRS_ALLOWED}
NumberOfBuffers      = $BUFFERS
MaxDirtyBuffers      = $((BUFFERS * 3 / 5))
ThreadsPerQuery      = 2
AsyncQueueMaxThreads = 4
MaxQueryMem          = 256M
TransactionAfterImageLimit = $AFTER_IMAGE_BYTES

[HTTPServer]
ServerPort           = 127.0.0.1:$HTTP_PORT
ServerRoot           = $VSP
MaxClientConnections = 5
ServerThreads        = 5
EnabledDavVSP        = 0
Charset              = UTF-8

[SPARQL]
ResultSetMaxRows        = 100000
MaxQueryExecutionTime   = $QUERY_SECONDS
DefaultQuery            = SELECT * WHERE { ?s ?p ?o } LIMIT 1
INI
    (cd "$DIR" && exec "$BIN" +foreground +configfile "$DIR/virtuoso.ini" >"$DIR/stdout.log" 2>&1) &
    echo $! > "$DIR/virtuoso.pid"
    waited=0
    until python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$HTTP_PORT/sparql?query=ASK%7B%7D', timeout=2)" 2>/dev/null; do
        if ! kill -0 "$(cat "$DIR/virtuoso.pid")" 2>/dev/null; then
            echo "virtuoso exited during startup:" >&2; tail -20 "$DIR/db/virtuoso.log" "$DIR/stdout.log" >&2 || true
            rm -rf "$DIR"; exit 1
        fi
        if [ "$waited" -ge "$((TIMEOUT * 2))" ]; then
            echo "virtuoso did not answer on 127.0.0.1:$HTTP_PORT within ${TIMEOUT}s" >&2
            tail -20 "$DIR/db/virtuoso.log" >&2 || true
            stop; exit 1
        fi
        sleep 0.5; waited=$((waited + 1))
    done
    echo "virtuoso up: sql 127.0.0.1:$SQL_PORT, http://127.0.0.1:$HTTP_PORT/sparql (pid $(cat "$DIR/virtuoso.pid"))"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
