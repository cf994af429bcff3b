# Sourced by infra/local/run, test and bench: make sure an AWS emulator is reachable and the
# environment points the SDKs at it. When AWS_ENDPOINT_URL is already set (LocalStack or a moto
# you run yourself), that one is used and nothing is started.
# Defines `start_emulator` and `stop_emulator`; expects $root (the repository root).

emulator_pid=""

start_emulator() {
    if [[ -n "${AWS_ENDPOINT_URL:-}" ]]; then
        echo "emulator: using AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL" >&2
    else
        local port="${EMULATOR_PORT:-$(free_port)}"
        mkdir -p "$root/.local"
        # One request at a time: see emulator.py for why.
        "$root/.local/venv/bin/python" "$root/infra/local/emulator.py" -H 127.0.0.1 -p "$port" \
            >"$root/.local/moto.log" 2>&1 &
        emulator_pid=$!
        export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
        wait_for_port "$port"
        echo "emulator: moto at $AWS_ENDPOINT_URL (log: .local/moto.log)" >&2
    fi
    # The emulator needs a region and a signature but checks no credentials; never look for
    # real ones (instance metadata included).
    export AWS_REGION="${AWS_REGION:-us-east-1}"
    export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-$AWS_REGION}"
    export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
    export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
    export AWS_EC2_METADATA_DISABLED=true
}

stop_emulator() {
    if [[ -n "$emulator_pid" ]]; then
        kill "$emulator_pid" 2>/dev/null || true
        wait "$emulator_pid" 2>/dev/null || true
        emulator_pid=""
    fi
}

free_port() {
    "$root/.local/venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for_port() {
    local port="$1"
    for _ in $(seq 1 150); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        if ! kill -0 "$emulator_pid" 2>/dev/null; then
            echo "emulator: moto exited; last lines of .local/moto.log:" >&2
            tail -n 20 "$root/.local/moto.log" >&2
            echo "emulator: is port $port taken? Set EMULATOR_PORT, or AWS_ENDPOINT_URL for a running emulator." >&2
            exit 1
        fi
        sleep 0.2
    done
    echo "emulator: moto did not listen on port $port within 30 s (see .local/moto.log)" >&2
    exit 1
}
