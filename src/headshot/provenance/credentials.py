"""C2PA content credentials: sign an output, and read one back (``headshot verify``).

Every output gets a C2PA manifest made with the c2pa SDK (c2pa-python, a Rust core):

- the input photo as the ``parentOf`` ingredient: its format, a title, and an instance id derived
  from the file's SHA-256, so whoever holds the selfie can check the link
  (``headshot verify OUT --source SELFIE``) while the output carries nothing of it. The input's own
  metadata and any content credentials it had (a camera's manifest may hold GPS and the device's
  serial) are *not* carried over, and no thumbnail of the input is embedded (it would show the room
  the selfie was taken in);
- a ``c2pa.actions`` assertion: ``c2pa.opened`` (the input), then one action per stage that was
  applied (see :mod:`headshot.provenance.edits`), each with our software agent and version, and the
  generated backdrop marked ``algorithmicMedia``;
- a thumbnail of the output (256 px JPEG).

Signing is offline: our own key (:mod:`headshot.provenance.keys`), no timestamp authority, and the
SDK's network features (remote manifests, OCSP) are turned off for reading too.

Determinism: C2PA requires each assertion to carry a fresh random salt, so two signings of the same
headshot differ inside the manifest store. Everything outside it (the image data, the XMP packet)
is byte-identical, and with credentials off the whole file is (see :func:`strip`).
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import pathlib
import struct
import threading
import uuid
from dataclasses import asdict, dataclass
from typing import Final

import cv2
import numpy as np
from PIL import Image

from ..errors import CredentialsError, InputError
from ..imageio import SourceInfo, sniff_format, to_srgb8
from .edits import IPTC_BASE, SOURCE_TYPES, Edits, read_xmp
from .keys import Identity

__all__ = [
    "MIME",
    "Parent",
    "Verification",
    "instance_id",
    "parent_of",
    "sign",
    "strip",
    "thumbnail",
    "verify",
    "warm",
]

SOFTWARE: Final[str] = "Headshot Studio"
THUMB_SIZE: Final[int] = 256
MIME: Final[dict[str, str]] = {
    "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "heif": "image/heic",
}
# Validation codes that mean the file or its manifest changed after signing (C2PA 2.1, 15.x).
_TAMPER_CODES: Final[frozenset[str]] = frozenset({
    "assertion.dataHash.mismatch", "assertion.boxesHash.mismatch", "assertion.bmffHash.mismatch",
    "assertion.hashedURI.mismatch", "claimSignature.mismatch", "assertion.collectionHash.mismatch",
    "assertion.dataHash.malformed", "assertion.boxesHash.unknownBox", "claim.hardBindings.missing",
    "assertion.missing", "assertion.cbor.invalid", "assertion.json.invalid", "claim.cbor.invalid",
    "manifest.inaccessible", "manifest.multipleParents",
})
_UNTRUSTED: Final[frozenset[str]] = frozenset({"signingCredential.untrusted"})
_NAMESPACE: Final[uuid.UUID] = uuid.UUID("6f1d2b7e-7d0e-5c3a-9b8e-1e5d0c2a4f60")  # ours, fixed forever


@dataclass(frozen=True)
class Parent:
    """The input photo as the manifest's ``parentOf`` ingredient."""

    title: str
    format: str
    sha256: str


def parent_of(source: SourceInfo) -> Parent:
    """The ingredient for an input photo (its name, format and content hash; nothing else)."""
    return Parent(title=source.name or "photo", format=source.format, sha256=source.sha256)


def instance_id(sha256: str) -> str:
    """The ingredient instance id of an input with this SHA-256 (a name-based UUID: the same input
    always gives the same id, and the id reveals nothing of the input)."""
    return f"xmp:iid:{uuid.uuid5(_NAMESPACE, 'sha256:' + sha256.lower())}"


# ------------------------------------------------------------------------------------- the SDK


@functools.lru_cache(maxsize=1)
def _c2pa():  # type: ignore[no-untyped-def]
    """Import the SDK on first use (its native library costs ~50 ms to load; most commands never sign)."""
    try:
        import c2pa
    except ImportError as e:  # pragma: no cover - a declared dependency
        raise CredentialsError(f"content credentials need the c2pa-python package ({e}); reinstall "
                               "headshot-studio, or turn credentials off with --no-credentials") from None
    return c2pa


_OFFLINE: Final[dict[str, object]] = {"remote_manifest_fetch": False, "ocsp_fetch": False}
_local = threading.local()


