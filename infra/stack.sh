#!/usr/bin/env bash
# The local stack: moto's server (DynamoDB + Secrets Manager on one loopback
# port) and, optionally, the CXone simulator.
#
#   infra/stack.sh up [--scenario FILE]   start (a no-op when already up)
#   infra/stack.sh down                   stop exactly what `up` started
#   infra/stack.sh env                    print the export lines
#   infra/stack.sh status                 say what is running (exit 0 when up)
#
# `up` writes infra/.stack/env; use it with:  eval "$(infra/stack.sh env)"
# State lives in infra/.stack/ (gitignored; STACK_STATE_DIR moves it, so that two stacks can run side by side): pids, env, moto.log, sim.log,
# sim.port, scenario.
#
# Environment:
#   CXONE_SIM_BIN   simulator binary (default: <repo>/target/debug/cxone-sim;
#                   built with cargo when missing)
#   STACK_MOTO_PORT fixed port for moto (default: a free one)
#   STACK_MOTO_HOST address moto binds (default 127.0.0.1)
#   STACK_SIM_PORT  fixed port for the simulator (default: a free one)
#   STACK_WAIT_SECS seconds to wait for each service (default 30)
#
# For `sam local invoke --env-vars infra/env.json` (Docker), which expects
# moto on port 5000 and the simulator on 8700 of the Docker host:
#   STACK_MOTO_HOST=0.0.0.0 STACK_MOTO_PORT=5000 STACK_SIM_PORT=8700 \
#     infra/stack.sh up --scenario infra/scenarios/demo-day.json
#   eval "$(infra/stack.sh env)"
#   target/debug/stack-init --prefix local --secret-id cxone/local --secret-file my-secret.json
#   sam build && sam local invoke CapacityTunerFunction \
#     -e infra/events/capacity-tuner.json --add-host host.docker.internal:host-gateway
# (samconfig.toml passes --env-vars infra/env.json and the parameters that
# declare AWS_ENDPOINT_URL.)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${STACK_STATE_DIR:-$ROOT/infra/.stack}"
PIDS="$STATE/pids"
ENVF="$STATE/env"
VENV="$ROOT/.venv"
MOTO="$VENV/bin/moto_server"
SIM_BIN="${CXONE_SIM_BIN:-$ROOT/target/debug/cxone-sim}"
WAIT_SECS="${STACK_WAIT_SECS:-30}"

say() { echo "stack: $*" >&2; }
die() { echo "stack: error: $*" >&2; exit 1; }

usage() {
    awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}" >&2
    exit 2
}

# A recorded PID still runs the program we started (guards against PID reuse).
pid_alive() {
    local pid="$1" name="$2" args
    kill -0 "$pid" 2>/dev/null || return 1
    args="$(ps -o args= -p "$pid" 2>/dev/null || true)"
    [[ "$args" == *"$name"* ]]
}

all_recorded_alive() {
    [[ -s "$PIDS" ]] || return 1
    local pid name
    while read -r pid name; do
        [[ -n "$pid" ]] || continue
        pid_alive "$pid" "$name" || return 1
    done <"$PIDS"
}

recorded() { [[ -s "$PIDS" ]] && awk -v n="$1" '$2 == n { found = 1 } END { exit !found }' "$PIDS"; }

