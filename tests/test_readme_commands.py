"""The README's commands, run the way the README writes them (`make test` is CI itself)."""

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
URL = re.compile(r"(http://127\.0\.0\.1:(\d+)/lab\?token=[0-9a-f]+)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _lab_env(tmp_path, port) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    for name in (
        "JUPYTER_CONFIG_DIR",
        "JUPYTER_DATA_DIR",
        "JUPYTER_RUNTIME_DIR",
        "IPYTHONDIR",
        "JUPYTERLAB_SETTINGS_DIR",
        "JUPYTERLAB_WORKSPACES_DIR",
    ):
        env[name] = str(tmp_path / name.lower())
    return {**env, "LAB_PORT": str(port)}


def _make_lab(tmp_path, port, timeout=90):
    """Start `make lab`; return (process, printed lines, the URL it printed)."""
    proc = subprocess.Popen(
        ["make", "lab"],
        cwd=REPO,
        env=_lab_env(tmp_path, port),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines, deadline = [], time.time() + timeout
    os.set_blocking(proc.stdout.fileno(), False)
    while time.time() < deadline and proc.poll() is None:
        line = proc.stdout.readline()
        if not line:
            time.sleep(0.1)
            continue
        lines.append(line.rstrip())
        found = URL.search(line)
        if found:
            return proc, lines, found.group(1)
    _stop(proc)
    pytest.fail("make lab printed no URL:\n" + "\n".join(lines[-30:]))


def _stop(proc):
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)


def _listing(url, timeout=60) -> list[str]:
    """The notebooks the server lists. Jupyter Server prints its URL before its event loop binds the
    socket, so a request right after the URL may be refused: ask again until it answers."""
    base, token = url.split("/lab?token=")
    deadline = time.time() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{base}/api/contents?token={token}", timeout=20) as r:
                return sorted(item["name"] for item in json.load(r)["content"])
        except urllib.error.URLError as e:
            if not isinstance(e.reason, ConnectionRefusedError) or time.time() > deadline:
                raise
            time.sleep(0.2)


@pytest.mark.slow
def test_make_lab_answers_with_the_notebooks_as_root_and_headless(tmp_path):
    port = _free_port()
    proc, lines, url = _make_lab(tmp_path, port)
    try:
        assert f":{port}/" in url
        names = _listing(url)
        assert {"00_architecture.ipynb", "05_explorer.ipynb"} <= set(names)
        text = "\n".join(lines)
        assert "no display here" in text
        if os.geteuid() == 0:
            assert "--allow-root" in text
    finally:
        _stop(proc)


@pytest.mark.slow
def test_make_lab_moves_to_the_next_port_and_prints_that_one(tmp_path):
    port = _free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        proc, _, url = _make_lab(tmp_path, port)
        try:
            used = int(URL.search(url).group(2))
            assert used != port
            assert "00_architecture.ipynb" in _listing(url)
        finally:
            _stop(proc)


@pytest.mark.slow
def test_make_demo_then_a_second_demo_leaves_one_complete_run():
    """`make demo` as the README writes it, then a second, shorter one (one epoch) into the same
    folder: the second run replaces the first whole, and nothing of the first or of the swap is left."""
    out = REPO / "runs" / "demo"
    for attempt, extra in ((1, []), (2, ["DEMO_ARGS=--epochs 1"])):
        proc = subprocess.run(["make", "demo", *extra], cwd=REPO, capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, f"attempt {attempt}:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        record = json.loads((out / "demo.json").read_text())
        history = pd.read_csv(out / "history.csv")
        assert (
            len(history) == record["config"]["epochs"] and (REPO / record["config"]["out"]).resolve() == out.resolve()
        )
        assert {"best.pt", "last.pt", "eval-val", "eval-test", "batch_test.csv"} <= {p.name for p in out.iterdir()}
        assert not list(out.parent.glob(".demo.*"))  # no scratch or old copy left behind
        if attempt == 1:
            first_epochs = record["config"]["epochs"]
            assert "validation accuracy" in proc.stdout and first_epochs > 1
    assert record["config"]["epochs"] == 1 and record["command"].endswith("--epochs 1")  # the second run, whole