def _sign_context():  # type: ignore[no-untyped-def]
    """One signing context per thread (the SDK's contexts are not documented as thread-safe)."""
    ctx = getattr(_local, "sign", None)
    if ctx is None:
        c2pa = _c2pa()
        settings = c2pa.Settings.from_dict({
            "builder": {"thumbnail": {"enabled": False}},  # we add our own, deterministic one
            "verify": {"verify_after_sign": False, **_OFFLINE},
        })
        ctx = _local.sign = c2pa.Context(settings=settings)
    return ctx


def warm() -> float:
    """Load the SDK and this thread's signing context now (once per process, ~50 ms), so that the
    first output does not pay for it; returns the seconds it took (0 when already loaded)."""
    import time

    t = time.perf_counter()
    _c2pa()
    _sign_context()
    return time.perf_counter() - t


def _alg(c2pa, name: str):  # type: ignore[no-untyped-def]
    return {"es256": c2pa.C2paSigningAlg.ES256, "es384": c2pa.C2paSigningAlg.ES384,
            "es512": c2pa.C2paSigningAlg.ES512, "ps256": c2pa.C2paSigningAlg.PS256,
            "ed25519": c2pa.C2paSigningAlg.ED25519}[name]


def thumbnail(image: np.ndarray, alpha: np.ndarray | None = None) -> bytes:
    """A 256 px JPEG of an output for its manifest, made from the linear image (downsampled in
    linear light, so it is no darker than the picture); a transparent output is shown on white."""
    h, w = image.shape[:2]
    k = THUMB_SIZE / max(h, w)
    size = (max(1, round(w * k)), max(1, round(h * k)))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA) if k < 1 else image
    if alpha is not None:
        a = cv2.resize(alpha, size, interpolation=cv2.INTER_AREA) if k < 1 else alpha
        small = small * a[..., None] + (1.0 - a[..., None])
    rgb8 = to_srgb8(np.ascontiguousarray(small, dtype=np.float32))
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb8, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 75])
    if not ok:  # pragma: no cover - OpenCV's JPEG encoder does not fail on a valid array
        raise CredentialsError("cannot encode the credentials' thumbnail")
    return buf.tobytes()


def _manifest(edits: Edits, title: str, mime: str, parent: Parent | None, version: str) -> dict[str, object]:
    agent = {"name": SOFTWARE, "version": version}
    actions: list[dict[str, object]] = []
    ingredients: list[dict[str, object]] = []
    if parent is not None:
        ingredients.append({
            "title": parent.title,
            "format": MIME.get(parent.format, "application/octet-stream"),
            "relationship": "parentOf",
            "instance_id": instance_id(parent.sha256) if parent.sha256 else instance_id(parent.title),
            "label": "input",
        })
        actions.append({"action": "c2pa.opened", "softwareAgent": agent,
                        "description": "the person's photograph", "parameters": {"ingredientIds": ["input"]}})
    else:
        actions.append({"action": "c2pa.created", "softwareAgent": agent,
                        "digitalSourceType": IPTC_BASE + "algorithmicMedia"})
    for step in edits.steps:
        action: dict[str, object] = {"action": step.action, "softwareAgent": agent, "description": step.description}
        if step.stage == "background replaced" and edits.backdrop == "generated":
            action["digitalSourceType"] = IPTC_BASE + "algorithmicMedia"
        actions.append(action)
    return {
        "claim_generator_info": [agent],
        "title": title,
        "format": mime,
        "ingredients": ingredients,
        "assertions": [{"label": "c2pa.actions", "data": {"actions": actions}}],
    }


def sign(data: bytes, format: str, edits: Edits, identity: Identity, *, title: str,
         parent: Parent | None = None, thumb: bytes | None = None) -> bytes:
    """Embed a signed C2PA manifest in an encoded output.

    Parameters
    ----------
    data : bytes
        The encoded JPEG, PNG or WebP (with its XMP packet already in it).
    format : {"jpg", "png", "webp"}
    edits : Edits
        What was done (the manifest's actions).
    identity : Identity
        Who signs (:func:`headshot.provenance.keys.load`).
    title : str
        The output's file name.
    parent : Parent, optional
        The input photo (:func:`parent_of`).
    thumb : bytes, optional
        The manifest's JPEG thumbnail (:func:`thumbnail`); without one, none is embedded.

    Returns
    -------
    bytes
        The same file with the manifest store embedded (JPEG APP11, PNG ``caBX``, WebP ``C2PA``).

    Raises
    ------
    CredentialsError
        The SDK refused to sign (the message says why).
    """
    from .. import __version__

    c2pa = _c2pa()
    mime = MIME[format]
    definition = _manifest(edits, title, mime, parent, __version__)
    try:
        if thumb is not None:
            definition["thumbnail"] = {"format": "image/jpeg", "identifier": "thumbnail.jpg"}
        builder = c2pa.Builder.from_json(definition, _sign_context())
        if thumb is not None:
            builder.add_resource("thumbnail.jpg", io.BytesIO(thumb))
        signer = c2pa.Signer.from_callback(identity.sign, _alg(c2pa, identity.alg), identity.chain_pem)
        out = io.BytesIO()
        builder.sign(signer, mime, io.BytesIO(data), out)
    except c2pa.C2paError as e:
        raise CredentialsError(f"cannot sign the content credentials of {title}: {e}; check the signing "
                               "certificate (`headshot keys init`), or use --no-credentials") from None
    return out.getvalue()


