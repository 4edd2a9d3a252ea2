"""One person's work in a team run, as a pure function a worker process (or a Ray task) runs.

:func:`run_person` takes a :class:`PersonTask` (the photos' bytes and the team's look) and returns a
:class:`PersonOutcome` with every file's bytes; it writes nothing. Only the coordinating process
writes files and the ledger, so a worker that dies, or a task that runs twice, can never leave a
half-written or duplicated output behind.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from .. import checks as checks_mod
from .. import face as face_mod
from .. import provenance
from ..errors import HeadshotError
from ..framing import MAX_SILENT_UPSCALE
from ..imageio import Photo, encode, load
from ..pipeline import Headshot, Subject, _report, analyse, encode_headshot, output_entry, render
from ..presets import Platform, Style
from ..provenance import Edits, Identity, Parent
from .roster import slugify

__all__ = ["PersonTask", "PersonOutcome", "OutputFile", "run_person", "measure", "choose", "sign_file", "signer_info",
           "THUMB_SIDE"]

THUMB_SIDE = 320
CORNER = 0.10  # side of the top-corner patches where the backdrop's colour is measured (fraction of the frame)
MAX_FACE_WIDTH_SCORE = 600.0  # px: a larger face is no better for choosing between photos


@dataclass(frozen=True)
class PersonTask:
    """What a worker needs to render one person.

    Attributes
    ----------
    person, slug : str
        The person's name and file-system name.
    photos : tuple of (str, bytes)
        Each candidate photo's file name and content.
    style : Style
    platforms : tuple of Platform
    size : int or None
        Longest side of every output (default: each platform's).
    format : {"jpg", "png", "webp"}
    quality : int
    attempt : int
        1 for the first try (the ledger counts them).
    signer : dict or None
        Who will sign the headshots' content credentials (:func:`signer_info`), for the report;
        None: no credentials. The coordinator signs (:func:`sign_file`): the key never reaches a worker.
    """

    person: str
    slug: str
    photos: tuple[tuple[str, bytes], ...]
    style: Style
    platforms: tuple[Platform, ...]
    size: int | None = None
    format: str = "jpg"
    quality: int = 92
    attempt: int = 1
    signer: dict[str, object] | None = None


@dataclass(frozen=True)
class OutputFile:
    """A file of the person's folder: its name there and its bytes.

    A headshot also carries what its content credentials will say (``edits``, ``parent``) and
    their thumbnail, for the coordinator to sign it (:func:`sign_file`).
    """

    name: str
    data: bytes
    edits: Edits | None = None
    parent: Parent | None = None
    thumb: bytes | None = None


def signer_info(identity: Identity) -> dict[str, object]:
    """What the report says about who signs (never the key)."""
    return {"signed_by": identity.subject, "issuer": identity.issuer, "algorithm": identity.alg}


def sign_file(f: OutputFile, identity: Identity) -> OutputFile:
    """The file with its signed C2PA manifest embedded (files without ``edits`` are returned as they are)."""
    if f.edits is None:
        return f
    fmt = f.name.rsplit(".", 1)[-1].lower()
    data = provenance.sign(f.data, fmt, f.edits, identity, title=f.name, parent=f.parent, thumb=f.thumb)
    return replace(f, data=data, thumb=None)


@dataclass(frozen=True)
class PersonOutcome:
    """What came of one person.

    Attributes
    ----------
    person : str
    ok : bool
        Every output was rendered.
    error : str or None
        Why not, in one sentence a person can act on.
    chosen : str or None
        The photo used.
    candidates : tuple of dict
        Each photo considered: name, verdict, face width, the findings' codes, or its error.
    why : str
        Why that photo was chosen (several photos) or "" (one photo).
    files : tuple of OutputFile
        The headshots (one per platform) and ``report.json``.
    thumbnail : bytes or None
        A small JPEG of the first platform's headshot, for the contact sheet.
    findings : tuple of dict
        The chosen photo's capture findings.
    measures : dict
        Consistency measures of each output, measured on the written image (see :func:`measure`),
        by platform name.
    exposure_ev : float or None
        The team look's exposure change for this person.
    notes : tuple of str
    retake : tuple of str
        Reasons to ask this person for another photo.
    seconds : float
    """

    person: str
    ok: bool
    error: str | None = None
    chosen: str | None = None
    candidates: tuple[dict[str, object], ...] = ()
    why: str = ""
    files: tuple[OutputFile, ...] = ()
    thumbnail: bytes | None = None
    findings: tuple[dict[str, object], ...] = ()
    measures: dict[str, dict[str, object]] = field(default_factory=dict)
    exposure_ev: float | None = None
    notes: tuple[str, ...] = ()
    retake: tuple[str, ...] = ()
    seconds: float = 0.0


def _lightness(y: np.ndarray) -> np.ndarray:
    """CIE L* of linear luminance."""
    y = np.asarray(y, dtype=np.float64)
    return np.where(y > (6 / 29) ** 3, 116.0 * np.cbrt(y) - 16.0, y * (29 / 3) ** 3)


def measure(image: np.ndarray, alpha: np.ndarray) -> dict[str, object]:
    """Consistency measures of one headshot, taken from the image itself (the face found again).

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), float32, linear RGB in [0, 1]
        The headshot as written (decode the file to measure what a viewer sees).
    alpha : ndarray, shape (H, W), float32
        The subject's matte in the frame (to tell skin and backdrop pixels).

    Returns
    -------
    dict
        ``eye_line`` (height of the eyes' midpoint, fraction of the frame's height from the top),
        ``face_height`` (chin to crown, the framing's head height, fraction of the height),
        ``skin_lightness`` (mean CIE L* of the face's skin), ``backdrop_lab`` (mean CIE L*a*b* of
        the backdrop in the two top corners, or None where the subject covers them), and
        ``face_found`` (False: nothing else could be measured).
    """
    from skimage.color import rgb2lab

    from ..imageio import to_srgb8

    h, w = image.shape[:2]
    out: dict[str, object] = {"face_found": False, "eye_line": None, "face_height": None,
                              "skin_lightness": None, "backdrop_lab": None}
    c = max(4, round(CORNER * min(w, h)))
    patches = [(image[:c, :c], alpha[:c, :c]), (image[:c, w - c:], alpha[:c, w - c:])]
    px = np.concatenate([p[a < 0.02] for p, a in patches])
    if len(px) >= 50:
        srgb = to_srgb8(px.reshape(1, -1, 3)).astype(np.float64) / 255.0
        lab = rgb2lab(srgb).reshape(-1, 3).mean(axis=0)
        out["backdrop_lab"] = [round(float(v), 3) for v in lab]
    try:
        face = face_mod.detect(image)
    except HeadshotError:
        return out
    out["face_found"] = True
    out["eye_line"] = round(float(face.eye_mid[1]) / h, 5)
    out["face_height"] = round(face.head_height / h, 5)
    skin = (face_mod.region_mask(face, "skin", (h, w)) > 0) & (alpha > 0.9)
    if np.count_nonzero(skin) >= 50:
        y = image[skin] @ np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)
        out["skin_lightness"] = round(float(_lightness(y).mean()), 3)
    return out


def _score(photo: Photo) -> tuple[tuple[float, ...], dict[str, object]]:
    """How good a photo is for a headshot (smaller is better), and what was found."""
    face = face_mod.detect(photo.pixels)
    stats = checks_mod.face_stats(photo.pixels, face)
    findings = checks_mod.run(face, stats, photo_size=(photo.width, photo.height))
    poor = sum(f.severity == "poor" for f in findings)
    warn = sum(f.severity == "warn" for f in findings)
    info = {
        "verdict": checks_mod.verdict(findings),
        "face_width": round(face.width, 1),
        "findings": [f.code for f in findings if f.severity != "info"],
    }
    return (float(poor), float(warn), -min(face.width, MAX_FACE_WIDTH_SCORE), stats.blur), info


def choose(photos: tuple[tuple[str, bytes], ...]) -> tuple[Photo | None, str | None, list[dict[str, object]], str]:
    """Pick the best photo by the capture checks: fewest poor findings, then fewest warnings, then the
    larger face (up to 600 px), then the sharper.

    Returns
    -------
    (photo, name, candidates, why)
        The chosen photo decoded (None: none is usable), its name, what was found for each, and
        one sentence on the choice ("" for a single photo).
    """
    loaded: list[tuple[tuple[float, ...], str, Photo]] = []
    candidates: list[dict[str, object]] = []
    for name, data in photos:
        try:
            photo = load(data, name=name)
            if len(photos) == 1:
                candidates.append({"photo": name})
                return photo, name, candidates, ""
            score, info = _score(photo)
        except HeadshotError as e:
            candidates.append({"photo": name, "error": str(e)})
            continue
        candidates.append({"photo": name, **info})
        loaded.append((score, name, photo))
    if not loaded:
        return None, None, candidates, ""
    loaded.sort(key=lambda x: (x[0], x[1]))
    score, name, photo = loaded[0]
    usable = len(loaded)
    first = next(c for c in candidates if c["photo"] == name)
    found = first.get("findings")
    problems = [str(p) for p in found] if isinstance(found, list) else []
    why = (f"the best of {usable} usable photos by the capture checks ({first['verdict']}"
           + (f": {', '.join(problems)})" if problems else ")")
           + (f"; {len(photos) - usable} could not be used" if usable < len(photos) else ""))
    return photo, name, candidates, why


BOTTOM_FILL = 0.85  # the photo's bottom edge above this height of the frame: too much of the bust is filled in
LIFT_NOTE_EV = 1.0  # an exposure change this large gets a note to check the skin tone by eye
RETAKE_EV = 1.5  # ... and this large, a retake: the photo itself is badly exposed


def _retake_reasons(subject: Subject, hs: Headshot) -> list[str]:
    out = [f.message for f in subject.findings if f.severity == "poor"]
    if "bottom" in hs.crop.extended:
        w, h = subject.photo.width, subject.photo.height
        edge = float(np.mean(hs.crop.apply(np.array([[0.0, h], [float(w), h]]))[:, 1])) / hs.crop.height
        if edge < BOTTOM_FILL:
            out.append(f"the photo ends at the chest ({1 - edge:.0%} of the headshot's height below it is filled in "
                       "with the backdrop); send a photo that shows the shoulders, taken from a little further away")
    # Two warnings that show on a team page more than on one photo: a cut-off head, burnt-out skin.
    out += [f.message for f in subject.findings
            if f.code == "head_cut" or f.code == "bright" and (f.value or 0.0) > checks_mod.CLIPPED_WARN]
    if hs.crop.scale > MAX_SILENT_UPSCALE:
        out.append(f"the photo has too few pixels for a sharp {hs.platform.name} headshot (the face is enlarged "
                   f"{hs.crop.scale:.1f}x); send a closer or higher-resolution photo")
    ev = math.log2(hs.exposure_gain)
    limit = hs.style.team.max_exposure_ev
    if abs(ev) >= limit - 1e-6:
        out.append(f"the face is very {'dark' if ev > 0 else 'bright'} in the photo: it needed more than the team's "
                   f"{limit:g} EV of correction and still looks {'darker' if ev > 0 else 'brighter'} than the "
                   "others; take the photo facing a window or a lamp")
    elif abs(ev) >= RETAKE_EV:
        out.append(f"the face is very {'dark' if ev > 0 else 'bright'} in the photo ({ev:+.1f} EV from the team's "
                   f"level): it was {'brightened' if ev > 0 else 'darkened'} to match, but "
                   f"{'may show noise' if ev > 0 else 'may have burnt-out skin'}; take the photo facing a window or a lamp, "
                   "out of direct sun")
    return out


def _thumbnail(image: np.ndarray, edits: Edits | None = None) -> bytes:
    """The contact sheet's small copy; it says what it is (XMP) like the headshot it shows."""
    h, w = image.shape[:2]
    k = THUMB_SIDE / max(h, w)
    small = cv2.resize(image, (max(1, round(w * k)), max(1, round(h * k))), interpolation=cv2.INTER_AREA)
    xmp = provenance.xmp_packet(edits, provenance.software()) if edits is not None else None
    return encode(small, format="jpg", quality=85, xmp=xmp)


def run_person(task: PersonTask) -> PersonOutcome:
    """Choose, analyse, render and measure one person; never raises for a bad photo.

    Errors a person's photo can cause (unreadable, no face...) come back as an outcome with
    ``ok=False`` and the reason; anything else is a bug and propagates.
    """
    t0 = time.perf_counter()
    photo, chosen, candidates, why = choose(task.photos)
    if photo is None:
        errors = [str(c.get("error")) for c in candidates if c.get("error")]
        reason = errors[0] if len(errors) == 1 else "none of the photos could be used: " + "; ".join(errors)
        return PersonOutcome(person=task.person, ok=False, error=reason, candidates=tuple(candidates),
                             retake=(reason,), seconds=time.perf_counter() - t0)
    try:
        subject = analyse(photo)
    except HeadshotError as e:
        return PersonOutcome(person=task.person, ok=False, error=str(e), chosen=chosen, candidates=tuple(candidates),
                             why=why, retake=(str(e),), seconds=time.perf_counter() - t0)
    files: list[OutputFile] = []
    entries: list[dict[str, object]] = []
    measures: dict[str, dict[str, object]] = {}
    notes: list[str] = []
    retake: list[str] = []
    thumb: bytes | None = None
    exposure_ev: float | None = None
    style_slug = slugify(task.style.name)
    for pf in task.platforms:
        try:
            hs = render(subject, task.style, pf, size=task.size, team=True)
            t = time.perf_counter()
            data, prov = encode_headshot(hs, format=task.format, quality=task.quality, credentials=None)
            if task.signer is not None:
                prov["c2pa"] = dict(task.signer)
            enc = time.perf_counter() - t
        except HeadshotError as e:
            return PersonOutcome(person=task.person, ok=False, error=str(e), chosen=chosen,
                                 candidates=tuple(candidates), why=why, retake=(str(e),),
                                 seconds=time.perf_counter() - t0)
        name = f"{task.slug}_{style_slug}_{slugify(pf.name)}.{task.format}"
        files.append(OutputFile(
            name=name, data=data, edits=hs.edits if task.signer is not None else None,
            parent=provenance.parent_of(hs.source) if hs.source is not None and task.signer is not None else None,
            thumb=provenance.thumbnail(hs.image) if task.signer is not None else None))
        entries.append(output_entry(subject, hs, Path(name), encode_s=enc, provenance=prov))
        written = load(data, name=name).pixels  # measured as a viewer will see it
        measures[pf.name] = measure(written, hs.alpha)
        notes.extend(n for n in hs.notes if n not in notes)
        retake.extend(r for r in _retake_reasons(subject, hs) if r not in retake)
        if thumb is None:
            thumb = _thumbnail(hs.image, hs.edits)
            exposure_ev = round(math.log2(hs.exposure_gain), 3)
            if abs(exposure_ev) >= LIFT_NOTE_EV:
                notes.append(f"face {'brightened' if exposure_ev > 0 else 'darkened'} {exposure_ev:+.2f} EV to the "
                             "team's level: check that the skin tone looks right (a photo cannot tell a darker "
                             "complexion from a darker exposure; the style's [team] keep_lightness keeps part "
                             "of each person's own lightness)")
    report = _report(subject, entries)
    report["team"] = {"person": task.person, "chosen": chosen, "why": why, "candidates": candidates,
                      "measures": measures, "retake": retake}
    files.append(OutputFile(name="report.json",
                            data=(json.dumps(report, indent=2, ensure_ascii=False) + "\n").encode("utf-8")))
    return PersonOutcome(
        person=task.person, ok=True, chosen=chosen, candidates=tuple(candidates), why=why, files=tuple(files),
        thumbnail=thumb, findings=tuple(f.as_dict() for f in subject.findings), measures=measures,
        exposure_ev=exposure_ev, notes=tuple(notes), retake=tuple(retake), seconds=time.perf_counter() - t0,
    )

