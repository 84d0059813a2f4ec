#!/usr/bin/env bash
# Set up this machine if needed, then run the whole test suite. As root, the lab (netns) and
# BPF tests run too; without root they are skipped with that reason (CI runs as root).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$here/scripts/setup.sh"
cd "$here"
status=0
.venv/bin/python -m pytest "$@" || status=$?
# The plain-Python build of the per-packet core is the fallback where mypyc is not available:
# its sans-IO tests run again without the compiled modules.
PYREPLAY_PURE_PYTHON=1 .venv/bin/python -m pytest -q -p no:cacheprovider -m 'not netns and not bpf' \
    tests/packet tests/session tests/channel tests/test_rewrite.py || status=$?
# Nothing the tests created may outlive them.
left=$(ip netns list 2>/dev/null | awk '{print $1}' | grep '^prl' || true)
xdp=$(ip -o link show 2>/dev/null | grep -E ' xdp(generic|drv|offload)? ' || true)
if [ -n "$left$xdp" ]; then
    echo "test.sh: the tests left state behind:${left:+ namespaces: $left}${xdp:+ xdp: $xdp}" >&2
    status=1
fi
exit $status
