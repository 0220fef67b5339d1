"""Plumbing for the real-browser tests: a throw-away JupyterLab server and headless Chromium.

    with lab_server(tmp) as lab, chromium_page() as page:
        name = lab.add_notebook(NOTEBOOKS / "05_explorer.py")
        open_notebook(page, lab, name)
        run_all_cells(page)

The server serves a temp folder (never the repository), keeps all of Jupyter's state in that
folder, and dies with the test run (own process group + parent-death signal). The browser is
Debian's `chromium` driven by Playwright (`executable_path`; never `playwright install`), offline:
every request not going to 127.0.0.1 is aborted.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
ARTIFACTS = REPO / "test-artifacts"

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

# Lab settings (JUPYTERLAB_SETTINGS_DIR) that save time and flakiness: no news or update checks,
# no toasts over the page, every cell kept in the DOM.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "checkForUpdates": False,
        "fetchNews": "false",
        "doNotDisturbMode": True,
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}
# <JUPYTER_CONFIG_DIR>/labconfig/page_config.json: the build check alone costs ~5 s of CPU.
PAGE_CONFIG = {"buildCheck": False, "buildAvailable": False}

KERNEL_IDLE_JS = """() => {
    const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    const s = w && w.sessionContext && w.sessionContext.session;
    return !!(s && s.kernel && s.kernel.status === 'idle');
}"""


# --------------------------------------------------------------------------------------- browser


def find_chromium() -> str | None:
    """Debian's chromium: the wrapper on the PATH, else the real binary in the package's folder."""
    found = shutil.which("chromium")
    if found:
        return found
    real = Path("/usr/lib/chromium/chromium")
    return str(real) if real.exists() else None


def require_chromium() -> str:
    """The browser's path; skip without one, unless EFFNET_REQUIRE_BROWSER=1 (CI), then fail."""
    path = find_chromium()
    if path:
        return path
    reason = (
        "Debian's chromium is not installed (apt-get install -y chromium, or 'make browser'); "
        "set EFFNET_REQUIRE_BROWSER=1 to make this a failure"
    )
    if os.environ.get("EFFNET_REQUIRE_BROWSER") == "1":
        pytest.fail("EFFNET_REQUIRE_BROWSER=1 but " + reason.split(";")[0])
    pytest.skip(reason)


@contextlib.contextmanager
def serve_folder(folder: Path):
    """A static HTTP server for `folder` on 127.0.0.1 (a free port); yields its base URL."""
    import functools
    import http.server
    import threading

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


@contextlib.contextmanager
def chromium_page(executable: str | None = None, viewport=(1400, 1000)):
    """A Playwright page in headless Chromium that can reach 127.0.0.1 only.

    Page errors and console errors are collected in ``page.effnet_errors`` for failure messages.
    """
    from playwright.sync_api import sync_playwright

    executable = executable or require_chromium()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
        try:
            context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
            context.route("**/*", _local_only)
            page = context.new_page()
            page.effnet_errors = []
            page.on("pageerror", lambda exc: page.effnet_errors.append(f"pageerror: {exc}"))
            page.on("console", lambda msg: msg.type == "error" and page.effnet_errors.append(f"console: {msg.text}"))
            yield page
        finally:
            browser.close()


def _local_only(route):
    url = route.request.url
    host = url.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
    if url.startswith(("data:", "blob:")) or host == "127.0.0.1":
        route.continue_()
    else:
        route.abort()


# ---------------------------------------------------------------------------------------- server


@dataclass
class LabServer:
    root: Path  # what the server serves (a temp folder)
    state: Path  # Jupyter's config/data/runtime/settings, isolated
    port: int
    token: str
    proc: subprocess.Popen
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str, **query) -> str:
        q = "&".join([*(k if v is None else f"{k}={v}" for k, v in query.items()), f"token={self.token}"])
        return f"{self.base}/{path.lstrip('/')}?{q}"

    def api(self, path: str, method: str = "GET", timeout: float = 5):
        req = urllib.request.Request(self.url(f"api/{path}"), method=method, data=b"" if method == "POST" else None)
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            body = resp.read()
            return json.loads(body) if body else None

    def add_notebook(self, source: Path, name: str | None = None) -> str:
        """Copy a notebook (.ipynb, or a jupytext .py converted) into the served folder."""
        return convert_notebook(source, self.root, name)

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def kernel_processes(self) -> list[list[str]]:
        """argv of this server's kernels, found by their connection file in our runtime dir."""
        runtime = str(self.state / "runtime")
        found = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                argv = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
            except OSError:
                continue
            if any(a.startswith(runtime) and "kernel-" in a for a in argv):
                found.append([a for a in argv if a])
        return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1))


