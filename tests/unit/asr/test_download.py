"""asr.download: fetching, verifying and installing a model zip, against a local HTTP server."""

from __future__ import annotations

import hashlib
import io
import json
import socket
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
import vosk

from asr.download import MODELS, DownloadError, ModelSpec, download_model
from asr.model import check_layout, load_model, reset_cache
from tests.unit.asr.conftest import silence

NAME = "vosk-model-small-vn-0.4"


@dataclass
class Route:
    body: bytes
    status: int = 200
    content_length: int | None = None  # a lie about the length, to cut the body short


@dataclass
class FakeVendor:
    """alphacephei.com played by http.server on 127.0.0.1; records the paths asked for."""

    base_url: str
    routes: dict[str, Route] = field(default_factory=dict)
    requested: list[str] = field(default_factory=list)

    def serve(self, path: str, body: bytes, **kwargs: int) -> str:
        self.routes[path] = Route(body, **kwargs)
        return self.base_url + path


@pytest.fixture
def vendor() -> Iterator[FakeVendor]:
    fake = FakeVendor(base_url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fake.requested.append(self.path)
            route = fake.routes.get(self.path, Route(b"not found", status=404))
            self.send_response(route.status)
            self.send_header("Content-Type", "application/zip")
            length = route.content_length if route.content_length is not None else len(route.body)
            self.send_header("Content-Length", str(length))
            self.end_headers()
            self.wfile.write(route.body)
            self.close_connection = True  # a short body then ends with the connection

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as http:
        http.trust_env = False  # never send 127.0.0.1 through a proxy from the environment
        yield http


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    reset_cache()
    yield
    reset_cache()


def zip_model(model_dir: Path, top: str = NAME, skip: tuple[str, ...] = ()) -> bytes:
    """A zip laid out like the vendor's: one top-level directory holding the model."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(model_dir.rglob("*")):
            relative = path.relative_to(model_dir).as_posix()
            if path.is_file() and relative not in skip:
                archive.write(path, f"{top}/{relative}")
    return buffer.getvalue()


def zip_entries(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(zipfile.ZipInfo(name), data)
    return buffer.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def spec_for(url: str, data: bytes, **overrides: object) -> ModelSpec:
    fields: dict[str, object] = {"name": NAME, "url": url, "sha256": sha256(data), "size": None}
    fields.update(overrides)
    return ModelSpec(**fields)  # type: ignore[arg-type]


def leftovers(dest_root: Path) -> list[str]:
    return sorted(p.name for p in dest_root.iterdir()) if dest_root.exists() else []


# --- the registry -------------------------------------------------------------------------------


def test_registry_points_at_the_vendor_zips() -> None:
    assert MODELS["small"].name == "vosk-model-small-vn-0.4"
    assert MODELS["large"].name == "vosk-model-vn-0.4"
    for spec in MODELS.values():
        assert spec.url == f"https://alphacephei.com/vosk/models/{spec.name}.zip"
    small = MODELS["small"].sha256
    assert small is not None and len(small) == 64 and small == small.lower()
    int(small, 16)


def test_unpinned_spec_is_refused_without_an_explicit_digest(
    vendor: FakeVendor, tmp_path: Path, tiny_model_dir: Path, session: requests.Session
) -> None:
    data = zip_model(tiny_model_dir)
    spec = spec_for(vendor.serve("/m.zip", data), data, sha256=None)
    with pytest.raises(DownloadError, match=r"no SHA-256 is pinned.*--sha256"):
        download_model(spec, tmp_path / "models", session=session)
    assert vendor.requested == []  # refused before any byte was fetched

    final = download_model(spec, tmp_path / "models", session=session, sha256=sha256(data).upper())
    assert check_layout(final).supports_grammar is True


def test_explicit_digest_must_agree_with_the_pin(
    vendor: FakeVendor, tmp_path: Path, tiny_model_dir: Path, session: requests.Session
) -> None:
    data = zip_model(tiny_model_dir)
    spec = spec_for(vendor.serve("/m.zip", data), data)
    with pytest.raises(DownloadError, match="disagrees with the SHA-256 pinned"):
        download_model(spec, tmp_path, session=session, sha256="0" * 64)
    with pytest.raises(DownloadError, match="64 hex digits"):
        download_model(spec, tmp_path, session=session, sha256="abc")
    assert leftovers(tmp_path) == []


# --- a good download ----------------------------------------------------------------------------


def test_good_download_installs_a_model_vosk_can_load(
    vendor: FakeVendor, tmp_path: Path, tiny_model_dir: Path
) -> None:
    data = zip_model(tiny_model_dir)
    spec = spec_for(vendor.serve(f"/vosk/models/{NAME}.zip", data), data, size=len(data))
    dest_root = tmp_path / "models"

    final = download_model(spec, dest_root)  # its own requests.Session

    assert final == dest_root / NAME
    assert leftovers(dest_root) == [NAME]  # no temporary files left behind
    assert (final / "am" / "final.mdl").read_bytes() == (
        tiny_model_dir / "am/final.mdl"
    ).read_bytes()
    loaded = load_model(final)
    assert loaded.info.name == NAME and loaded.info.supports_grammar is True
    rec = vosk.KaldiRecognizer(loaded.model, 16000)
    rec.AcceptWaveform(silence(16000, 1.0))
    assert json.loads(rec.FinalResult())["text"] == ""


def test_top_level_directory_name_does_not_matter(
    vendor: FakeVendor, tmp_path: Path, tiny_static_model_dir: Path, session: requests.Session
) -> None:
    data = zip_model(tiny_static_model_dir, top="whatever-the-vendor-called-it")
    final = download_model(spec_for(vendor.serve("/m.zip", data), data), tmp_path, session=session)
    assert final == tmp_path / NAME
    assert check_layout(final).supports_grammar is False


def test_progress_reports_increasing_bytes_and_the_total(
    vendor: FakeVendor, tmp_path: Path, tiny_model_dir: Path, session: requests.Session
) -> None:
    data = zip_model(tiny_model_dir)
    spec = spec_for(vendor.serve("/m.zip", data), data)
    calls: list[tuple[int, int | None]] = []

    download_model(
        spec, tmp_path, session=session, chunk_size=256, progress=lambda n, t: calls.append((n, t))
    )

    done = [n for n, _ in calls]
    assert len(calls) >= len(data) // 256
    assert done == sorted(set(done))  # strictly increasing
    assert done[-1] == len(data)
    assert {t for _, t in calls} == {len(data)}


# --- downloads that must install nothing --------------------------------------------------------


def test_checksum_mismatch_names_both_digests(
    vendor: FakeVendor, tmp_path: Path, tiny_model_dir: Path, session: requests.Session
) -> None:
    data = zip_model(tiny_model_dir)
    expected = sha256(b"the zip the vendor published")
    spec = spec_for(vendor.serve("/m.zip", data), data, sha256=expected)
    with pytest.raises(DownloadError) as caught:
        download_model(spec, tmp_path, session=session)
    assert expected in str(caught.value)
    assert sha256(data) in str(caught.value)
    assert leftovers(tmp_path) == []


def test_truncated_download_is_reported(
    vendor: FakeVendor, tmp_path: Path, tiny_model_dir: Path, session: requests.Session
) -> None:
    data = zip_model(tiny_model_dir)
    url = vendor.serve("/m.zip", data, content_length=len(data) + 4096)
    with pytest.raises(DownloadError, match=f"truncated .*before all {len(data) + 4096} bytes"):
        download_model(spec_for(url, data), tmp_path, session=session)
    assert leftovers(tmp_path) == []


def test_size_that_disagrees_with_the_pin_is_refused(
    vendor: FakeVendor, tmp_path: Path, tiny_model_dir: Path, session: requests.Session
) -> None:
    data = zip_model(tiny_model_dir)
    spec = spec_for(vendor.serve("/m.zip", data), data, size=33_656_337)
    with pytest.raises(DownloadError, match="should be 33656337 bytes"):
        download_model(spec, tmp_path, session=session)
    assert leftovers(tmp_path) == []


def test_http_404_is_reported(
    tmp_path: Path, vendor: FakeVendor, session: requests.Session
) -> None:
    spec = ModelSpec(name=NAME, url=vendor.base_url + "/gone.zip", sha256="0" * 64)
    with pytest.raises(DownloadError, match=r"HTTP 404"):
        download_model(spec, tmp_path, session=session)
    assert vendor.requested == ["/gone.zip"]
    assert leftovers(tmp_path) == []


def test_unreachable_server_is_a_download_error(tmp_path: Path, session: requests.Session) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago, with no one listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    spec = ModelSpec(name=NAME, url=f"http://127.0.0.1:{port}/m.zip", sha256="0" * 64)
    with pytest.raises(DownloadError, match="failed after 0 bytes"):
        download_model(spec, tmp_path, session=session, timeout=2)
    assert leftovers(tmp_path) == []


def test_wrong_layout_is_refused(
    vendor: FakeVendor, tmp_path: Path, tiny_model_dir: Path, session: requests.Session
) -> None:
    data = zip_model(tiny_model_dir, skip=("am/final.mdl",))
    with pytest.raises(DownloadError, match=r"am/final.mdl is missing"):
        download_model(spec_for(vendor.serve("/m.zip", data), data), tmp_path, session=session)
    assert leftovers(tmp_path) == []


def test_not_a_zip_is_refused(
    vendor: FakeVendor, tmp_path: Path, session: requests.Session
) -> None:
    data = b"<html>Please accept our cookies</html>"
    with pytest.raises(DownloadError, match="not a readable zip"):
        download_model(spec_for(vendor.serve("/m.zip", data), data), tmp_path, session=session)
    assert leftovers(tmp_path) == []


def test_zip_without_a_single_top_directory_is_refused(
    vendor: FakeVendor, tmp_path: Path, session: requests.Session
) -> None:
    data = zip_entries({"am/final.mdl": b"x", "conf/mfcc.conf": b"x"})
    with pytest.raises(DownloadError, match=r"single model directory.*am, conf"):
        download_model(spec_for(vendor.serve("/m.zip", data), data), tmp_path, session=session)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    "entry",
    ["../escaped.txt", f"{NAME}/../../escaped.txt", "/escaped.txt", "C:/escaped.txt", "a\\..\\b"],
)
def test_path_traversal_entry_is_refused(
    vendor: FakeVendor, tmp_path: Path, tiny_model_dir: Path, session: requests.Session, entry: str
) -> None:
    good = zipfile.ZipFile(io.BytesIO(zip_model(tiny_model_dir)))
    entries = {info.filename: good.read(info) for info in good.infolist()}
    entries[entry] = b"owned"
    data = zip_entries(entries)
    dest_root = tmp_path / "models"

    with pytest.raises(DownloadError, match="unsafe entry"):
        download_model(spec_for(vendor.serve("/m.zip", data), data), dest_root, session=session)

    assert leftovers(dest_root) == []
    assert not (tmp_path / "escaped.txt").exists()


def test_symlink_entry_is_refused(
    vendor: FakeVendor, tmp_path: Path, session: requests.Session
) -> None:
    link = zipfile.ZipInfo(f"{NAME}/am/final.mdl")
    link.external_attr = 0o120777 << 16  # S_IFLNK
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(link, "/etc/passwd")
    data = buffer.getvalue()
    with pytest.raises(DownloadError, match="symbolic link"):
        download_model(spec_for(vendor.serve("/m.zip", data), data), tmp_path, session=session)
    assert leftovers(tmp_path) == []


# --- an existing model at the destination -------------------------------------------------------


def test_existing_model_is_kept_without_force(
    vendor: FakeVendor, tmp_path: Path, tiny_model_dir: Path, session: requests.Session
) -> None:
    existing = tmp_path / NAME
    existing.mkdir()
    (existing / "marker").write_text("the model in service")
    data = zip_model(tiny_model_dir)

    with pytest.raises(DownloadError, match=r"already installed.*--force"):
        download_model(spec_for(vendor.serve("/m.zip", data), data), tmp_path, session=session)

    assert vendor.requested == []  # refused before downloading
    assert (existing / "marker").read_text() == "the model in service"
    assert leftovers(tmp_path) == [NAME]


def test_force_replaces_the_existing_model(
    vendor: FakeVendor, tmp_path: Path, tiny_model_dir: Path, session: requests.Session
) -> None:
    existing = tmp_path / NAME
    existing.mkdir()
    (existing / "marker").write_text("the old model")
    data = zip_model(tiny_model_dir)

    final = download_model(
        spec_for(vendor.serve("/m.zip", data), data), tmp_path, session=session, force=True
    )

    assert final == existing
    assert not (final / "marker").exists()
    assert check_layout(final).supports_grammar is True
    assert leftovers(tmp_path) == [NAME]  # the old copy is gone, nothing hidden left over


def test_failed_forced_download_keeps_the_existing_model(
    vendor: FakeVendor, tmp_path: Path, tiny_model_dir: Path, session: requests.Session
) -> None:
    existing = tmp_path / NAME
    existing.mkdir()
    (existing / "marker").write_text("the model in service")
    data = zip_model(tiny_model_dir, skip=("conf/model.conf",))

    with pytest.raises(DownloadError, match=r"conf/model.conf is missing"):
        download_model(
            spec_for(vendor.serve("/m.zip", data), data), tmp_path, session=session, force=True
        )

    assert (existing / "marker").read_text() == "the model in service"
    assert leftovers(tmp_path) == [NAME]


def test_disk_errors_are_download_errors(
    vendor: FakeVendor,
    tmp_path: Path,
    tiny_model_dir: Path,
    session: requests.Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = zip_model(tiny_model_dir)

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("asr.download.shutil.copyfileobj", disk_full)
    with pytest.raises(DownloadError, match="No space left on device"):
        download_model(spec_for(vendor.serve("/m.zip", data), data), tmp_path, session=session)
    assert leftovers(tmp_path) == []
