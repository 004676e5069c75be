# Shared by the bench/*.sh scripts: source it after `set -euo pipefail`.

# Prints the script's header comment (from line 2 to `set -euo`) as its help,
# then exits with status $1 (default 0).
usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
  exit "${1:-0}"
}

# Prints a TCP port on 127.0.0.1 that nobody listens on and that is none of
# the ports given as arguments (ones this script already handed out).
free_port() {
  local port
  for _ in {1..200}; do
    port=$((20000 + RANDOM % 40000))
    [[ " $* " == *" $port "* ]] && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
  done
  echo "no free port found" >&2
  exit 1
}