# ------------------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Verification:
    """What an output's credentials say (``headshot verify``).

    Attributes
    ----------
    status : {"trusted", "untrusted", "tampered", "invalid", "none"}
        ``trusted``: the manifest is intact and signed by a certificate that chains to a trusted CA
        (the local CA of ``headshot keys init`` and any ``--trust`` file). ``untrusted``: intact,
        but the signer is not trusted here. ``tampered``: the file or its manifest changed after
        signing. ``invalid``: intact but unusable (an expired or unfit certificate). ``none``: the
        file carries no content credentials.
    digital_source_type : str or None
        The XMP ``Iptc4xmpExt:DigitalSourceType`` URI.
    description : str or None
        The XMP description.
    edits : tuple of str
        The manifest's actions, ``"<action>: <description>"``.
    signer, issuer : str or None
        The signing certificate's common name and issuer (from the manifest).
    generator : str or None
        The claim generator (software and version).
    parent : str or None
        The ``parentOf`` ingredient's title; ``parent_id`` its instance id.
    source_matches : bool or None
        With a source photo given: whether it is the ``parentOf`` ingredient.
    problems : tuple of str
        Why the status is not ``trusted``, in the SDK's words.
    """

    file: str
    status: str
    digital_source_type: str | None = None
    description: str | None = None
    edits: tuple[str, ...] = ()
    signer: str | None = None
    issuer: str | None = None
    generator: str | None = None
    parent: str | None = None
    parent_id: str | None = None
    source_matches: bool | None = None
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Intact and trusted."""
        return self.status == "trusted"

    @property
    def source_type_words(self) -> str | None:
        """The digital source type in words, when it is one of IPTC's terms."""
        if not self.digital_source_type:
            return None
        term = self.digital_source_type.rsplit("/", 1)[-1]
        return SOURCE_TYPES.get(term)

    def as_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["edits"] = list(self.edits)
        d["problems"] = list(self.problems)
        return d


def _read_context(anchors: str):  # type: ignore[no-untyped-def]
    c2pa = _c2pa()
    verify: dict[str, object] = {"verify_trust": True, **_OFFLINE}
    config: dict[str, object] = {"verify": verify}
    if anchors:
        config["trust"] = {"user_anchors": anchors}
    return c2pa.Context(settings=c2pa.Settings.from_dict(config))


def _xmp_of(data: bytes, fmt: str) -> bytes | None:
    try:
        with Image.open(io.BytesIO(data)) as im:
            raw = im.info.get("xmp") or im.info.get("XML:com.adobe.xmp")
    except Exception:  # noqa: BLE001 - any decoder error: a damaged file; the manifest check says what is wrong
        return None
    if isinstance(raw, str):
        return raw.encode("utf-8")
    return raw if isinstance(raw, bytes) else None


