"""The orchestrator: ``analyse(photo) -> Subject`` once, ``render(subject, style, platform) -> Headshot`` many times.

Everything expensive (decoding, face landmarks, matte, measurements) happens in :func:`analyse` and is
kept in the frozen :class:`Subject` (the relighting geometry on the first render that relights);
:func:`render` only warps, lights, tones, retouches and composites at output size, so twenty variants
cost far less than twenty analyses. :func:`make` runs the whole job for a list of
files and writes headshots and a ``report.json`` per photo, carrying on past photos that fail.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Sequence
from typing import TypeVar
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from . import backdrop as backdrop_mod
from . import composite as composite_mod
from . import checks as checks_mod
from . import face as face_mod
from . import colour as colour_mod
from . import framing, geometry as geometry_mod, light as light_mod, matte as matte_mod, retouch as retouch_mod
from . import provenance
from .errors import HeadshotError, OutputError
from .imageio import _SUFFIX_FORMAT, FORMATS, Photo, SourceInfo, load, write_atomic
from .provenance import Edits, Identity, Step
from .provenance.edits import COLOUR, CROPPED, DRAWING, EDITED
from .presets import (DEFAULT_PLATFORMS, DEFAULT_STYLES, Backdrop, Platform, Retouch, Rig, Style, Tone,
                      load_platform, load_retouch, load_rig, load_style)

__all__ = [
    "Subject",
    "Headshot",
    "PhotoResult",
    "Progress",
    "analyse",
    "render",
    "save",
    "encode_headshot",
    "make",
]


_T = TypeVar("_T")


def _version() -> str:
    from . import __version__

    return __version__


@dataclass(frozen=True)
class Subject:
    """Everything known about the person in one photo; computed once, rendered many times.

    Attributes
    ----------
    photo : Photo
        The decoded photo (linear float32).
    face : Face
        Landmarks, pose and box of the (largest) face.
    matte : Matte
        The subject's alpha matte.
    stats : FaceStats
        Photometric measurements of the face.
    findings : tuple of Finding
        Capture checks, most severe first.
    timings : dict of str to float
        Seconds spent in each analysis stage.
    levels : tuple of ndarray
        Half, quarter... copies of the photo that renders resample from (see framing.pyramid).
    geometry : Geometry
        Depth and normals for relighting. Built on first use (the first render with a light rig)
        and kept: most headshots are not relit, and building it is about as long as the matte.
    illumination : Illumination
        The photo's own light on the face, fitted once, with the geometry.
    colour : ColourEstimate or None
        The photo's colour cast, estimated once (see :mod:`headshot.colour`).
    """

    photo: Photo
    face: face_mod.Face
    matte: matte_mod.Matte
    stats: checks_mod.FaceStats
    findings: tuple[checks_mod.Finding, ...]
    timings: dict[str, float] = field(default_factory=dict)
    levels: tuple[np.ndarray, ...] = ()
    colour: colour_mod.ColourEstimate | None = None
    # The photo and matte warped into recent frames, so a second style on the same frame (another
    # backdrop) does not warp the photo again. Not part of the subject's identity.
    _framed: dict[tuple[object, ...], tuple[tuple[object, ...], tuple[np.ndarray, np.ndarray]]] = field(
        default_factory=dict, compare=False, repr=False)
    # The blemishes healed on recent frames (before the tone), for the other styles on the frame.
    _healed: dict[tuple[object, ...], tuple[tuple[object, ...], retouch_mod.Healed]] = field(
        default_factory=dict, compare=False, repr=False)
    # What is built on first use (the geometry and the photo's light). Not an init field, so a
    # dataclasses.replace() copy with other pixels builds its own.
    _lazy: dict[str, object] = field(default_factory=dict, init=False, compare=False, repr=False)

    @property
    def geometry(self) -> geometry_mod.Geometry:
        """Depth and normals for relighting (built on first use, then kept)."""
        return self._relief()[0]

    @property
    def illumination(self) -> light_mod.Illumination:
        """The photo's own light on the face (fitted with the geometry on first use, then kept)."""
        return self._relief()[1]

    def _relief(self) -> tuple[geometry_mod.Geometry, light_mod.Illumination]:
        got = self._lazy.get("relief")
        if got is None:
            t = time.perf_counter()
            geom = geometry_mod.build(self.photo.pixels, self.face, self.matte)
            got = (geom, light_mod.estimate(geom))
            # Two threads rendering the same subject may both build it: the same result, kept once.
            self._lazy.setdefault("relief", got)
            self.timings["geometry"] = time.perf_counter() - t
        return got  # type: ignore[return-value]


