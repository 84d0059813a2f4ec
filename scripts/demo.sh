#!/usr/bin/env bash
# Set up this machine if needed, then run the self-contained lab demo (needs root).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$here/scripts/setup.sh"
exec "$here/.venv/bin/pyreplay" demo "$@"
