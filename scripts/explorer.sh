#!/usr/bin/env bash
# `make explorer`: notebook 05 as a Voilà app: its prose, figures and the error explorer, without
# the code. Voilà runs the notebook top to bottom in a fresh kernel for each visit and shows each
# cell's output as it comes (the first visit trains the quick-mode run, as opening the notebook
# would; later visits read it from runs/).
#   EXPLORER_IP        address to listen on (default 127.0.0.1: this machine only)
#   EXPLORER_PORT      first port to try (default 8866; Voilà moves to the next free one and prints it)
#   EXPLORER_NOTEBOOK  the notebook to serve (default notebooks/05_explorer.ipynb)
# Without a display no browser is opened: open the http://... URL printed below.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
flags=(--Voila.ip="${EXPLORER_IP:-127.0.0.1}" --Voila.port="${EXPLORER_PORT:-8866}"
       --VoilaConfiguration.progressive_rendering=True --VoilaConfiguration.show_tracebacks=True)
if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ "$(uname)" = Linux ]; then
  echo "make explorer: no display here, so no browser is opened: open the http://... URL printed below"
  flags+=(--no-browser)
fi
exec "$BIN/voila" "${EXPLORER_NOTEBOOK:-notebooks/05_explorer.ipynb}" "${flags[@]}" "$@"