@dataclass(frozen=True)
class Headshot:
    """One rendered variant.

    Attributes
    ----------
    image : ndarray, shape (H, W, 3), float32, linear RGB in [0, 1]
    alpha : ndarray, shape (H, W), float32 in [0, 1]
        The subject's matte in the output frame (for transparent outputs and measurements).
    style, platform : Style, Platform
    crop : Crop
        The framing that was applied.
    exposure_gain : float
        Linear exposure gain applied to the subject (``correction.exposure``).
    lighting : dict or None
        The light rig applied and what its meter chose (None: the photo's own light).
    foreground : ndarray, shape (H, W, 3), float32, or None
        The subject's own colours (relit and toned, before the backdrop), for transparent outputs.
    notes : tuple of str
        What a person should know about this output.
    timings : dict of str to float
        Seconds spent in each render stage.
    correction : Correction or None
        White balance, exposure and contrast applied (give it to :func:`render` to apply the same
        look to another photo).
    retouch : dict or None
        The retouching level applied and what it did (spots healed, marks kept, ...).
    source : SourceInfo or None
        The input photo it was made from (for the content credentials' parent ingredient).
    edits : Edits or None
        What was done, stage by stage (the content credentials' actions and the report's ``done``).
    """

    image: np.ndarray
    alpha: np.ndarray
    style: Style
    platform: Platform
    crop: framing.Crop
    exposure_gain: float
    notes: tuple[str, ...]
    timings: dict[str, float] = field(default_factory=dict)
    lighting: dict[str, object] | None = None
    foreground: np.ndarray | None = None
    correction: colour_mod.Correction | None = None
    retouch: dict[str, object] | None = None
    source: SourceInfo | None = None
    edits: Edits | None = None

    @property
    def dpi(self) -> tuple[int, int] | None:
        d = self.platform.dpi
        return (d, d) if d else None


FRAMED_CACHE = 4  # frames kept per subject (each ~16 bytes per output pixel)


def _cached(cache: dict[tuple[object, ...], tuple[tuple[object, ...], _T]], key: tuple[object, ...],
            sources: tuple[object, ...]) -> _T | None:
    """What a subject's render cache keeps under ``key``, if it was made from these very objects.

    Checked by identity: dataclasses.replace() of a subject shares its caches, and a copy with other
    pixels (or another face) must not be served the original's."""
    got = cache.get(key)
    if got is None or len(got[0]) != len(sources) or not all(a is b for a, b in zip(got[0], sources)):
        return None
    return got[1]


def _keep(cache: dict[tuple[object, ...], tuple[tuple[object, ...], _T]], key: tuple[object, ...],
          sources: tuple[object, ...], value: _T) -> None:
    """Keep ``value`` in a render cache, dropping the oldest past :data:`FRAMED_CACHE` entries."""
    while len(cache) >= FRAMED_CACHE:
        cache.pop(next(iter(cache)), None)
    cache[key] = (sources, value)


def _skin_pixels(fg: np.ndarray, alpha: np.ndarray, out_face: face_mod.Face, *,
                 min_pixels: int = 50) -> np.ndarray | None:
    """The face's skin pixels (eyes, brows and lips excluded) in the output frame, (N, 3), or None
    when fewer than `min_pixels` of them are in the frame."""
    skin = (face_mod.region_mask(out_face, "skin", alpha.shape) > 0) & (alpha > 0.9)
    if np.count_nonzero(skin) < max(1, min_pixels):
        return None
    return fg[skin]


def analyse(photo: Photo | str | os.PathLike[str] | bytes, *, several: str = "largest") -> Subject:
    """Analyse a photo once: face, matte, measurements and capture checks.

    Parameters
    ----------
    photo : Photo, path or bytes
        A decoded :class:`Photo`, or anything :func:`headshot.load` accepts.
    several : {"largest", "error"}
        Several faces: use the largest (and report it) or raise :class:`SeveralFacesError`.

    Returns
    -------
    Subject

    Raises
    ------
    InputError
        The file cannot be used (see :func:`headshot.load`).
    NoFaceError, SeveralFacesError
    """
    timings: dict[str, float] = {}
    t = time.perf_counter()
    if not isinstance(photo, Photo):
        photo = load(photo)
        timings["decode"] = time.perf_counter() - t
        t = time.perf_counter()

    face = face_mod.detect(photo.pixels, several=several)
    timings["face"] = time.perf_counter() - t
    t = time.perf_counter()

    work, ws = face_mod.resize_max(photo.pixels, matte_mod.WORK_SIDE)
    file_alpha = None
    if photo.alpha is not None:
        file_alpha = photo.alpha if ws == 1.0 else cv2.resize(
            photo.alpha, (work.shape[1], work.shape[0]), interpolation=cv2.INTER_AREA
        )
    matte = matte_mod.compute(work, face, photo_scale=ws, file_alpha=file_alpha)
    timings["matte"] = time.perf_counter() - t
    t = time.perf_counter()

    # The landmarks that frame the headshot are taken with the face on a plain backdrop, as it
    # will be shown (see face.relocate).
    face = face_mod.relocate(photo.pixels, face, matte.alpha, matte.scale)
    timings["face"] += time.perf_counter() - t
    t = time.perf_counter()

    stats = checks_mod.face_stats(photo.pixels, face)
    findings = tuple(checks_mod.run(face, stats, photo_size=(photo.width, photo.height), touching=matte.edges))
    timings["checks"] = time.perf_counter() - t
    t = time.perf_counter()

    levels = framing.pyramid(photo.pixels)
    timings["pyramid"] = time.perf_counter() - t
    t = time.perf_counter()

    cast = colour_mod.estimate(photo.pixels, face, matte.alpha)
    timings["colour"] = time.perf_counter() - t
    return Subject(photo=photo, face=face, matte=matte, stats=stats, findings=findings, timings=timings,
                   levels=levels, colour=cast)


