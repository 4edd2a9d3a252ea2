"""A contact sheet of one photo under several light rigs: the quickest way to choose a light.

:func:`contact_sheet` renders the subject once per rig (the photo's own light, ``none``, first), cuts
each render to the head and shoulders so the face fills the tile, labels it with the rig's name and
lays the tiles out in a grid. It is a pure function: it returns the sheet as 8-bit sRGB and writes
nothing (the CLI's ``headshot sheet`` saves it as a PNG).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import cv2
import numpy as np

from . import framing
from .errors import PresetError
from .imageio import to_srgb8
from .pipeline import Subject, render
from .presets import Platform, Rig, Style, load_platform, load_rig, load_style, rig_names

__all__ = ["contact_sheet", "resolve_lights", "TILE_FACE_WIDTHS", "TILE_EYE_LINE"]

# A tile shows this many face widths (cheek edge to cheek edge) square: the head, the neck and the
# top of the shoulders, with the face large enough to judge its light.
TILE_FACE_WIDTHS = 2.5
# Height of the eye line in a tile, as a fraction of the tile from the top.
TILE_EYE_LINE = 0.40
# Colour of the grid's unused cells and of the labels' band (sRGB codes).
_EMPTY = (40, 41, 43)
_LABEL_BAND = 0.11  # height of the label band, fraction of the tile


def resolve_lights(lights: Sequence[Rig | str | os.PathLike[str]] | None) -> list[Rig | None]:
    """Light rigs from names, files or :class:`Rig` objects; ``None`` stands for the photo's own light.

    ``"none"`` keeps the photo's light, ``"all"`` expands to every built-in rig, and ``lights=None``
    means ``["all"]``. Duplicates (the same name twice) are dropped, keeping the first.

    Raises
    ------
    PresetError
        An unknown rig name, an unreadable or invalid rig file, or two different rigs of one name.
    """
    items: list[Rig | str | os.PathLike[str]] = list(lights) if lights is not None else ["all"]
    out: list[Rig | None] = []
    seen: dict[str, Rig | None] = {}
    for item in items:
        if isinstance(item, Rig):
            rigs: list[Rig | None] = [item]
        elif str(item) == "none":
            rigs = [None]
        elif str(item) == "all":
            rigs = [load_rig(n) for n in rig_names()]
        else:
            rigs = [load_rig(item)]
        for rig in rigs:
            name = "none" if rig is None else rig.name
            if name in seen:
                if seen[name] != rig:
                    raise PresetError(
                        f"two different light rigs are both named {name!r} ({_source(seen[name])} and "
                        f"{_source(rig)}); give one of them another name"
                    )
                continue
            seen[name] = rig
            out.append(rig)
    return out


def _source(rig: Rig | None) -> str:
    return "the photo's own light" if rig is None else rig.source


def contact_sheet(
    subject: Subject,
    lights: Sequence[Rig | str | os.PathLike[str]] | None,
    *,
    style: Style | str | os.PathLike[str] = "grey",
    platform: Platform | str | os.PathLike[str] = "linkedin",
    tile: int = 360,
    columns: int = 5,
) -> np.ndarray:
    """One photo under several light rigs, side by side.

    Parameters
    ----------
    subject : Subject
        From :func:`headshot.analyse`.
    lights : sequence of Rig, rig names or .toml paths, or None
        The rigs to show (``"all"``: every built-in rig; ``None``: the same). The photo's own light
        (``"none"``) is always shown first, and a rig given twice is shown once.
    style : Style, name or .toml path
        Backdrop and tone of every tile (its own light rig is not used).
    platform : Platform, name or .toml path
        The framing the renders start from (a tile is then cut to the head and shoulders).
    tile : int in [64, 2048]
        Side of each square tile in pixels.
    columns : int >= 1
        Tiles per row (fewer when there are fewer tiles).

    Returns
    -------
    ndarray, shape (rows * tile, min(columns, n) * tile, 3), uint8
        The sheet in sRGB, ``n`` = number of tiles, ``rows = ceil(n / columns)``; tiles are filled
        row by row and unused cells are dark grey.

    Raises
    ------
    PresetError
        An unknown or invalid style, platform or light rig (checked before anything is rendered).
    ValueError
        `tile` or `columns` out of range.
    """
    if not isinstance(tile, (int, np.integer)) or not 64 <= int(tile) <= 2048:
        raise ValueError(f"tile must be an integer between 64 and 2048 pixels, got {tile!r}")
    if not isinstance(columns, (int, np.integer)) or int(columns) < 1:
        raise ValueError(f"columns must be a positive integer, got {columns!r}")
    tile, columns = int(tile), int(columns)
    st = style if isinstance(style, Style) else load_style(style)
    pf = platform if isinstance(platform, Platform) else load_platform(platform)
    rigs = [r for r in resolve_lights(lights) if r is not None]
    entries: list[Rig | None] = [None, *rigs]

    size = _render_size(subject, pf, tile)
    tiles = []
    for rig in entries:
        hs = render(subject, st, pf, size=size, light="none" if rig is None else rig)
        img = _head_and_shoulders(hs.image, hs.crop, subject, tile)
        _label(img, "none" if rig is None else rig.name)
        tiles.append(img)

    n = len(tiles)
    cols = min(columns, n)
    rows = math.ceil(n / cols)
    sheet = np.empty((rows * tile, cols * tile, 3), dtype=np.uint8)
    sheet[:] = _EMPTY
    for i, t in enumerate(tiles):
        r, c = divmod(i, cols)
        sheet[r * tile : (r + 1) * tile, c * tile : (c + 1) * tile] = t
    return sheet


def _render_size(subject: Subject, pf: Platform, tile: int) -> int:
    """The output size at which the head-and-shoulders box comes out about ``tile`` pixels wide."""
    photo = subject.photo
    probe = 1000
    crop = framing.plan(subject.face, (photo.width, photo.height), pf, size=probe,
                        touching=subject.matte.edges, head_top=subject.matte.head_top)
    box = TILE_FACE_WIDTHS * max(subject.face.width, 1.0) * crop.scale
    return int(min(max(round(probe * tile / max(box, 1e-6)), 64), 12000))


def _head_and_shoulders(image: np.ndarray, crop: framing.Crop, subject: Subject, tile: int) -> np.ndarray:
    """The square around the face (eyes at :data:`TILE_EYE_LINE`) resampled to ``tile``, as sRGB uint8."""
    lm = crop.apply(subject.face.landmarks[:, :2])
    fw = max(subject.face.width, 1.0) * crop.scale
    side = TILE_FACE_WIDTHS * fw
    f_out = crop.apply(np.array([subject.face.eye_mid]))[0]
    # Centre horizontally on the face (cheek edges and nose), not only the eyes: a turned head keeps
    # its whole face in the tile.
    cx = float((lm[:, 0].min() + lm[:, 0].max()) / 2)
    x0 = cx - side / 2
    y0 = float(f_out[1]) - TILE_EYE_LINE * side
    k = tile / side
    src = image
    f = (1.0, 1.0)
    if k < 0.75:  # shrinking a lot: area-average first so the tile does not alias
        h, w = image.shape[:2]
        nw, nh = max(1, round(w * k / 0.9)), max(1, round(h * k / 0.9))
        src = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA)
        f = (nw / w, nh / h)
    # Pixel centres at integers: a source pixel x (of the image before the resize) lands on the tile
    # at u = (x - x0) * k - 0.5; the resize maps x to x' = (x + 0.5) * f - 0.5.
    m = np.array([
        [k / f[0], 0.0, k * (0.5 / f[0] - 0.5 - x0) - 0.5],
        [0.0, k / f[1], k * (0.5 / f[1] - 0.5 - y0) - 0.5],
    ])
    out = cv2.warpAffine(src, m, (tile, tile), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return to_srgb8(out)


def _label(img: np.ndarray, text: str) -> None:
    """Write ``text`` in a dark band along the bottom of a tile (in place)."""
    h, w = img.shape[:2]
    band = max(14, round(_LABEL_BAND * h))
    region = img[h - band :]
    region[:] = (region.astype(np.float32) * 0.35 + np.array(_EMPTY, np.float32) * 0.35).astype(np.uint8)
    font = cv2.FONT_HERSHEY_SIMPLEX
    scale = 1.0
    thickness = max(1, round(h / 240))
    (tw, th), base = cv2.getTextSize(text, font, scale, thickness)
    scale = min((band * 0.6) / max(th, 1), (w * 0.9) / max(tw, 1))
    (tw, th), base = cv2.getTextSize(text, font, scale, thickness)
    org = ((w - tw) // 2, h - (band - th) // 2 - base // 2)
    cv2.putText(img, text, org, font, scale, (245, 245, 245), thickness, lineType=cv2.LINE_AA)
