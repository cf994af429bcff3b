# shellcheck shell=bash
# The back-office console (web/) for the local stack: sourced by infra/local/run and
# infra/local/browser-test. Needs $root (the repository root); web/node_modules comes from
# infra/local/setup.

# serve_console DIR PORT API_URL: builds the console into DIR with a config.json pointing it at
# API_URL, and serves DIR on 127.0.0.1:PORT (vite preview) in the background; its pid goes to
# console_pid. Its own origin, so the browser calls the API cross-origin, as deployed.
serve_console() {
    local dir="$1" port="$2" api_url="$3"
    (cd "$root/web" && node_modules/.bin/vite build --logLevel warn --outDir "$dir" --emptyOutDir)
    printf '{"apiUrl": "%s"}\n' "$api_url" >"$dir/config.json"
    (cd "$root/web" && exec node_modules/.bin/vite preview --outDir "$dir" --host 127.0.0.1 \
        --port "$port" --strictPort) >"$root/.local/console-$port.log" 2>&1 &
    console_pid=$!
    for _ in $(seq 1 100); do
        if curl -sf -o /dev/null "http://127.0.0.1:$port/config.json"; then
            return 0
        fi
        if ! kill -0 "$console_pid" 2>/dev/null; then
            echo "console: the server exited; its log:" >&2
            cat "$root/.local/console-$port.log" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "console: nothing answers on port $port" >&2
    return 1
}
