#!/usr/bin/env bash
# `make lab`: JupyterLab on notebooks/, wherever a newcomer runs it.
#   LAB_IP    address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 opens it to the network)
#   LAB_PORT  first port to try (default 8888); if it is taken, JupyterLab moves to the next free one
#             and the URL it prints is the one to use
# As root (containers, cloud notebooks) it passes --allow-root; without a display it opens no
# browser and the URL with its token is printed instead.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
flags=(--ServerApp.ip="${LAB_IP:-127.0.0.1}" --ServerApp.port="${LAB_PORT:-8888}" --ServerApp.port_retries=50
       --ServerApp.root_dir=notebooks)
if [ "$(id -u)" = 0 ]; then
  echo "make lab: running as root, so JupyterLab is started with --allow-root"
  flags+=(--allow-root)
fi
if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ "$(uname)" = Linux ]; then
  echo "make lab: no display here, so no browser is opened: open the http://...?token=... URL printed below"
  flags+=(--no-browser)
fi
exec "$BIN/jupyter" lab "${flags[@]}" "$@"