free_port() {
    "$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Stop exactly the recorded PIDs: TERM, wait, then KILL what is left.
stop_recorded() {
    [[ -f "$PIDS" ]] || return 0
    local pid name live=()
    while read -r pid name; do
        [[ -n "$pid" ]] || continue
        if pid_alive "$pid" "$name"; then
            kill -TERM "$pid" 2>/dev/null || true
            live+=("$pid")
        fi
    done <"$PIDS"
    local deadline=$((SECONDS + 10))
    for pid in "${live[@]+"${live[@]}"}"; do
        while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then
            say "pid $pid ignored SIGTERM; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
        fi
    done
    rm -f "$PIDS"
}

probe() { # url: succeeds when it answers 2xx
    if command -v curl >/dev/null 2>&1; then
        curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null
    else
        "$VENV/bin/python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$1" >/dev/null 2>&1
    fi
}

start_bg() { # log, program, args...: prints the PID
    local log="$1"
    shift
    if command -v setsid >/dev/null 2>&1; then
        setsid "$@" </dev/null >>"$log" 2>&1 &
    else
        nohup "$@" </dev/null >>"$log" 2>&1 &
    fi
    echo $!
}

start_moto() {
    [[ -x "$MOTO" ]] || die "$MOTO not found: run infra/setup.sh first"
    local attempt port pid tries=3
    [[ -n "${STACK_MOTO_PORT:-}" ]] && tries=1
    for ((attempt = 1; attempt <= tries; attempt++)); do
        port="${STACK_MOTO_PORT:-$(free_port)}"
        : >"$STATE/moto.log"
        pid="$(start_bg "$STATE/moto.log" env -u MOTO_PORT "$VENV/bin/python" "$ROOT/infra/moto_server.py" -H "${STACK_MOTO_HOST:-127.0.0.1}" -p "$port")"
        echo "$pid moto_server" >>"$PIDS"
        local deadline=$((SECONDS + WAIT_SECS))
        while ((SECONDS < deadline)); do
            if ! kill -0 "$pid" 2>/dev/null; then
                break
            fi
            if probe "http://127.0.0.1:$port/moto-api/data.json"; then
                moto_port="$port"
                say "moto_server (pid $pid) on http://127.0.0.1:$port"
                return 0
            fi
            sleep 0.2
        done
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            sleep 0.5
            kill -KILL "$pid" 2>/dev/null || true
            sed -i "/^$pid /d" "$PIDS"
            die "moto_server did not answer on port $port within ${WAIT_SECS}s (see $STATE/moto.log)"
        fi
        sed -i "/^$pid /d" "$PIDS"
        say "moto_server exited at start (attempt $attempt, port $port); retrying"
    done
    tail -n 20 "$STATE/moto.log" >&2 || true
    die "moto_server would not start (see $STATE/moto.log)"
}

start_sim() {
    local scenario="$1"
    [[ -f "$scenario" ]] || die "scenario file not found: $scenario"
    if [[ ! -x "$SIM_BIN" ]]; then
        say "building the CXone simulator (cargo build -p cxone-sim --bin cxone-sim)"
        (cd "$ROOT" && cargo build -q -p cxone-sim --bin cxone-sim) ||
            die "could not build the simulator; build it with 'cargo build -p cxone-sim' or set CXONE_SIM_BIN"
    fi
    rm -f "$STATE/sim.port"
    : >"$STATE/sim.log"
    local pid
    pid="$(start_bg "$STATE/sim.log" "$SIM_BIN" --scenario "$scenario" --port "${STACK_SIM_PORT:-0}" --port-file "$STATE/sim.port")"
    echo "$pid $(basename "$SIM_BIN")" >>"$PIDS"
    local deadline=$((SECONDS + WAIT_SECS)) port=""
    while ((SECONDS < deadline)); do
        kill -0 "$pid" 2>/dev/null || {
            tail -n 20 "$STATE/sim.log" >&2 || true
            die "the simulator exited at start (see $STATE/sim.log)"
        }
        if [[ -s "$STATE/sim.port" ]]; then
            port="$(tr -dc '0-9' <"$STATE/sim.port")"
            [[ -n "$port" ]] && break
        fi
        sleep 0.1
    done
    [[ -n "$port" ]] || die "the simulator wrote no port file within ${WAIT_SECS}s (see $STATE/sim.log)"
    sim_port="$port"
    echo "$scenario" >"$STATE/scenario"
    say "cxone-sim (pid $pid) on http://127.0.0.1:$port, scenario $scenario"
}

write_env() {
    local tmp="$ENVF.tmp"
    {
        echo "export AWS_ENDPOINT_URL=http://127.0.0.1:$moto_port"
        echo "export AWS_ACCESS_KEY_ID=testing"
        echo "export AWS_SECRET_ACCESS_KEY=testing"
        echo "export AWS_SESSION_TOKEN=testing"
        echo "export AWS_REGION=us-east-1"
        echo "export AWS_DEFAULT_REGION=us-east-1"
        echo "export AWS_EC2_METADATA_DISABLED=true"
        if [[ -n "${sim_port:-}" ]]; then
            echo "export CXONE_ISSUER=http://127.0.0.1:$sim_port"
        fi
    } >"$tmp"
    mv "$tmp" "$ENVF"
}

cmd_up() {
    local scenario=""
    while (($#)); do
        case "$1" in
            --scenario)
                [[ $# -ge 2 ]] || die "--scenario needs a FILE"
                scenario="$2"
                shift 2
                ;;
            --scenario=*)
                scenario="${1#--scenario=}"
                shift
                ;;
            *) die "unknown argument to up: $1" ;;
        esac
    done
    if [[ -n "$scenario" ]]; then
        [[ -f "$scenario" ]] || die "scenario file not found: $scenario"
        scenario="$(cd "$(dirname "$scenario")" && pwd)/$(basename "$scenario")"
    fi
    mkdir -p "$STATE"

    if all_recorded_alive && [[ -s "$ENVF" ]]; then
        local running_scenario
        running_scenario="$(cat "$STATE/scenario" 2>/dev/null || true)"
        if [[ -z "$scenario" || "$scenario" == "$running_scenario" ]]; then
            say "already up"
            cat "$ENVF"
            return 0
        fi
        if recorded cxone-sim || [[ -n "$running_scenario" ]]; then
            die "already up with scenario '$running_scenario'; run 'infra/stack.sh down' first"
        fi
        # moto runs without a simulator: add one.
        moto_port="$(sed -n 's|^export AWS_ENDPOINT_URL=http://127.0.0.1:||p' "$ENVF")"
        start_sim "$scenario"
        write_env
        cat "$ENVF"
        return 0
    fi

    if [[ -f "$PIDS" ]]; then
        say "cleaning up a partly stopped stack"
        stop_recorded
    fi
    rm -f "$ENVF" "$STATE/sim.port" "$STATE/scenario"
    moto_port=""
    sim_port=""
    # On failure, stop whatever this run already started.
    trap 'rc=$?; if ((rc)); then stop_recorded; rm -f "$ENVF"; fi' EXIT
    start_moto
    [[ -z "$scenario" ]] || start_sim "$scenario"
    write_env
    trap - EXIT
    cat "$ENVF"
}

cmd_down() {
    if [[ ! -f "$PIDS" && ! -f "$ENVF" ]]; then
        say "not running"
        return 0
    fi
    stop_recorded
    rm -f "$ENVF" "$STATE/sim.port" "$STATE/scenario"
    say "stopped"
}

cmd_env() {
    [[ -s "$ENVF" ]] || die "the stack is not up: run 'infra/stack.sh up'"
    cat "$ENVF"
}

cmd_status() {
    if [[ ! -s "$PIDS" ]]; then
        echo "down"
        return 1
    fi
    local pid name
    while read -r pid name; do
        if pid_alive "$pid" "$name"; then echo "$name pid $pid: running"; else echo "$name pid $pid: gone"; fi
    done <"$PIDS"
    [[ -s "$ENVF" ]] && cat "$ENVF"
    all_recorded_alive
}

case "${1:-}" in
    up) shift; cmd_up "$@" ;;
    down) shift; cmd_down ;;
    env) shift; cmd_env ;;
    status) shift; cmd_status ;;
    -h | --help | help) usage ;;
    *) usage ;;
esac
