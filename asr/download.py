"""Fetch a Vosk model zip from the vendor, verify it and install it atomically.

Nothing reaches the final directory unless the whole download arrived, its SHA-256 matches the
pin, it unpacks safely and it has a Vosk model layout. Work happens in hidden temporary files
next to the destination (same filesystem, so the last step is a rename) and they are removed on
every failure.

An existing model at the destination is kept unless `force=True`; then the new model replaces
it with two renames (old aside, new in) and the old copy is deleted afterwards, so a reader of
the path sees either the old model or the new one, never a half-written directory.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import requests

from asr.model import ModelLayoutError, ModelNotInstalled, check_layout

VENDOR_URL = "https://alphacephei.com/vosk/models/{name}.zip"

Progress = Callable[[int, int | None], None]


class DownloadError(Exception):
    """The model could not be fetched, verified or installed; nothing was installed."""


@dataclass(frozen=True)
class ModelSpec:
    """A downloadable model.

    `sha256` is required: a hex digest of the zip, or None when no digest has been pinned yet,
    in which case download_model refuses to install it unless the operator passes one.
    """

    name: str
    url: str
    sha256: str | None
    size: int | None = None


MODELS: dict[str, ModelSpec] = {
    "small": ModelSpec(
        name="vosk-model-small-vn-0.4",
        url=VENDOR_URL.format(name="vosk-model-small-vn-0.4"),
        # Size and digest of the vendor's zip as published in two independent projects that
        # pin it (measured with `curl -L … | shasum -a 256`); not re-measured here (no network).
        sha256="efe5c8494212110471a79befc48c79da679e5b1fc52a4ffb500222ff86d622e5",
        size=33_656_337,
    ),
    "large": ModelSpec(
        name="vosk-model-vn-0.4",
        url=VENDOR_URL.format(name="vosk-model-vn-0.4"),
        # UNPINNED: no trustworthy published SHA-256 for this zip was found. Installing it
        # needs an explicit digest (`hotline asr download large --sha256 <hex>`). Measure it once
        # on a trusted machine with `sha256sum vosk-model-vn-0.4.zip` and pin it here.
        sha256=None,
    ),
}


def download_model(
    spec: ModelSpec,
    dest_root: Path,
    *,
    progress: Progress | None = None,
    session: requests.Session | None = None,
    chunk_size: int = 1 << 16,
    timeout: float = 30,
    sha256: str | None = None,
    force: bool = False,
) -> Path:
    """Download, verify and install `spec` as `dest_root/<spec.name>`; return that path.

    `progress(bytes_so_far, total_or_None)` is called after every chunk. `sha256` supplies the
    digest for an unpinned spec (it must agree with a pinned one). An existing model at the
    destination makes this fail unless `force` is true. Raises DownloadError, with nothing
    installed and no temporary files left, on any failure.
    """
    expected = _expected_digest(spec, sha256)
    final = dest_root / spec.name
    if _exists(final) and not force:
        raise DownloadError(f"a model is already installed at {final}: pass --force to replace it")
    try:
        dest_root.mkdir(parents=True, exist_ok=True)
        fd, zip_name = tempfile.mkstemp(dir=dest_root, prefix=f".{spec.name}.", suffix=".zip.part")
    except OSError as exc:
        raise DownloadError(f"cannot write to {dest_root}: {exc}") from exc

    zip_path = Path(zip_name)
    unpack_dir: Path | None = None
    try:
        with os.fdopen(fd, "wb") as out:
            actual = _fetch(spec, out, progress, session, chunk_size, timeout)
        if actual != expected:
            raise DownloadError(
                f"checksum mismatch for {spec.url}: expected SHA-256 {expected}, got {actual}; "
                "the download is corrupt or not the pinned file, nothing was installed"
            )
        unpack_dir = Path(tempfile.mkdtemp(dir=dest_root, prefix=f".{spec.name}.unpack-"))
        model_dir = _unpack(zip_path, unpack_dir)
        try:
            check_layout(model_dir)
        except (ModelLayoutError, ModelNotInstalled) as exc:
            raise DownloadError(f"{spec.url} does not contain a Vosk model: {exc}") from exc
        _install(model_dir, final, force=force)
    except OSError as exc:  # disk full, permissions: still one exception type for callers
        raise DownloadError(f"cannot write the model under {dest_root}: {exc}") from exc
    finally:
        zip_path.unlink(missing_ok=True)
        if unpack_dir is not None:
            shutil.rmtree(unpack_dir, ignore_errors=True)
    return final


def _expected_digest(spec: ModelSpec, override: str | None) -> str:
    pinned = _normalise_digest(spec.sha256, "the pinned SHA-256") if spec.sha256 else None
    given = _normalise_digest(override, "--sha256") if override else None
    if pinned and given and pinned != given:
        raise DownloadError(
            f"--sha256 {given} disagrees with the SHA-256 pinned for {spec.name} ({pinned}); "
            "leave --sha256 out to use the pin"
        )
    digest = pinned or given
    if digest is None:
        raise DownloadError(
            f"no SHA-256 is pinned for {spec.name}, so it cannot be verified: measure the zip "
            f"from {spec.url} on a trusted machine and pass it with --sha256"
        )
    return digest


def _normalise_digest(value: str, label: str) -> str:
    digest = value.strip().lower()
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise DownloadError(f"{label} must be 64 hex digits, got {value!r}")
    return digest


def _exists(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def _fetch(
    spec: ModelSpec,
    out: BinaryIO,
    progress: Progress | None,
    session: requests.Session | None,
    chunk_size: int,
    timeout: float,
) -> str:
    """Stream spec.url into `out`; return the SHA-256 of what was received."""
    own_session = session is None
    http = session if session is not None else requests.Session()
    digest = hashlib.sha256()
    received = 0
    total: int | None = None
    try:
        # identity: Content-Length must count the bytes we hash, not a compressed transfer.
        with http.get(
            spec.url, stream=True, timeout=timeout, headers={"Accept-Encoding": "identity"}
        ) as response:
            if response.status_code != 200:
                raise DownloadError(
                    f"cannot download {spec.url}: HTTP {response.status_code} {response.reason}"
                )
            total = _content_length(response)
            if total is not None and spec.size is not None and total != spec.size:
                raise DownloadError(
                    f"{spec.url} is {total} bytes but {spec.name} should be {spec.size} bytes; "
                    "nothing was installed"
                )
            for chunk in response.iter_content(chunk_size=chunk_size):
                if not chunk:
                    continue
                out.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                if progress is not None:
                    progress(received, total)
    except requests.RequestException as exc:
        if total is not None and received < total:
            # urllib3 drops the partial last read, so `received` undercounts here.
            raise _truncated(spec, total) from exc
        raise DownloadError(
            f"download of {spec.url} failed after {received} bytes: {exc}; nothing was installed"
        ) from exc
    finally:
        if own_session:
            http.close()
    if total is not None and received != total:
        raise _truncated(spec, total, received)
    return digest.hexdigest()


def _truncated(spec: ModelSpec, total: int, received: int | None = None) -> DownloadError:
    if received is None:
        what = f"the connection ended before all {total} bytes arrived"
    else:
        what = f"got {received} of {total} bytes"
    return DownloadError(
        f"download of {spec.url} was truncated ({what}); nothing was installed, try again"
    )


def _content_length(response: requests.Response) -> int | None:
    header = response.headers.get("Content-Length")
    if header is None:
        return None
    try:
        return int(header)
    except ValueError:
        return None


def _unpack(zip_path: Path, into: Path) -> Path:
    """Extract every entry under `into`, refusing unsafe names; return the single top dir."""
    try:
        with zipfile.ZipFile(zip_path) as archive:
            members = archive.infolist()
            for member in members:
                target = _safe_target(into, member)
                if member.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(member) as src, open(target, "xb") as dst:
                    shutil.copyfileobj(src, dst)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
        raise DownloadError(f"the downloaded file is not a readable zip: {exc}") from exc
    except FileExistsError as exc:
        raise DownloadError(f"the zip has a duplicate entry {exc.filename}") from exc

    # Archives made on macOS carry a __MACOSX resource-fork folder next to the content.
    tops = [p for p in into.iterdir() if p.name != "__MACOSX"]
    if len(tops) != 1 or not tops[0].is_dir():
        names = ", ".join(sorted(p.name for p in tops)) or "nothing"
        raise DownloadError(
            f"the zip should hold a single model directory at its top level, found: {names}"
        )
    return tops[0]


def _safe_target(root: Path, member: zipfile.ZipInfo) -> Path:
    """Where `member` goes under `root`; refuse anything that could land elsewhere."""
    name = member.filename
    parts = PurePosixPath(name).parts
    if (
        not parts
        or "\\" in name
        or name.startswith("/")
        or ":" in parts[0]
        or any(part in {"..", "."} for part in parts)
    ):
        raise DownloadError(f"the zip has an unsafe entry {name!r}; refusing to unpack it")
    if stat.S_ISLNK(member.external_attr >> 16):
        raise DownloadError(f"the zip has a symbolic link {name!r}; refusing to unpack it")
    target = root.joinpath(*parts)
    if not target.resolve().is_relative_to(root.resolve()):
        raise DownloadError(f"the zip entry {name!r} points outside the model directory")
    return target


def _install(model_dir: Path, final: Path, *, force: bool) -> None:
    """Move the checked model into place; with force, swap out an existing one."""
    if not _exists(final):
        try:
            model_dir.rename(final)
        except OSError as exc:
            raise DownloadError(f"cannot install the model at {final}: {exc}") from exc
        return
    if not force:  # appeared while we were downloading
        raise DownloadError(f"a model is already installed at {final}: pass --force to replace it")
    # A fresh hidden directory beside the destination holds the old model until the swap is done.
    graveyard = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.old-"))
    aside = graveyard / final.name
    try:
        final.rename(aside)
    except OSError as exc:
        graveyard.rmdir()
        raise DownloadError(f"cannot move the old model at {final} aside: {exc}") from exc
    try:
        model_dir.rename(final)
    except OSError as exc:
        try:
            aside.rename(final)  # put the old model back: a working model beats none
        except OSError:
            raise DownloadError(
                f"cannot install the model at {final} ({exc}) nor restore the old one; "
                f"it is kept at {aside}"
            ) from exc
        graveyard.rmdir()
        raise DownloadError(f"cannot install the model at {final}: {exc}") from exc
    shutil.rmtree(graveyard, ignore_errors=True)