def _as_style(style: Style | str | os.PathLike[str]) -> Style:
    return style if isinstance(style, Style) else load_style(style)


def _as_platform(platform: Platform | str | os.PathLike[str]) -> Platform:
    return platform if isinstance(platform, Platform) else load_platform(platform)


def _as_rig(light: Rig | str | os.PathLike[str]) -> Rig | None:
    if isinstance(light, Rig):
        return light
    return None if str(light) == "none" else load_rig(light)


def render(
    subject: Subject,
    style: Style | str | os.PathLike[str] = "corporate",
    platform: Platform | str | os.PathLike[str] = "linkedin",
    *,
    size: int | None = None,
    light: Rig | str | os.PathLike[str] | None = None,
    strength: float | None = None,
    retouch: Retouch | str | os.PathLike[str] | None = None,
    correction: colour_mod.Correction | None = None,
    team: bool = False,
) -> Headshot:
    """Render one headshot variant from an analysed subject.

    Parameters
    ----------
    subject : Subject
        From :func:`analyse`.
    style : Style, name or path to a .toml file
    platform : Platform, name or path to a .toml file
    size : int, optional
        Longest output side in pixels (default: the platform's, see :mod:`headshot.framing`).
    light : Rig, name, path to a .toml file or "none", optional
        The light rig (default: the style's).
    strength : float in [0, 1], optional
        How much of the relighting to apply (default: the style's for the style's own rig, 1 for a
        rig given as ``light``).
    retouch : Retouch, level name (``natural``, ``none``, ...) or path to a .toml file, optional
        The retouching (default: the style's; a platform that requires a level, such as
        ``passport``, overrides both).
    correction : Correction, optional
        White balance, exposure and contrast to apply instead of the ones estimated for this photo
        (a team run gives everybody the same look; see :attr:`Headshot.correction`).
    team : bool
        Render as one member of a team (``headshot team``): the output has the platform's full size
        whatever the photo's resolution, the head is never enlarged per person (a cut-off edge
        fades into the backdrop instead; an ID platform may still shrink it to fit the hair), the
        face's skin is brought to the style's team
        lightness (``[team]``, measured after the light rig) and an environment backdrop is matched
        to that level rather than to the person, so every member shares eye line, head size,
        exposure and backdrop.

    Returns
    -------
    Headshot

    Raises
    ------
    PresetError
        Unknown or invalid style, platform or light rig.
    """
    st = _as_style(style)
    pf = _as_platform(platform)
    rig = st.rig if light is None else _as_rig(light)
    # The style's strength goes with the style's rig; a rig asked for by name is applied fully.
    amount = float(strength) if strength is not None else (st.strength if light is None else 1.0)
    if not 0.0 <= amount <= 1.0:
        raise ValueError(f"strength must be between 0 and 1, got {strength}")
    if size is not None and not (16 <= int(size) <= 12000):
        raise ValueError(f"size must be between 16 and 12000 pixels, got {size}")
    if team:
        # One frame for everybody: the platform's own size and no per-person zoom. (An ID platform's
        # hair-fit shrink stays: its rules want the whole head in the frame more than a team look.)
        pf = replace(pf, max_zoom=1.0)
        size = size if size is not None else max(pf.width, pf.height)
    timings: dict[str, float] = {}
    t = time.perf_counter()
    photo = subject.photo
    crop = framing.plan(
        subject.face, (photo.width, photo.height), pf, size=size,
        touching=subject.matte.edges, head_top=subject.matte.head_top,
    )
    notes = list(crop.notes)
    key = (crop.width, crop.height, crop.matrix.tobytes())
    sources = (photo.pixels, subject.matte.alpha, subject.matte.decontaminate)
    framed = _cached(subject._framed, key, sources)
    if framed is None:
        fg = framing.warp_image(photo.pixels, crop, levels=subject.levels)
        alpha = framing.warp_alpha(subject.matte.alpha, subject.matte.scale, crop)
        if subject.matte.decontaminate is not None:
            fg += framing.warp_alpha(subject.matte.decontaminate, subject.matte.scale, crop, top=False)
            np.clip(fg, 0.0, 1.0, out=fg)
        fg.flags.writeable = False
        alpha.flags.writeable = False
        _keep(subject._framed, key, sources, (fg, alpha))
    else:
        fg, alpha = framed
    fg = fg.copy()
    timings["frame"] = time.perf_counter() - t
    t = time.perf_counter()

    lighting = None
    shading = None
    if rig is not None and amount > 0:
        geom = subject.geometry
        rotation = crop.matrix[:, :2] / crop.scale
        shading = light_mod.shade(geom, subject.illumination, rig, rotation=rotation, strength=amount)
        m = geom.to_output(crop.matrix)
        dsize = (crop.width, crop.height)
        fg *= cv2.warpAffine(shading.ratio, m, dsize, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        if rig.sheen > 0:
            fg += cv2.warpAffine(shading.sheen, m, dsize, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        np.clip(fg, 0.0, 1.0, out=fg)
        lighting = {
            "rig": rig.name,
            "strength": round(amount, 3),
            "key_side": "right" if shading.side > 0 else "left",
            "fill": round(shading.fill, 3),
            "metered_ratio_stops": round(shading.metered, 2),
        }
    timings["light"] = time.perf_counter() - t
    t = time.perf_counter()

    out_face = replace(subject.face, landmarks=np.column_stack(
        [crop.apply(subject.face.landmarks[:, :2]), subject.face.landmarks[:, 2] * crop.scale]))
    settings = load_retouch(pf.retouch) if pf.retouch is not None else (
        st.retouch if retouch is None else load_retouch(retouch))
    # Blemishes are healed before the style's tone, under the photo's own neutral white balance and
    # exposure (the healing is relative, so the style's exposure would not change it; see
    # retouch.heal) and, on an unlit frame, once per frame: the other styles on the same platform
    # reuse it (on a 1024 px headshot it is most of the retouch's time).
    neutral = colour_mod.correction(subject.colour, subject.stats.luminance, Tone())
    gains = np.asarray(neutral.gains, np.float32) * np.float32(neutral.exposure)
    # Keyed like the frame, plus what the healing reads besides the pixels (the face; the colour
    # estimate through the gains). Not kept for a relit frame, nor when there is nothing to heal.
    heals = shading is None and (settings.blemishes > 0 or settings.marks)
    heal_key = key + ("heal", settings.blemishes, settings.marks, tuple(float(g) for g in gains))
    heal_sources = sources + (subject.face.landmarks,)
    healed = _cached(subject._healed, heal_key, heal_sources) if heals else None
    if healed is None:
        healed = retouch_mod.heal(fg, alpha, out_face, settings, gains=gains)
        if heals:
            _keep(subject._healed, heal_key, heal_sources, healed)
    fg = healed.image
    timings["heal"] = time.perf_counter() - t
    t = time.perf_counter()

    if correction is not None:
        corr = correction
    elif team:
        skin = _skin_pixels(fg, alpha, out_face)
        corr, limited = colour_mod.team_correction(
            subject.colour, skin if skin is not None else subject.stats.luminance, st.tone, st.team)
        if limited:
            notes.append(f"the face needed more than the team's {st.team.max_exposure_ev:g} EV of exposure "
                         f"correction; it was corrected {np.log2(corr.exposure):+.2f} EV and will look "
                         f"{'darker' if corr.exposure > 1 else 'brighter'} than the others")
    else:
        corr = colour_mod.correction(subject.colour, subject.stats.luminance, st.tone)
    fg = colour_mod.apply(fg, corr)
    timings["tone"] = time.perf_counter() - t
    t = time.perf_counter()

    touched = retouch_mod.apply(fg, alpha, out_face, settings, pixel_scale=crop.scale, healed=healed)
    fg, alpha = touched.image, touched.alpha
    if pf.retouch is not None and settings is not st.retouch and st.retouch.active:
        notes.append(f"{pf.name} photos are not retouched: retouching level '{settings.name}' was used")
    if shading is not None and rig is not None and lighting is not None:  # (narrows the types)
        _, clocks = light_mod.paint_catchlights(fg, crop.apply(subject.face.landmarks[:, :2]), rig, shading.side,
                                                key=shading.key_light, strength=amount)
        lighting["catchlight_clock"] = [round(c, 2) for c in clocks]
    timings["retouch"] = time.perf_counter() - t
    t = time.perf_counter()

    bd = st.backdrop
    if pf.plain_backdrop is not None:
        bd = Backdrop(kind="solid", colour=pf.plain_backdrop, grain=0.0)
        notes.append(f"{pf.name} requires a plain light backdrop: the style's backdrop was replaced")
    key_rgb = None
    if bd.kind == "image":
        # An environment is matched to the subject's lit face (its mean colour in the output); in a
        # team, to the team's face level, so that everybody stands in the same room.
        if team:
            y = colour_mod.lightness_to_luminance(st.team.face_lightness)
            key_rgb = (y, y, y)
        elif (skin_now := _skin_pixels(fg, alpha, out_face, min_pixels=1)) is not None:
            m = skin_now.mean(axis=0)
            key_rgb = (float(m[0]), float(m[1]), float(m[2]))
    bg = backdrop_mod.render(bd, crop.width, crop.height, key=key_rgb)
    if rig is not None and rig.background_ev != 0 and pf.plain_backdrop is None:
        bg = np.clip(bg * np.float32(2.0 ** (rig.background_ev * amount)), 0.0, 1.0)
    # Light wrap and the paper shadow belong to a studio backdrop, not to an ID photo's plain one.
    finish = st.finish if pf.plain_backdrop is None else composite_mod.Finish()
    side = 0.0 if shading is None else float(np.sign(shading.side))
    image = composite_mod.composite(fg, alpha, bg, finish, key_side=side)
    timings["composite"] = time.perf_counter() - t
    hs = Headshot(
        image=image.astype(np.float32, copy=False),
        alpha=alpha,
        foreground=fg,
        style=st,
        platform=pf,
        crop=crop,
        exposure_gain=corr.exposure,
        notes=tuple(notes) + (shading.notes if shading is not None else ()),
        timings=timings,
        lighting=lighting,
        correction=corr,
        retouch=touched.summary,
        source=photo.source,
    )
    return replace(hs, edits=_edits(subject, hs, rig, bd))


def encode_headshot(headshot: Headshot, *, format: str = "jpg", quality: int = 92, transparent: bool = False,
                    credentials: Identity | str | None = provenance.AUTO,
                    title: str | None = None) -> tuple[bytes, dict[str, object]]:
    """Encode a headshot as a file in memory, with its provenance (see :mod:`headshot.provenance`).

    The file carries an sRGB profile, the XMP digital source type and description and, unless
    `credentials` is None, signed C2PA content credentials; nothing from the input photo.

    Parameters
    ----------
    headshot : Headshot
    format : {"jpg", "jpeg", "png", "webp"}
    quality : int in [1, 100]
    transparent : bool
        The subject without its backdrop, with its alpha (PNG or WebP only).
    credentials : Identity, "auto" or None
        Who signs the C2PA manifest: ``"auto"`` (default) the local keys, created on first use
        (:func:`headshot.provenance.keys.ensure`); None writes no manifest (the XMP is always written).
    title : str, optional
        The output's file name, for the manifest (default ``headshot.<format>``).

    Returns
    -------
    (bytes, dict)
        The file, and its provenance for the report (see :func:`headshot.provenance.encode_output`).

    Raises
    ------
    ValueError
        ``transparent`` with JPEG, or a bad format or quality.
    CredentialsError
        The signing key or certificate cannot be used.
    """
    fmt = (format or "jpg").lower().lstrip(".")
    fmt = "jpg" if fmt == "jpeg" else fmt
    identity = provenance.resolve(credentials)
    edits = headshot.edits if headshot.edits is not None else Edits(steps=())
    image, alpha = headshot.image, None
    if transparent:
        if fmt == "jpg":
            raise ValueError("a transparent headshot needs PNG or WebP (JPEG has no alpha channel); use --format png")
        fg = headshot.foreground if headshot.foreground is not None else headshot.image
        image, alpha = composite_mod.transparent(fg, headshot.alpha)
        edits = provenance.without_backdrop(edits)
    parent = provenance.parent_of(headshot.source) if headshot.source is not None else None
    return provenance.encode_output(image, format=fmt, quality=quality, alpha=alpha, dpi=headshot.dpi, edits=edits,
                                    identity=identity, title=title or f"headshot.{fmt}", parent=parent)


def save(headshot: Headshot, path: str | os.PathLike[str], *, format: str | None = None, quality: int = 92,
         transparent: bool = False, credentials: Identity | str | None = provenance.AUTO) -> Path:
    """Write a headshot (sRGB, embedded profile, no metadata from the input; platform dpi if any),
    atomically, with its provenance: XMP digital source type and, unless `credentials` is None,
    signed C2PA content credentials (see :func:`encode_headshot`).

    With ``transparent=True`` the subject is written without its backdrop, with its alpha (PNG or
    WebP only): the colours are the subject's own (decontaminated, relit, toned), straight alpha.

    Raises
    ------
    ValueError
        ``transparent`` with a format that has no alpha channel (JPEG), or no format and an unknown suffix.
    OutputError
        The file cannot be written.
    CredentialsError
        The signing key or certificate cannot be used.
    """
    target = Path(path)
    fmt = format if format is not None else _SUFFIX_FORMAT.get(target.suffix.lower())
    if fmt is None:
        raise ValueError(f"path must end in .jpg, .jpeg, .png or .webp when format is not given, got {str(target)!r}")
    data, _ = encode_headshot(headshot, format=fmt, quality=quality, transparent=transparent,
                              credentials=credentials, title=target.name)
    return write_atomic(target, data)


@dataclass(frozen=True)
class Progress:
    """A progress event from :func:`make`: ``done`` of ``total`` steps, and what is being done."""

    done: int
    total: int
    photo: str
    step: str


@dataclass(frozen=True)
class PhotoResult:
    """The outcome for one input photo of :func:`make`.

    Attributes
    ----------
    source : str
        The path given.
    ok : bool
        All its headshots were written.
    error : str or None
        One-line reason when not ok.
    outputs : tuple of Path
    report : Path or None
        Its ``report.json``.
    findings : tuple of Finding
    notes : tuple of str
        Notes of all outputs, deduplicated.
    """

    source: str
    ok: bool
    error: str | None
    outputs: tuple[Path, ...] = ()
    report: Path | None = None
    findings: tuple[checks_mod.Finding, ...] = ()
    notes: tuple[str, ...] = ()


def _edits(subject: Subject, hs: Headshot, rig: Rig | None, backdrop: Backdrop) -> Edits:
    """What render did, stage by stage: the report's ``done`` list and the C2PA actions."""
    steps: list[Step] = []
    if pf_plain := hs.platform.plain_backdrop:
        placed = "placed on a plain backdrop #" + "".join(f"{round(c * 255):02x}" for c in pf_plain)
    elif backdrop.kind == "image":
        placed = f"placed on the '{hs.style.name}' style's own background image"
    else:
        placed = f"placed on the '{hs.style.name}' studio backdrop ({hs.style.backdrop.kind})"
    steps.append(Step(EDITED, "background replaced", f"subject separated from its background ({subject.matte.method})"))
    steps.append(Step(EDITED, "background replaced", placed))
    if abs(hs.crop.rotation) >= 0.05:
        steps.append(Step(CROPPED, "cropped", f"rotated {hs.crop.rotation:+.1f}° to level the eyes"))
    steps.append(Step(CROPPED, "cropped", f"framed for {hs.platform.name} ({hs.crop.width}x{hs.crop.height}, "
                                       f"scale {hs.crop.scale:.2f})"))
    lit = hs.lighting
    if lit:
        front = rig is not None and abs(rig.key.azimuth) < 1.0
        where = "in front" if front else str(lit.get("key_side", "?"))
        stops = lit.get("metered_ratio_stops")
        ratio = f", {2.0 ** float(stops):.1f}:1" if isinstance(stops, (int, float)) else ""
        amount = lit.get("strength", 1.0)
        part = f" at {float(amount):.0%} strength" if isinstance(amount, (int, float)) and amount < 1 else ""
        steps.append(Step(EDITED, "relit", f"relit with the '{lit.get('rig', '?')}' light rig (key {where}{ratio}){part}"))
        clocks = lit.get("catchlight_clock")
        if isinstance(clocks, list) and clocks:  # the same position in both eyes by construction
            h = round(float(clocks[0])) % 12 or 12
            steps.append(Step(DRAWING, "catchlights", f"catchlights painted at {h} o'clock"))
    if hs.correction is not None:
        g = np.asarray(hs.correction.gains)
        if float(np.max(np.abs(np.log(g)))) > 0.01:
            steps.append(Step(COLOUR, "colour corrected",
                              "colour cast removed (white balance gains R {:.2f}, G {:.2f}, B {:.2f})".format(*g)))
        if hs.correction.contrast:
            steps.append(Step(COLOUR, "colour corrected", f"contrast curve {hs.correction.contrast:+.2f}"))
    if abs(hs.exposure_gain - 1.0) > 1e-3:
        steps.append(Step(COLOUR, "colour corrected", f"exposure {np.log2(hs.exposure_gain):+.2f} EV"))
    rt = hs.retouch or {}
    settings = rt.get("settings")
    if isinstance(settings, dict) and any(settings.get(k) for k in ("skin", "blemishes", "shine", "under_eye", "eyes",
                                                                     "teeth", "stray_hairs", "marks")):
        what = [f"'{settings.get('level')}' retouch"]
        if rt.get("spots_healed"):
            what.append(f"{rt['spots_healed']} temporary spot(s) healed")
        if rt.get("marks_kept"):
            what.append(f"{rt['marks_kept']} mark(s) kept")
        steps.append(Step(EDITED, "retouched", ", ".join(what) + " (texture kept)"))
    return Edits(steps=tuple(steps), backdrop="image" if backdrop.kind == "image" else "generated")


def _what_was_done(hs: Headshot, transparent: bool = False) -> list[str]:
    """The report's ``done`` list: every step of :attr:`Headshot.edits`, in words."""
    if hs.edits is None:
        return []
    edits = provenance.without_backdrop(hs.edits) if transparent else hs.edits
    return [s.description for s in edits.steps]


# Profile names a report may quote: the standard colour spaces. Any other embedded profile's name is
# free text written by the camera, phone or editor (it can name the device), so it is not copied.
_KNOWN_PROFILES = re.compile(r"'((?:s|Display |Adobe |ProPhoto |Generic |Apple |Wide Gamut |ITU-R |)"
                             r"(?:RGB|P3|sRGB|Gray|Grey|BT\.?2020|BT\.?709|Rec\.? ?2020|Rec\.? ?709)"
                             r"[A-Za-z0-9 .()_-]{0,24})'")


def _colour_words(colour: str) -> str:
    """``SourceInfo.colour`` for the report, with a non-standard profile's own name left out."""
    if "'" not in colour:
        return colour
    return re.sub(r"'[^']*'", lambda m: m.group(0) if _KNOWN_PROFILES.fullmatch(m.group(0))
                  else "an embedded profile", colour)


def _report(subject: Subject, entries: list[dict[str, object]]) -> dict[str, object]:
    src = subject.photo.source
    f = subject.face
    return {
        "software": f"Headshot Studio {_version()}",
        "input": {
            "name": src.name,
            "format": src.format,
            "size": [src.width, src.height],
            "file_bytes": src.file_bytes,
            "bit_depth": src.bit_depth,
            "mode": src.mode,
            "orientation_applied": src.orientation,
            "colour": _colour_words(src.colour),
            "notes": list(src.notes),
        },
        "face": {
            "box": f.box.as_list(),
            "width_px": round(f.width, 1),
            "pose_deg": {"yaw": round(f.pose.yaw, 1), "pitch": round(f.pose.pitch, 1), "roll": round(f.pose.roll, 1)},
            "faces_found": f.faces_found,
        },
        "findings": [x.as_dict() for x in subject.findings],
        "matte": {"method": subject.matte.method, "subject_touches_photo_edges": list(subject.matte.edges)},
        "colour_cast": None if subject.colour is None else {
            "log_r_g": round(subject.colour.cast[0], 4), "log_b_g": round(subject.colour.cast[1], 4),
            "evidence": {k: {kk: round(vv, 4) for kk, vv in v.items()} for k, v in subject.colour.evidence.items()},
        },
        "outputs": entries,
        "timings_ms": {k: round(v * 1000, 1) for k, v in subject.timings.items()},
    }


def output_entry(subject: Subject, hs: Headshot, path: Path, *, light: str | None = None, rig: Rig | None = None,
                 encode_s: float | None = None, provenance: dict[str, object] | None = None,
                 transparent: bool = False) -> dict[str, object]:
    """The ``report.json`` entry of one written headshot (see :func:`write_report`).

    `provenance` is what :func:`encode_headshot` returned about the file's credentials.

    `light` is the light's name as used in the file name (None: the style's own rig, `rig`).
    """
    timings = {k: round(v * 1000, 1) for k, v in hs.timings.items()}
    if encode_s is not None:
        timings["encode"] = round(encode_s * 1000, 1)
    return {
        "file": path.name,
        "style": hs.style.name,
        "light": light or (rig.name if rig is not None else "none"),
        "platform": hs.platform.name,
        "size": [hs.crop.width, hs.crop.height],
        "crop": hs.crop.as_dict(),
        "face_upscale": round(hs.crop.scale, 3),
        "exposure_gain": round(hs.exposure_gain, 4),
        "correction": hs.correction.as_dict() if hs.correction is not None else None,
        "retouch": hs.retouch,
        "lighting": hs.lighting,
        "done": _what_was_done(hs, transparent),
        "credentials": _credentials_entry(provenance),
        "notes": list(hs.notes),
        "timings_ms": timings,
    }


def _credentials_entry(info: dict[str, object] | None) -> dict[str, object] | None:
    """The report's account of an output's provenance: what the file says about itself."""
    if info is None:
        return None
    c2pa = info.get("c2pa")
    return {
        "digital_source_type": info.get("digital_source_type"),
        "c2pa": c2pa if c2pa is not None else "off: no content credentials were written (--no-credentials)",
        "ms": info.get("ms"),
    }


def write_report(subject: Subject, entries: list[dict[str, object]], path: Path) -> Path:
    """Write a photo's ``report.json`` (atomically: a reader never sees half a file)."""
    try:
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(_report(subject, entries), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as e:
        raise OutputError(f"cannot write {path}: {e.strerror or e}") from None
    return path


def _unique_dir(out_dir: Path, stem: str, taken: set[str]) -> Path:
    name, i = stem, 2
    while name in taken:
        name, i = f"{stem}-{i}", i + 1
    taken.add(name)
    return out_dir / name


def _make_lights(lights: Sequence[Rig | str | os.PathLike[str]] | None) -> list[tuple[str, Rig | str]] | None:
    """(name, rig or "none") for each distinct light of :func:`make`; None when `lights` is None."""
    from .errors import PresetError

    if lights is None:
        return None
    if isinstance(lights, (str, os.PathLike)):
        raise ValueError(f"lights must be a sequence of rig names or files, not one string: use [{str(lights)!r}]")
    out: list[tuple[str, Rig | str]] = []
    seen: dict[str, Rig | str] = {}
    for item in lights:
        if isinstance(item, Rig):
            rig: Rig | str = item
        elif str(item) == "none":
            rig = "none"
        else:
            rig = load_rig(item)
        name = rig if isinstance(rig, str) else rig.name
        if name in seen:
            if seen[name] != rig:
                src = [r.source if isinstance(r, Rig) else "the photo's own light" for r in (seen[name], rig)]
                raise PresetError(f"two different light rigs are both named {name!r} ({src[0]} and {src[1]}); "
                                  "give one of them another name")
            continue
        seen[name] = rig
        out.append((name, rig))
    if not out:
        raise ValueError("lights is empty: give at least one light rig, or None for each style's own")
    return out


def make(
    photos: Sequence[str | os.PathLike[str]],
    *,
    styles: Sequence[Style | str | os.PathLike[str]] | None = None,
    platforms: Sequence[Platform | str | os.PathLike[str]] | None = None,
    out_dir: str | os.PathLike[str] = "headshots",
    format: str = "jpg",
    size: int | None = None,
    quality: int = 92,
    on_progress: Callable[[Progress], None] | None = None,
    lights: Sequence[Rig | str | os.PathLike[str]] | None = None,
    transparent: bool = False,
    retouch: Retouch | str | os.PathLike[str] | None = None,
    credentials: Identity | str | None = provenance.AUTO,
) -> list[PhotoResult]:
    """Make headshots of several photos: one analysis per photo, one output per style x platform
    (x light rig, when `lights` is given).

    Outputs go to ``out_dir/<photo stem>/<stem>_<style>_<platform>.<format>`` (with `lights`:
    ``<stem>_<style>_<light>_<platform>.<format>``), with a ``report.json`` beside them. A photo
    that fails (unreadable, no face) is reported in its :class:`PhotoResult` and the others still
    complete.

    Parameters
    ----------
    photos : sequence of paths
    styles : sequence of Style, names or .toml paths, optional
        Default: :data:`headshot.presets.DEFAULT_STYLES`.
    platforms : sequence of Platform, names or .toml paths, optional
        Default: ``("linkedin",)``.
    out_dir : path
        Created if missing.
    format : {"jpg", "png", "webp"}
    size : int, optional
        Longest output side in pixels.
    quality : int in [1, 100]
        JPEG/WebP quality.
    on_progress : callable, optional
        Called with a :class:`Progress` before each step.
    lights : sequence of Rig, rig names, .toml paths or "none", optional
        Light rigs to render each style with (``"none"`` keeps the photo's own light). Default: each
        style's own rig, and the light is not part of the file names.
    transparent : bool
        Write the subject without a backdrop, with its alpha (``format`` must be png or webp).
    retouch : Retouch, level name or .toml path, optional
        The retouching for every output (default: each style's; see :func:`render`).
    credentials : Identity, "auto" or None
        Who signs every output's C2PA content credentials: ``"auto"`` (default) the local keys,
        created on first use; None writes none (each output still carries its XMP digital source
        type). See :mod:`headshot.provenance`.

    Returns
    -------
    list of PhotoResult, in the order of `photos`

    Raises
    ------
    PresetError
        A style, platform or light rig is unknown or invalid (checked before any photo is processed).
    OutputError
        `out_dir` cannot be created.
    CredentialsError
        The signing key or certificate cannot be used (checked before any photo is processed).
    ValueError
        `format`, `size` or `quality` out of range, or `lights` empty or a single string.
    """
    fmt = "jpg" if format == "jpeg" else format
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    if not 1 <= quality <= 100:
        raise ValueError(f"quality must be between 1 and 100, got {quality}")
    if transparent and fmt == "jpg":
        raise ValueError("a transparent headshot needs PNG or WebP (JPEG has no alpha channel); use --format png")
    if size is not None and not 16 <= size <= 12000:
        raise ValueError(f"size must be between 16 and 12000 pixels, got {size}")
    sts = [_as_style(s) for s in (styles or DEFAULT_STYLES)]
    pfs = [_as_platform(p) for p in (platforms or DEFAULT_PLATFORMS)]
    rigs = _make_lights(lights)
    retouch_settings = None if retouch is None else load_retouch(retouch)  # (a bad name fails before any work)
    identity = provenance.resolve(credentials)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"cannot create the output folder {out}: {e.strerror or e}; choose another --out") from None

    # (style, platform, light name for the file name or None, what to pass to render as light=).
    variants: list[tuple[Style, Platform, str | None, Rig | str | None]] = (
        [(s, p, None, None) for s in sts for p in pfs] if rigs is None
        else [(s, p, n, r) for s in sts for n, r in rigs for p in pfs]
    )
    total = len(photos) * (len(variants) + 1)
    done = 0
    taken: set[str] = set()
    results: list[PhotoResult] = []

    def tick(photo: str, step: str) -> None:
        if on_progress is not None:
            on_progress(Progress(done=done, total=total, photo=photo, step=step))

    for src in photos:
        name = Path(src).name
        tick(name, "analysing")
        try:
            subject = analyse(src)
        except HeadshotError as e:
            results.append(PhotoResult(source=str(src), ok=False, error=str(e)))
            done += len(variants) + 1
            continue
        done += 1
        folder = _unique_dir(out, Path(src).stem, taken)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise OutputError(f"cannot create {folder}: {e.strerror or e}; choose another --out") from None
        entries: list[dict[str, object]] = []
        outputs: list[Path] = []
        notes: list[str] = []
        error: str | None = None
        for st, pf, lname, lt in variants:
            tick(name, f"{st.name} · {lname} · {pf.name}" if lname else f"{st.name} · {pf.name}")
            stem = f"{folder.name}_{st.name}_{lname}_{pf.name}" if lname else f"{folder.name}_{st.name}_{pf.name}"
            try:
                hs = render(subject, st, pf, size=size, light=lt, retouch=retouch_settings)
                t = time.perf_counter()
                path = folder / f"{stem}.{fmt}"
                data, prov = encode_headshot(hs, format=fmt, quality=quality, transparent=transparent,
                                             credentials=identity, title=path.name)
                write_atomic(path, data)
                enc = time.perf_counter() - t
            except HeadshotError as e:
                error = error or str(e)
                done += 1
                continue
            rig = lt if isinstance(lt, Rig) else (st.rig if lt is None else None)
            outputs.append(path)
            notes.extend(n for n in hs.notes if n not in notes)
            entries.append(output_entry(subject, hs, path, light=lname, rig=rig, encode_s=enc, provenance=prov,
                                        transparent=transparent))
            done += 1
        report_path = write_report(subject, entries, folder / "report.json")
        results.append(PhotoResult(
            source=str(src),
            ok=error is None,
            error=error,
            outputs=tuple(outputs),
            report=report_path,
            findings=subject.findings,
            notes=tuple(notes),
        ))
    tick("", "done")
    return results

