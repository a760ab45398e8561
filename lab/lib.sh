# shellcheck shell=bash
# Shared helpers for the lab scripts (lab/up, lab/down, lab/status, lab/dns/*).
# Source it: . "$(dirname "$0")/lib.sh"   (or ../lib.sh from a component directory)
#
# Environment (exported, so components such as lab/mail/up see it too):
#   MAILDOCTOR_LAB_RUN  runtime state (default /run/maildoctor-lab); LAB_RUN is the same value
#   LAB_DIR             the repository's lab/ directory
#   LAB_RESOLVER        the lab resolver (Unbound) address, 127.0.53.53
#   LAB_NS              the lab authoritative server (NSD) address, 127.0.53.1
#   LAB_RESOLV_CONF     $LAB_RUN/resolv.conf ("nameserver 127.0.53.53"), for namespaced daemons

LAB_DIR=${LAB_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
MAILDOCTOR_LAB_RUN=${MAILDOCTOR_LAB_RUN:-/run/maildoctor-lab}
LAB_RUN=$MAILDOCTOR_LAB_RUN
LAB_RESOLVER=${LAB_RESOLVER:-127.0.53.53}
LAB_NS=${LAB_NS:-127.0.53.1}
LAB_RESOLV_CONF=$LAB_RUN/resolv.conf
export LAB_DIR MAILDOCTOR_LAB_RUN LAB_RUN LAB_RESOLVER LAB_NS LAB_RESOLV_CONF

LAB_PIDS=$LAB_RUN/pids
LAB_LOGS=$LAB_RUN/log

# Messages go to stderr, prefixed with the script's name.
lab_prog=${lab_prog:-$(basename "$(dirname "$0")")/$(basename "$0")}
say()  { printf '%s: %s\n' "$lab_prog" "$*" >&2; }
die()  { printf '%s: error: %s\n' "$lab_prog" "$*" >&2; exit 1; }

need_root() { [ "$(id -u)" = 0 ] || die "must run as root (it configures loopback addresses, /etc/hosts and daemons)"; }

# now_ms: monotonic-enough wall clock in milliseconds (bash 5 EPOCHREALTIME).
now_ms() { local t=${EPOCHREALTIME/./}; echo $(( t / 1000 )); }

# The lab's hosts: "ip name" lines from hosts.tsv.
lab_hosts() { awk -F'\t' '!/^#/ && NF >= 2 { print $1, $2 }' "$LAB_DIR/hosts.tsv"; }

# proc_running PID: the process exists and is no zombie (exited daemons reparented to PID 1
# stay zombies until it reaps them, which here can take seconds).
proc_running() {
    local st
    # (not /proc/PID/stat: a process title such as "nsd: xfrd" puts spaces in its fields)
    st=$(sed -n 's/^State:[[:space:]]*\([A-Za-z]\).*/\1/p' "/proc/$1/status" 2>/dev/null) || return 1
    [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# pid_alive NAME: true when $LAB_PIDS/NAME.pid names a running process whose command line
# still matches what we started (guards against PID reuse: never signal a stranger).
pid_alive() {
    local f=$LAB_PIDS/$1.pid pid want
    [ -s "$f" ] || return 1
    read -r pid want < "$f" || true
    [ -n "$pid" ] && proc_running "$pid" || return 1
    [ -z "${want:-}" ] && return 0
    tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$want"
}

# spawn NAME MATCH LOG CMD...: start a foreground-capable daemon in its own session, in the
# background, and record "PID MATCH" in $LAB_PIDS/NAME.pid (MATCH: a string of its command line).
spawn() {
    local name=$1 match=$2 log=$3; shift 3
    mkdir -p "$LAB_PIDS" "$(dirname "$log")"
    # Job control is off in scripts, so the child is no process-group leader and setsid(1)
    # calls setsid() and execs in place: $! is the daemon's own PID.
    # (9>&-: lab/up's lock fd must not live on in a daemon, or the next lab/up waits forever)
    setsid "$@" < /dev/null >> "$log" 2>&1 9>&- &
    echo "$! $match" > "$LAB_PIDS/$name.pid"
}

# stop_pid NAME [TIMEOUT_S]: TERM the process we recorded (if it is still ours), wait, KILL.
stop_pid() {
    local name=$1 timeout=${2:-5} f=$LAB_PIDS/$1.pid pid i
    [ -e "$f" ] || return 0
    if pid_alive "$name"; then
        read -r pid _ < "$f"
        kill -TERM "$pid" 2>/dev/null || true
        for (( i = 0; i < timeout * 100; i++ )); do
            proc_running "$pid" || break
            sleep 0.01
        done
        if proc_running "$pid"; then
            say "$name (pid $pid) did not stop in ${timeout}s: KILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        say "stopped $name (pid $pid)"
    fi
    rm -f "$f"
}

# show_log_tail FILE [N]: the end of a log, indented, on stderr (for failure messages).
show_log_tail() {
    local f=$1 n=${2:-20}
    if [ -s "$f" ]; then
        printf '%s: --- last %s lines of %s ---\n' "$lab_prog" "$n" "$f" >&2
        tail -n "$n" "$f" | sed 's/^/    /' >&2
    else
        printf '%s: (%s is empty or missing)\n' "$lab_prog" "$f" >&2
    fi
}
