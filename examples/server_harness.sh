# shellcheck shell=bash
# Sourced by the example tests that drive a server: start it on a free port,
# read the port from its output, fail with its output shown, stop it.
# Every wait is bounded; the server is killed if the script ends early.
#
#   start_server LOG SERVER [ARGS...]   runs SERVER --port=0 ARGS >LOG 2>&1,
#                                       sets server_pid and server_log
#   wait_for_port                       sets port from the first
#                                       "127.0.0.1:N" the server prints
#                                       (up to 30 s: sanitizer builds start
#                                       slowly), or fails
#   stop_server                         SIGTERM, then SIGKILL after 30 s;
#                                       sets server_rc (137 if killed)
#   fail MESSAGE                        prints MESSAGE and the server's
#                                       output, exits 1

start_server() {
  server_log=$1
  server_cmd="$2 --port=0 ${*:3}"
  "$2" --port=0 "${@:3}" >"$server_log" 2>&1 &
  server_pid=$!
  trap 'kill -KILL "$server_pid" 2>/dev/null' EXIT
}

fail() {
  echo "FAIL: $*"
  echo "--- server output ($server_cmd):"
  cat "$server_log"
  exit 1
}

wait_for_port() {
  port=
  for _ in $(seq 300); do
    port=$(grep -m1 -oE '127\.0\.0\.1:[0-9]+' "$server_log" | cut -d: -f2)
    [[ -n $port ]] && return
    kill -0 "$server_pid" 2>/dev/null || fail "server exited before reporting its port"
    sleep 0.1
  done
  fail "server did not report its port within 30 s"
}

stop_server() {
  kill -TERM "$server_pid"
  (for _ in $(seq 300); do sleep 0.1; done; kill -KILL "$server_pid" 2>/dev/null) &
  local watchdog=$!
  wait "$server_pid"
  # shellcheck disable=SC2034  # read by the scripts that source this file
  server_rc=$?
  kill "$watchdog" 2>/dev/null
}
