"""Streaming a multipart upload straight into the data dir, with its limits checked on the way.

Why not Starlette's own form parsing: it spools files bigger than 1 MiB to the system's temporary
folder (photos must live under the data dir only), and it learns a file's size and kind only once
the whole body is in. Here python-multipart's push parser is fed the body as it arrives: the
request size is counted chunk by chunk (413 the moment it passes the cap), each file's first bytes
are sniffed (415 before the rest is read), and the number of photos is capped.
"""

from __future__ import annotations

import os
import re
import shutil
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from ..errors import InputError
from ..imageio import sniff_format

__all__ = ["Upload", "ApiError", "receive", "safe_stem", "move_into"]

FIELD_LIMIT = 4096  # bytes of a text field
# What imageio.sniff_format reads: an HEIC's brands may be listed well past its first 64 bytes, and
# the network may cut the body anywhere, so the first bytes are gathered up to this before judging.
SNIFF_BYTES = 4096
EXTENSIONS = {"jpeg": "jpg", "png": "png", "webp": "webp", "heif": "heic"}


class ApiError(Exception):
    """A request the studio refuses: HTTP `status`, a stable `code` and a message for a person
    (answered as ``{"error": code, "message": message}``). Raised by the upload parser and the app."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


@dataclass
class Upload:
    """What a request carried: text fields and the photos, already on disk in `folder`."""

    folder: Path
    fields: dict[str, list[str]] = field(default_factory=dict)
    photos: list[dict[str, str]] = field(default_factory=list)  # {"name", "stem", "file", "format"}

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def safe_stem(filename: str, taken: set[str]) -> str:
    """A file-name stem safe on every file system and in URLs, unique within `taken`."""
    stem = Path(filename.replace("\\", "/")).stem
    stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-_")[:40] or "photo"
    out, i = stem, 2
    while out.lower() in taken:
        out, i = f"{stem}-{i}", i + 1
    taken.add(out.lower())
    return out


class _Parser:
    """python-multipart callbacks that write file parts to disk and keep text fields."""

    def __init__(self, upload: Upload, max_photos: int, file_field: str) -> None:
        self.up = upload
        self.max_photos = max_photos
        self.file_field = file_field
        self.taken: set[str] = set()
        self._hname = bytearray()
        self._hvalue = bytearray()
        self._headers: dict[str, bytes] = {}
        self._name: str | None = None
        self._filename: str | None = None
        self._value = bytearray()
        self._head = bytearray()
        self._fh: BinaryIO | None = None
        self._sniffed = False

    # header callbacks
    def on_part_begin(self) -> None:
        self._headers = {}
        self._name = self._filename = None
        self._value = bytearray()
        self._head = bytearray()
        self._sniffed = False

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._hname += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._hvalue += data[start:end]

    def on_header_end(self) -> None:
        self._headers[bytes(self._hname).decode("latin-1").lower()] = bytes(self._hvalue)
        self._hname = bytearray()
        self._hvalue = bytearray()

    def on_headers_finished(self) -> None:
        _, opts = parse_options_header(self._headers.get("content-disposition", b""))
        name = opts.get(b"name")
        if name is None:
            raise ApiError(400, "bad_form", "every part of the form needs a name (Content-Disposition: form-data; "
                                               "name=...)")
        self._name = name.decode("utf-8", "replace")
        filename = opts.get(b"filename")
        if filename is not None:
            self._filename = filename.decode("utf-8", "replace")
            if self._name != self.file_field:
                raise ApiError(400, "bad_form", f"files go in the '{self.file_field}' field, not '{self._name}'")
            if len(self.up.photos) >= self.max_photos:
                raise ApiError(400, "too_many_photos",
                                  f"at most {self.max_photos} photos per job; split them into several uploads")

    # data callbacks
    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._filename is None:
            if len(self._value) + len(chunk) > FIELD_LIMIT:
                raise ApiError(400, "bad_form", f"the field '{self._name}' is too long")
            self._value += chunk
            return
        if not self._sniffed:
            self._head += chunk
            if len(self._head) < SNIFF_BYTES:
                return
            self._open()
            chunk = bytes(self._head)
        assert self._fh is not None
        self._fh.write(chunk)

    def _open(self) -> None:
        assert self._filename is not None
        shown = Path(self._filename.replace("\\", "/")).name[:120] or "photo"
        try:
            fmt = sniff_format(bytes(self._head), shown)
        except InputError as e:
            raise ApiError(415, "unsupported_format", str(e)) from None
        idx = len(self.up.photos)
        file = f"upload-{idx}.{EXTENSIONS[fmt]}"
        self._fh = open(self.up.folder / file, "wb")  # noqa: SIM115 (closed in on_part_end or close())
        self._sniffed = True
        self.up.photos.append({"name": shown, "stem": safe_stem(shown, self.taken), "file": file, "format": fmt})

    def on_part_end(self) -> None:
        if self._filename is None:
            assert self._name is not None
            self.up.fields.setdefault(self._name, []).append(self._value.decode("utf-8", "replace"))
            return
        if not self._sniffed:  # a file shorter than the sniffing window
            if not self._head:
                raise ApiError(415, "empty_file", f"{self._filename}: the file is empty (0 bytes)")
            self._open()
            assert self._fh is not None
            self._fh.write(bytes(self._head))
        self.close()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


async def receive(request: Request, folder: Path, *, max_bytes: int, max_photos: int,
                  file_field: str = "photos") -> Upload:
    """Stream a ``multipart/form-data`` request into `folder` (created; removed again on error).

    Raises
    ------
    ApiError
        400 (not a form, bad field, too many photos), 413 (too large), 415 (not an accepted image).
    """
    ctype, opts = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or not opts.get(b"boundary"):
        raise ApiError(400, "not_a_form", "send the photos as multipart/form-data (a form with a file field "
                                             f"'{file_field}')")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise ApiError(413, "too_large", _too_large(max_bytes))
    folder.mkdir(parents=True, exist_ok=False)
    up = Upload(folder=folder)
    cb = _Parser(up, max_photos, file_field)
    callbacks = {k: getattr(cb, k) for k in ("on_part_begin", "on_header_field", "on_header_value", "on_header_end",
                                             "on_headers_finished", "on_part_data", "on_part_end")}
    parser = MultipartParser(opts[b"boundary"], callbacks)  # type: ignore[arg-type]
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > max_bytes:
                raise ApiError(413, "too_large", _too_large(max_bytes))
            parser.write(chunk)
        parser.finalize()
    except ApiError:
        cb.close()
        up.discard()
        raise
    except ClientDisconnect:
        cb.close()
        up.discard()
        raise
    except Exception as e:  # python-multipart's own errors: a malformed body
        cb.close()
        up.discard()
        raise ApiError(400, "bad_form", f"the form could not be read ({e}); send multipart/form-data") from None
    cb.close()
    if not up.photos:
        up.discard()
        raise ApiError(400, "no_photo", f"the upload has no photo: add at least one image file in the "
                                           f"'{file_field}' field")
    return up


def _too_large(max_bytes: int) -> str:
    return (f"the upload is larger than {max_bytes / 2**20:.0f} MiB; send fewer photos at once or smaller copies "
            "(e.g. JPEG quality 90)")


def move_into(upload: Upload, job_dir: Path) -> None:
    """Put a received upload's folder in place as its job's folder."""
    os.replace(upload.folder, job_dir)
