# Helpers shared by the check scripts (sourced; each script defines `fail MESSAGE` first).

# A TCP port on 127.0.0.1 that nothing listens on.
free_port() {
    local p
    for _ in $(seq 1 200); do
        p=$(( 15000 + RANDOM % 17000 ))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
    done
    fail "no free port"
}

# wait_http URL SECONDS: until the URL answers 2xx, or fail.
wait_http() {
    for _ in $(seq 1 $(( $2 * 5 ))); do
        curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
        sleep 0.2
    done
    fail "timed out waiting for $1"
}
