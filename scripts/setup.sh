#!/usr/bin/env bash
# Set up pyreplay on a fresh Debian machine: system packages, then a venv with the project.
# Idempotent: a second run checks, finds everything in place and changes nothing.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"

# bcc (python3-bpfcc) brings libbcc and its LLVM; linux-libc-dev gives the uapi headers that
# pyreplay.ebpf.headers assembles into a kernel tree bcc can compile against (the kernel ships none);
# wrk is the load generator of scripts/bench_live.py for rates the lab's Python generator cannot offer,
# nginx its online server for them (bench_live --online-server nginx); gcc compiles the mypyc build.
apt_packages=(python3-bpfcc python3-venv python3-dev gcc iproute2 iputils-ping ethtool bpftool linux-libc-dev libpcap0.8 procps wrk nginx linux-perf)

missing=()
for p in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "setup: missing system packages: ${missing[*]} (run as root, or install them with apt-get)" >&2
        exit 1
    fi
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # Packages such as nginx start their service on install: a system service is not ours to start.
    made_policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && made_policy=1
    fi
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    [ -z "$made_policy" ] || rm -f /usr/sbin/policy-rc.d
fi

# bcc lives in the system Python's dist-packages, so the venv is built from /usr/bin/python3
# with system site packages; minimum versions keep pip from settling for an older Debian copy.
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import bcc' 2>/dev/null; then
    rm -rf .venv
    /usr/bin/python3 -m venv --system-site-packages .venv
fi
stamp=.venv/.pyreplay-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    log=$(mktemp)
    if ! { .venv/bin/python -m pip install --disable-pip-version-check --upgrade 'pip>=23' &&
           .venv/bin/python -m pip install --disable-pip-version-check -e '.[test,native]'; } >"$log" 2>&1; then
        tail -n 30 "$log" >&2
        echo "setup: pip install failed (full log: $log)" >&2
        exit 1
    fi
    rm -f "$log"
    touch "$stamp"
fi
# The per-packet core compiled with mypyc (about 2x less CPU); rebuilt whenever a source changed.
# pyreplay uses it only while it matches the sources (pyreplay/compiled.py), else plain Python.
if ! .venv/bin/python -c 'import sys, pyreplay.compiled as c; sys.exit(not c.is_compiled())' 2>/dev/null; then
    echo "setup: compiling the per-packet core with mypyc (about two minutes)"
    .venv/bin/python scripts/build_engine.py --quiet ||
        echo "setup: compiling failed; pyreplay runs as plain Python (correct, slower)" >&2
fi
# Bytecode caches, so the tools start without compiling every module (pip and Python skip
# writing them where PYTHONDONTWRITEBYTECODE is set; compiling costs ~0.1 CPU-s per start).
.venv/bin/python -m compileall -q -j 0 pyreplay .venv/lib/python3*/site-packages >/dev/null 2>&1 || true
.venv/bin/pyreplay --version >/dev/null
echo "setup: ready (.venv/bin/pyreplay)"
