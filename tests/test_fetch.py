"""effnet_lib.data.downloads against a real HTTP server on 127.0.0.1: no mocks, no internet."""

from __future__ import annotations

import hashlib
import http.server
import importlib.util
import io
import re
import socket
import sys
import tarfile
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from effnet_lib.data import downloads as fetch_mod
from effnet_lib.data.downloads import (
    DATASETS,
    MANUAL_DATASETS,
    DownloadError,
    RemoteDataset,
    UnsafeArchiveError,
    download,
    fetch,
)

CLASSES = {"cats": (200, 40, 40), "dogs": (40, 40, 200)}
IMAGES_PER_CLASS = 3


def _make_archive(tmp_path: Path) -> bytes:
    """A tiny flower_photos look-alike: toy/<class>/*.png plus toy/LICENSE.txt, as .tgz bytes."""
    src = tmp_path / "src" / "toy"
    for cls, colour in CLASSES.items():
        (src / cls).mkdir(parents=True)
        for i in range(IMAGES_PER_CLASS):
            Image.new("RGB", (8 + i, 8), colour).save(src / cls / f"{i}.png")
    (src / "LICENSE.txt").write_text("CC-BY 2.0, for testing\n")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(src, arcname="toy")
    return buf.getvalue()


def _tgz(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Server:
    """Serves ``files`` (path -> bytes); ``mode`` makes it misbehave on purpose."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.mode = "ok"  # "ok" | "truncate" | "wrong"
        self.requests = 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests += 1
                data = server.files.get(self.path)
                if data is None:
                    self.send_error(404)
                    return
                if server.mode == "wrong":
                    data = b"not the archive you are looking for" * 100
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if server.mode == "truncate":
                    data = data[: len(data) // 2]
                self.wfile.write(data)
                self.close_connection = True

            def log_message(self, *args) -> None:  # keep pytest output clean
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


@pytest.fixture
def toy(tmp_path, server) -> RemoteDataset:
    data = _make_archive(tmp_path)
    server.files["/toy.tgz"] = data
    return RemoteDataset(
        name="toy",
        url=server.url("/toy.tgz"),
        sha256=_sha(data),
        archive="toy.tgz",
        root="toy",
        layout="one folder of class subfolders",
        num_classes=2,
        num_images=2 * IMAGES_PER_CLASS,
        license="CC-BY 2.0",
        homepage="http://127.0.0.1/",
    )


def _leftovers(folder: Path) -> list[Path]:
    """Temporary files or folders (ours are named .<something>.part) under ``folder``."""
    return [p for p in folder.rglob("*") if p.name.endswith(".part")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -----------------------------------------------------------------------------


def test_fetch_downloads_verifies_and_unpacks(tmp_path, server, toy):
    cache = tmp_path / "cache"
    root = fetch(toy, cache, progress=True)

    assert root == cache / "toy" / "toy"
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == sorted(CLASSES)
    assert (root / "LICENSE.txt").is_file()
    for cls, colour in CLASSES.items():
        pngs = sorted((root / cls).glob("*.png"))
        assert len(pngs) == IMAGES_PER_CLASS
        for png in pngs:
            with Image.open(png) as im:
                assert im.format == "PNG" and im.convert("RGB").getpixel((0, 0)) == colour
    assert server.requests == 1
    assert not _leftovers(cache)
    assert not (cache / "downloads" / "toy.tgz").exists()  # archive removed after unpacking


def test_second_fetch_makes_no_request(tmp_path, server, toy):
    cache = tmp_path / "cache"
    first = fetch(toy, cache, progress=False)
    server.close()  # nothing to talk to any more: a request would now fail loudly
    assert fetch(toy, cache, progress=False) == first
    assert server.requests == 1


def test_wrong_file_is_rejected_and_nothing_is_kept(tmp_path, server, toy):
    server.mode = "wrong"
    cache = tmp_path / "cache"
    with pytest.raises(DownloadError) as info:
        fetch(toy, cache, progress=False)
    msg = str(info.value)
    actual = _sha(b"not the archive you are looking for" * 100)
    assert "toy.tgz" in msg and toy.sha256 in msg and actual in msg
    assert not (cache / "downloads" / "toy.tgz").exists()
    assert not (cache / "toy").exists()
    assert not _leftovers(cache)


def test_download_checksum_mismatch(tmp_path, server, toy):
    dest = tmp_path / "dl" / "toy.tgz"
    with pytest.raises(DownloadError, match=r"expected sha256 0{64}"):
        download(toy.url, dest, "0" * 64, progress=False)
    assert not dest.exists() and list(dest.parent.iterdir()) == []


def test_truncated_body_is_an_error(tmp_path, server, toy):
    server.mode = "truncate"
    dest = tmp_path / "dl" / "toy.tgz"
    # Even without a checksum, a short body must not pass for a whole file.
    with pytest.raises(DownloadError, match="closed after"):
        download(toy.url, dest, progress=False)
    assert not dest.exists() and list(dest.parent.iterdir()) == []


def test_http_error_names_url_and_status(tmp_path, server):
    url = server.url("/missing.tgz")
    with pytest.raises(DownloadError) as info:
        download(url, tmp_path / "missing.tgz", progress=False)
    msg = str(info.value)
    assert url in msg and "404" in msg and "as `data`" in msg and "\n" not in msg
    assert list(tmp_path.iterdir()) == []


def test_unreachable_server_fails_fast_and_clearly(tmp_path):
    url = f"http://127.0.0.1:{_free_port()}/toy.tgz"
    start = time.monotonic()
    with pytest.raises(DownloadError) as info:
        download(url, tmp_path / "toy.tgz", progress=False, timeout=5)
    assert time.monotonic() - start < 5
    msg = str(info.value)
    assert msg.startswith(f"Could not download {url}: ")
    assert "as `data`" in msg and "\n" not in msg
    assert list(tmp_path.iterdir()) == []


def _file(name: str) -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), b"gotcha\n"


def _symlink(name: str, target: str) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.SYMTYPE, target
    return info, None


@pytest.mark.parametrize(
    "evil",
    [
        [_file("toy/ok.txt"), _file("../evil.txt")],
        [_file("toy/../../evil.txt")],
        [_file("/tmp/effnet_fetch_test_evil.txt")],
        [_symlink("toy/link", "../../.."), _file("toy/link/evil.txt")],
    ],
    ids=["dotdot", "nested-dotdot", "absolute", "symlink"],
)
def test_archive_escaping_its_folder_is_refused(tmp_path, server, evil):
    data = _tgz(evil)
    server.files["/evil.tgz"] = data
    spec = RemoteDataset(
        name="evil",
        url=server.url("/evil.tgz"),
        sha256=_sha(data),
        archive="evil.tgz",
        root="toy",
        layout="one folder of class subfolders",
        num_classes=0,
        num_images=0,
        license="-",
        homepage="-",
    )
    outer = tmp_path / "outer"
    cache = outer / "inner" / "cache"
    before = {p for p in tmp_path.rglob("*")}
    with pytest.raises(UnsafeArchiveError, match="refusing"):
        fetch(spec, cache, progress=False)
    written = {p for p in tmp_path.rglob("*")} - before
    # Only the cache's own folders and the verified archive may appear; no evil.txt anywhere.
    assert not [p for p in written if p.name == "evil.txt"]
    assert not Path("/tmp/effnet_fetch_test_evil.txt").exists()
    assert not (cache / "evil").exists()
    assert not _leftovers(cache)


def test_unknown_and_manual_names():
    with pytest.raises(ValueError, match="flowers"):
        fetch("no-such-dataset")
    with pytest.raises(ValueError, match="as `data`"):
        fetch("birds")
    assert "kaggle.com" in MANUAL_DATASETS["birds"].homepage


def test_cache_dir_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("EFFNET_CACHE", str(tmp_path / "env-cache"))
    assert fetch_mod.default_cache_dir() == tmp_path / "env-cache"
    monkeypatch.delenv("EFFNET_CACHE")
    assert fetch_mod.default_cache_dir() == Path.home() / ".cache" / "effnet_workbook"


def test_import_has_no_side_effects(monkeypatch, tmp_path):
    monkeypatch.setenv("EFFNET_CACHE", str(tmp_path / "never-created"))
    # A fresh copy under another name, so the module the other tests use is left alone.
    spec = importlib.util.spec_from_file_location("effnet_lib.data._fetch_copy", fetch_mod.__file__)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "effnet_lib.data._fetch_copy", module)  # dataclasses look it up there
    spec.loader.exec_module(module)
    assert not (tmp_path / "never-created").exists()


@pytest.mark.parametrize("name", ["flowers", "imagenette160"])
def test_registry_entries_are_pinned(name):
    spec = DATASETS[name]
    assert spec.name == name
    assert spec.url.startswith("https://") and spec.url.endswith("/" + spec.archive)
    assert re.fullmatch(r"[0-9a-f]{64}", spec.sha256)
    assert spec.num_classes > 0 and spec.num_images > 0 and spec.license and spec.homepage
    assert spec.layout in ("one folder of class subfolders", "train/ and val/ folders")


def test_registry_known_values():
    assert DATASETS["flowers"].num_classes == 5 and DATASETS["flowers"].num_images == 3670
    assert DATASETS["imagenette160"].num_classes == 10
    assert DATASETS["imagenette160"].layout == "train/ and val/ folders"


def test_fetch_files_gets_a_file_set_once_and_builds_fashion_from_it(tmp_path, server):
    """The Fashion-MNIST file set through the same pinned-hash download, served here from the
    vendored subset (so the hashes are the subset's), then built into an image folder."""
    from effnet_lib.data import fashion
    from effnet_lib.data.downloads import RemoteFiles, fetch_files

    files = {}
    for name in fashion.FILES:
        data = (fashion.VENDORED / name).read_bytes()
        server.files[f"/fm/{name}"] = data
        files[name] = _sha(data)
    spec = RemoteFiles("fm-test", server.url("/fm/"), files, "MIT", "http://127.0.0.1/")
    folder = fetch_files(spec, tmp_path / "cache", progress=False)
    assert sorted(p.name for p in folder.iterdir()) == sorted(files) and server.requests == 4
    assert fetch_files(spec, tmp_path / "cache", progress=False) == folder and server.requests == 4
    root = fashion.build(tmp_path / "fm", counts=(3, 1, 2), source=folder)
    assert sorted(p.name for p in (root / "train").iterdir()) == sorted(fashion.CLASSES)
    assert len(list((root / "test").rglob("*.png"))) == 2 * len(fashion.CLASSES)