def convert_notebook(source: Path, dest_dir: Path, name: str | None = None) -> str:
    """`jupytext --to ipynb --set-kernel python3`, done with the API; returns the file name."""
    import jupytext

    nb = jupytext.read(source)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.metadata.pop("jupytext", None)  # no pairing: the served copy never writes a .py back
    name = name or f"{Path(source).stem}.ipynb"
    jupytext.write(nb, dest_dir / name, fmt="ipynb")
    return name


def _child_setup(parent_pid: int):
    """In the server's process before exec: die with the test process (SIGTERM when it dies)."""

    def setup():
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os._exit(1)

    return setup


def server_env(state: Path) -> dict:
    env = dict(os.environ)
    for key in (
        "MPLBACKEND",  # Agg here silently removes inline plots
        "JUPYTER_PATH",
        "JUPYTER_CONFIG_PATH",
        "JUPYTER_PREFER_ENV_PATH",
    ):
        env.pop(key, None)
    dirs = {
        "JUPYTER_CONFIG_DIR": "config",
        "JUPYTER_DATA_DIR": "data",
        "JUPYTER_RUNTIME_DIR": "runtime",
        "IPYTHONDIR": "ipython",
        "JUPYTERLAB_SETTINGS_DIR": "lab-settings",
        "JUPYTERLAB_WORKSPACES_DIR": "lab-workspaces",
    }
    for key, sub in dirs.items():
        (state / sub).mkdir(parents=True, exist_ok=True)
        env[key] = str(state / sub)
    # The venv's bin first: `python` in the python3 kernelspec becomes sys.executable anyway.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    # EFFNET_RUNS (shared cached runs) passes through unchanged.
    return env


@contextlib.contextmanager
def lab_server(tmp: Path, ready_timeout: float = 90):
    """A JupyterLab on 127.0.0.1:<free port> serving ``tmp/root``, its state in ``tmp/state``."""
    root, state = Path(tmp) / "root", Path(tmp) / "state"
    root.mkdir(parents=True, exist_ok=True)
    env = server_env(state)
    for rel, data in LAB_SETTINGS.items():
        _write_json(state / "lab-settings" / rel, data)
    _write_json(state / "config" / "labconfig" / "page_config.json", PAGE_CONFIG)

    port, token = free_port(), secrets.token_hex(16)
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    log = Path(tmp) / "server.log"
    with open(log, "wb") as log_file:
        proc = subprocess.Popen(
            cmd,
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_child_setup(os.getpid()),
        )
    server = LabServer(root=root, state=state, port=port, token=token, proc=proc, log=log)
    try:
        _wait_ready(server, ready_timeout)
        yield server
    finally:
        stop_server(server)


def _wait_ready(server: LabServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {server.proc.returncode}:\n{server.log_tail()}")
        try:
            server.api("status", timeout=2)
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            time.sleep(0.2)
    raise TimeoutError(f"jupyter lab not ready after {timeout} s:\n{server.log_tail()}")


def stop_server(server: LabServer, grace: float = 10) -> None:
    """POST /api/shutdown (stops kernels too), then SIGTERM, then SIGKILL the process group."""
    proc = server.proc
    if proc.poll() is None:
        with contextlib.suppress(Exception):
            server.api("shutdown", method="POST", timeout=5)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(grace)
    kill_group(proc, grace)


def kill_group(proc: subprocess.Popen, grace: float = 10) -> None:
    """SIGTERM, then SIGKILL, to a server's process group; then anything left in it (not its
    kernels: they have their own group and die with the server)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(grace)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


@dataclass
class VoilaApp:
    base: str  # http://127.0.0.1:<port>/ : the app's one page
    proc: subprocess.Popen
    log: Path

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


@contextlib.contextmanager
def voila_app(tmp: Path, source: Path, ready_timeout: float = 60):
    """`scripts/explorer.sh` (what `make explorer` runs) serving a converted copy of `source` on
    127.0.0.1:<free port>, Jupyter's state in ``tmp/state``; dies with the test run."""
    root, state = Path(tmp) / "root", Path(tmp) / "state"
    root.mkdir(parents=True, exist_ok=True)
    env = server_env(state)
    port = free_port()
    env.update(
        EXPLORER_PORT=str(port),
        EXPLORER_NOTEBOOK=str(root / convert_notebook(source, root)),
        BIN=str(Path(sys.executable).parent),
    )
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    log = Path(tmp) / "voila.log"
    with open(log, "wb") as log_file:
        proc = subprocess.Popen(
            [str(REPO / "scripts" / "explorer.sh"), "--Voila.port_retries=0"],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_child_setup(os.getpid()),
        )
    app = VoilaApp(base=f"http://127.0.0.1:{port}/", proc=proc, log=log)
    try:
        deadline = time.monotonic() + ready_timeout
        # Asking for the page would start its kernel: wait for Voila to say it is running instead.
        while f"127.0.0.1:{port}/" not in app.log_tail(100_000):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"voila did not start (exit {proc.poll()}):\n{app.log_tail()}")
            time.sleep(0.2)
        yield app
    finally:
        kill_group(proc)


