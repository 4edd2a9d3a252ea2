"""Truthful provenance for every output: the XMP digital source type and C2PA content credentials.

Every headshot we write carries exactly what this package puts in it, and nothing from the input:

- an XMP packet with ``Iptc4xmpExt:DigitalSourceType`` (the IPTC term chosen from what was done,
  :mod:`.edits`), a one-paragraph description and the creator tool;
- unless turned off, a signed C2PA manifest (:mod:`.credentials`) naming the input as its parent
  and each stage as an action, signed with a local key or the user's own (:mod:`.keys`);
- an sRGB ICC profile (:func:`headshot.imageio.encode`), and no EXIF, GPS, maker notes or comments.

:func:`encode_output` is the one place outputs are made: ``headshot make``, ``headshot team`` and
the web studio all go through it.
"""

from __future__ import annotations

import time

import numpy as np

from ..imageio import encode
from . import keys
from .credentials import (
    MIME,
    Parent,
    Verification,
    instance_id,
    parent_of,
    sign,
    strip,
    thumbnail,
    verify,
    warm,
)
from .edits import (
    IPTC_BASE,
    SOURCE_TYPES,
    Edits,
    Step,
    read_xmp,
    source_type,
    summary,
    without_backdrop,
    xmp_packet,
)
from .keys import Identity

__all__ = [
    "AUTO",
    "IPTC_BASE",
    "MIME",
    "SOURCE_TYPES",
    "Edits",
    "Identity",
    "Parent",
    "Step",
    "Verification",
    "encode_output",
    "instance_id",
    "keys",
    "parent_of",
    "read_xmp",
    "resolve",
    "sign",
    "software",
    "source_type",
    "strip",
    "summary",
    "verify",
    "without_backdrop",
    "xmp_packet",
]

#: ``credentials=AUTO``: sign with the local keys (:func:`keys.ensure`), creating them on first use.
AUTO = "auto"


def resolve(credentials: Identity | str | None) -> Identity | None:
    """Turn a ``credentials`` argument into a signing identity (None: write no C2PA manifest).

    ``"auto"`` loads the local keys, creating them the first time; ``None`` or ``"off"`` turns
    signing off; an :class:`Identity` is used as it is.

    Raises
    ------
    CredentialsError
        The keys cannot be created or loaded.
    ValueError
        Anything else.
    """
    if credentials is None or credentials == "off":
        return None
    if isinstance(credentials, Identity):
        identity = credentials
    elif credentials == AUTO:
        identity = keys.ensure()[0]
    else:
        raise ValueError(f"credentials must be an Identity, 'auto', 'off' or None, got {credentials!r}")
    warm()  # the SDK loads once, here, not inside the first output's encode
    return identity


def software() -> str:
    """Our name and version, as written in XMP and C2PA."""
    from .. import __version__

    return f"Headshot Studio {__version__}"


def encode_output(
    image: np.ndarray,
    *,
    format: str,
    quality: int,
    edits: Edits,
    identity: Identity | None,
    title: str,
    parent: Parent | None,
    alpha: np.ndarray | None = None,
    dpi: tuple[int, int] | None = None,
) -> tuple[bytes, dict[str, object]]:
    """Encode an output with its XMP packet and, when `identity` is given, signed C2PA credentials.

    Returns
    -------
    (bytes, dict)
        The file, and what its provenance says, for the report: ``digital_source_type`` (URI),
        ``c2pa`` (signer and algorithm, or ``None`` when off) and ``seconds`` (the cost of the
        credentials: XMP and signing).
    """
    fmt = "jpg" if format == "jpeg" else format
    t = time.perf_counter()
    packet = xmp_packet(edits, software())
    xmp_s = time.perf_counter() - t
    data = encode(image, format=fmt, quality=quality, alpha=alpha, dpi=dpi, xmp=packet)
    t = time.perf_counter()
    c2pa_info: dict[str, object] | None = None
    if identity is not None:
        data = sign(data, fmt, edits, identity, title=title, parent=parent, thumb=thumbnail(image, alpha))
        c2pa_info = {"signed_by": identity.subject, "issuer": identity.issuer, "algorithm": identity.alg}
    cost = xmp_s + time.perf_counter() - t
    return data, {
        "digital_source_type": IPTC_BASE + source_type(edits),
        "c2pa": c2pa_info,
        "ms": round(cost * 1000, 2),
    }
