# Reading proxyclient transcripts, for containment.sh and e2e/test-hostile.sh.
# Sourced, never run. The caller keeps the last transcript's path in OUT,
# the client run's number in RUN, and collects failed assertions in ERRS.
# shellcheck shell=bash

# result_of N: the result part of request N's line in the last transcript
result_of() {
    local line
    line=$(grep -m1 "^REQ $1 " "$OUT" || true)
    [[ -n $line ]] || { echo "<no line>"; return; }
    echo "${line#* -> }"
}

# want N REGEX: request N's result matches REGEX (anchored)
want() {
    local r
    r=$(result_of "$1")
    [[ $r =~ ^($2)$ ]] || ERRS+=("run $RUN req $1: wanted /$2/, got '$r'")
}

# host DESCRIPTION CMD...: a host-side assertion
host() {
    local d=$1
    shift
    "$@" >/dev/null 2>&1 || ERRS+=("host: $d")
}

# ino_re PATH: PATH's device and inode as proxyclient prints them for an fd
ino_re() { echo "dev=$(stat -c %d "$1") ino=$(stat -c %i "$1")"; }