# ----------------------------------------------------------------------------------------- pages


def open_notebook(page, server: LabServer, name: str, timeout_s: float = 120) -> None:
    """Open a notebook in a fresh workspace and wait until its kernel is really idle."""
    page.goto(server.url(f"lab/tree/{name}", reset=None), timeout=timeout_s * 1000)
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=timeout_s * 1000)
    # The execution indicator says idle before a kernel exists: ask the app itself.
    page.wait_for_function(KERNEL_IDLE_JS, timeout=timeout_s * 1000, polling=250)


def run_all_cells(page) -> None:
    """Fire Run All without awaiting it (an awaited evaluate has no timeout and can hang on a dialog)."""
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")


RUN_ALL_DONE_JS = """() => {
    const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
    const queued = [...document.querySelectorAll('.jp-NotebookPanel .jp-InputArea-prompt')]
        .some(p => p.textContent.includes('*'));
    return !!(k && k.status === 'idle') && !queued;
}"""


def wait_run_all_done(page, timeout_s: float = 300) -> None:
    """Until no cell is queued or running ([*]) and the kernel is idle."""
    page.wait_for_function(RUN_ALL_DONE_JS, timeout=timeout_s * 1000, polling=500)


# Lab 4.6 renders an error output (a cell's exception) with data-mime-type
# "application/vnd.jupyter.stderr", not ".error": look for both, and for a traceback in stderr.
ERROR_OUTPUT = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]'
STDERR_OUTPUT = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'


def error_outputs(page) -> list[str]:
    """Texts of error outputs and of stderr outputs that carry a traceback."""
    stderr = page.locator(STDERR_OUTPUT).all_inner_texts()
    return page.locator(ERROR_OUTPUT).all_inner_texts() + [t for t in stderr if "Traceback" in t]


def wait_for_output(page, selector: str, timeout_s: float) -> None:
    """Until `selector` is in the page, or an error output shows up (then no need to wait on)."""
    page.wait_for_function(
        """([sel, err, stderr]) => !!document.querySelector(sel)
        || !!document.querySelector(err)
        || [...document.querySelectorAll(stderr)].some(e => e.textContent.includes('Traceback'))""",
        arg=[selector, ERROR_OUTPUT, STDERR_OUTPUT],
        timeout=timeout_s * 1000,
        polling=500,
    )


def wait_image_drawn(page, selector: str, timeout_s: float = 60) -> None:
    """Until the image at `selector` holds a decoded picture. An image widget with no value yet
    still has a blob: URL (of nothing), so its src alone proves nothing."""
    page.wait_for_function(
        """sel => { const e = document.querySelector(sel);
        const img = e && (e.tagName === 'IMG' ? e : e.querySelector('img'));
        return !!(img && img.complete && img.naturalWidth > 0); }""",
        arg=selector,
        timeout=timeout_s * 1000,
        polling=250,
    )


def element_screenshot(page, locator, path: Path, margin: int = 200) -> None:
    """Screenshot an output element whole. JupyterLab scrolls inside its own panel, so a tall element
    is clipped by it: grow the viewport to fit the element first, then scroll it into view."""
    box = locator.bounding_box()
    size = page.viewport_size
    if box and box["height"] + margin > size["height"]:
        page.set_viewport_size({"width": size["width"], "height": int(box["height"]) + margin})
        page.wait_for_timeout(300)  # let Lab re-layout
    locator.scroll_into_view_if_needed()
    locator.screenshot(path=path)


def artifact_path(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name


@contextlib.contextmanager
def report_failure(page, server: LabServer, screenshot: str):
    """On failure: a full-page screenshot (test-artifacts/), page errors and the server log."""
    with contextlib.suppress(FileNotFoundError):
        artifact_path(screenshot).unlink()  # no stale picture from an earlier failure
    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):
            page.screenshot(path=artifact_path(screenshot), full_page=True)
        print("\n--- page errors:", *page.effnet_errors[-20:], sep="\n")
        print("--- server log tail:\n" + server.log_tail())
        raise