def verify(source: str | os.PathLike[str] | bytes, *, trust: str = "", source_photo: bytes | None = None,
           name: str | None = None) -> Verification:
    """Read an output's content credentials back and check them.

    Parameters
    ----------
    source : path or bytes
        A JPEG, PNG or WebP file.
    trust : str
        PEM CA certificates to trust (e.g. :func:`headshot.provenance.keys.trust_anchors`).
    source_photo : bytes, optional
        The photo the output is said to be made from: checked against the ``parentOf`` ingredient.
    name : str, optional
        The name to report for bytes.

    Raises
    ------
    InputError
        The file cannot be read.
    UnsupportedFormatError
        Not a JPEG, PNG, WebP or HEIF file.
    """
    if isinstance(source, (bytes, bytearray)):
        data, label = bytes(source), name or "<bytes>"
    else:
        path = pathlib.Path(source)
        label = name or path.name
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise InputError(f"{path}: no such file; check the path") from None
        except OSError as e:
            raise InputError(f"{path}: cannot read it ({e.strerror or e})") from None
    fmt = sniff_format(data[:64], label)
    xmp = read_xmp(_xmp_of(data, fmt))
    result = functools.partial(Verification, file=label, digital_source_type=xmp.get("digital_source_type"),
                               description=xmp.get("description"))
    c2pa = _c2pa()
    try:
        reader = c2pa.Reader(MIME[fmt], io.BytesIO(data), context=_read_context(trust))
    except c2pa.C2paError.ManifestNotFound:
        return result(status="none", problems=("the file carries no content credentials",))
    except c2pa.C2paError as e:
        return result(status="tampered", problems=(f"the content credentials are damaged: {e}",))
    manifest = reader.get_active_manifest() or {}
    results = reader.get_validation_results() or {}
    failures = (results.get("activeManifest") or {}).get("failure") or []
    codes = [str(f.get("code", "")) for f in failures]
    problems = tuple(f"{f.get('code')}: {f.get('explanation', '')}".strip() for f in failures)
    state = reader.get_validation_state()
    if any(c in _TAMPER_CODES for c in codes):
        status = "tampered"
    elif state == "Trusted":
        status = "trusted"
    elif state == "Valid" or (codes and all(c in _UNTRUSTED for c in codes)):
        status = "untrusted"
    else:
        status = "invalid"
    edits: list[str] = []
    for assertion in manifest.get("assertions") or []:
        if str(assertion.get("label", "")).startswith("c2pa.actions"):
            for a in (assertion.get("data") or {}).get("actions") or []:
                what = str(a.get("action", "?"))
                desc = a.get("description")
                edits.append(f"{what}: {desc}" if desc else what)
    sig = manifest.get("signature_info") or {}
    gen = manifest.get("claim_generator_info") or []
    generator = None
    if gen and isinstance(gen[0], dict):
        generator = " ".join(str(gen[0].get(k)) for k in ("name", "version") if gen[0].get(k))
    parent = next((i for i in manifest.get("ingredients") or [] if i.get("relationship") == "parentOf"), None)
    matches = None
    if source_photo is not None:
        matches = parent is not None and parent.get("instance_id") == instance_id(
            hashlib.sha256(source_photo).hexdigest())
    return result(
        status=status, edits=tuple(edits), signer=sig.get("common_name"), issuer=sig.get("issuer"),
        generator=generator, parent=None if parent is None else parent.get("title"),
        parent_id=None if parent is None else parent.get("instance_id"), source_matches=matches,
        problems=problems if status != "trusted" else ())


# ------------------------------------------------------------------------------------- strip


def strip(data: bytes) -> bytes:
    """The file without its C2PA manifest store (JPEG APP11 JUMBF segments, PNG ``caBX`` chunks,
    WebP ``C2PA`` chunks), everything else byte for byte.

    For tests and for the determinism check: two signings of one headshot differ only in what
    this removes. It is not a way to "clean" a file: the result has no credentials at all.
    """
    fmt = sniff_format(data[:64], "<bytes>")
    if fmt == "jpeg":
        out = bytearray(data[:2])
        i = 2
        while i + 4 <= len(data) and data[i] == 0xFF:
            marker = data[i + 1]
            if marker == 0xDA:  # start of scan: the rest is image data
                break
            length = struct.unpack(">H", data[i + 2:i + 4])[0]
            segment = data[i:i + 2 + length]
            if not (marker == 0xEB and b"jumb" in segment[:64]):
                out += segment
            i += 2 + length
        out += data[i:]
        return bytes(out)
    if fmt == "png":
        out = bytearray(data[:8])
        i = 8
        while i + 8 <= len(data):
            length = struct.unpack(">I", data[i:i + 4])[0]
            kind = data[i + 4:i + 8]
            chunk = data[i:i + 12 + length]
            if kind != b"caBX":
                out += chunk
            i += 12 + length
        return bytes(out)
    if fmt == "webp":
        body = bytearray()
        i = 12
        while i + 8 <= len(data):
            kind = data[i:i + 4]
            size = struct.unpack("<I", data[i + 4:i + 8])[0]
            chunk = data[i:i + 8 + size + (size & 1)]
            if kind != b"C2PA":
                body += chunk
            i += 8 + size + (size & 1)
        return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + bytes(body)
    return data
