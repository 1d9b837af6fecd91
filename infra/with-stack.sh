#!/usr/bin/env bash
# Runs a command with the local stack up and its environment exported:
#
#   infra/with-stack.sh [--scenario FILE] [--init] [--] COMMAND [ARGS...]
#
# If the stack is already up (infra/stack.sh up), it is reused and left
# running; otherwise it is started for the command and stopped afterwards,
# whatever the command's outcome. The command's exit status is returned.
#
#   --scenario FILE  also run the CXone simulator with this scenario
#                    (exports CXONE_ISSUER)
#   --init           create the template's tables (AUDIT_TABLE, STATE_TABLE,
#                    IDEMPOTENCY_TABLE default to local-audit, local-state,
#                    local-idempotency) with target/debug/stack-init, the
#                    secret CXONE_SECRET_ID (default cxone/local) from
#                    CXONE_SECRET_FILE when that is set, and the webhook
#                    signing secret WEBHOOK_SECRET_ID (default webhook/local)
#                    from WEBHOOK_SECRET_FILE when that is set (JSON
#                    {"webhookSecrets": ["..."]}, each at least 32 bytes)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STACK="$ROOT/infra/stack.sh"
STATE="${STACK_STATE_DIR:-$ROOT/infra/.stack}"

die() { echo "with-stack: error: $*" >&2; exit 2; }

scenario=""
init=0
while (($#)); do
    case "$1" in
        --scenario)
            [[ $# -ge 2 ]] || die "--scenario needs a FILE"
            scenario="$2"
            shift 2
            ;;
        --scenario=*) scenario="${1#--scenario=}"; shift ;;
        --init) init=1; shift ;;
        --) shift; break ;;
        -*) die "unknown option $1 (usage: with-stack.sh [--scenario FILE] [--init] COMMAND...)" ;;
        *) break ;;
    esac
done
(($#)) || die "no command given (usage: with-stack.sh [--scenario FILE] [--init] COMMAND...)"

started=0
running_scenario="$(cat "$STATE/scenario" 2>/dev/null || true)"
want_scenario=""
if [[ -n "$scenario" ]]; then
    [[ -f "$scenario" ]] || die "scenario file not found: $scenario"
    want_scenario="$(cd "$(dirname "$scenario")" && pwd)/$(basename "$scenario")"
fi

if bash "$STACK" status >/dev/null 2>&1 && [[ -z "$want_scenario" || "$want_scenario" == "$running_scenario" ]]; then
    echo "with-stack: reusing the running local stack" >&2
else
    if bash "$STACK" status >/dev/null 2>&1; then
        die "a local stack is up with scenario '${running_scenario:-none}'; run 'infra/stack.sh down' first"
    fi
    args=(up)
    [[ -n "$scenario" ]] && args+=(--scenario "$scenario")
    bash "$STACK" "${args[@]}" >/dev/null
    started=1
fi

cleanup() {
    if ((started)); then
        bash "$STACK" down >/dev/null 2>&1 || echo "with-stack: warning: 'infra/stack.sh down' failed" >&2
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# shellcheck disable=SC1091
source "$STATE/env"

if ((init)); then
    export AUDIT_TABLE="${AUDIT_TABLE:-local-audit}"
    export STATE_TABLE="${STATE_TABLE:-local-state}"
    export IDEMPOTENCY_TABLE="${IDEMPOTENCY_TABLE:-local-idempotency}"
    export CXONE_SECRET_ID="${CXONE_SECRET_ID:-cxone/local}"
    export WEBHOOK_SECRET_ID="${WEBHOOK_SECRET_ID:-webhook/local}"
    init_args=(--template "$ROOT/template.yaml")
    [[ -n "${CXONE_SECRET_FILE:-}" ]] && init_args+=(--secret-file "$CXONE_SECRET_FILE")
    [[ -n "${WEBHOOK_SECRET_FILE:-}" ]] && init_args+=(--webhook-secret-file "$WEBHOOK_SECRET_FILE")
    if [[ ! -x "$ROOT/target/debug/stack-init" ]]; then
        (cd "$ROOT" && cargo build -q -p local-stack --bin stack-init)
    fi
    "$ROOT/target/debug/stack-init" "${init_args[@]}" >&2
fi

set +e
"$@"
status=$?
set -e
exit "$status"
