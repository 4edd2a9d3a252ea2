"""Colour and exposure of the subject: white balance from the scene, exposure, contrast curve.

The photo's colour cast is estimated once per photo (:func:`estimate`, at analysis) from three kinds
of evidence, each giving the illuminant as a shift in log-chromaticity (log R/G, log B/G):

- **skin**: the median colour of the face's skin (landmark region, hair and deep shadow left out),
  against the skin colour of well-balanced portraits (:data:`SKIN_LC`);
- **the whites of the eyes**: the brightest pixels of the eye openings, iris left out, against the
  sclera's own slightly warm colour (:data:`SCLERA_LC`); weighted by how many pixels there are;
- **neutral surfaces of the scene** (a white shirt, a grey wall, paper): pixels outside the face
  that are nearly grey once the first two are corrected; a saturated wall or a coloured shirt is
  too far from grey to be chosen, so it cannot pull the skin toward its complementary colour;
- **white on the subject, twice** (white or grey hair above the face *and* a white collar or shirt
  below it, both brighter than the skin): when the two agree on one colour, that colour is the
  light's, even far from what the skin says. Skin varies between people far more than a white
  collar does: a ruddy complexion read against :data:`SKIN_LC` looks like a warm cast, and
  correcting it turned white hair and a white collar mint (``fr_biden.jpg``: skin +0.32 on log R/G,
  hair and collar +0.05). One bright surface alone is not trusted that far (a light-blue shirt or
  blond hair would pass), two different surfaces of one colour are.

Every piece is *equivariant*: a photo with a colour cast gives the same estimate plus the cast (the
neutral pixels are chosen after the preliminary correction, so the choice itself moves with the
cast), hence the corrected colours do not depend on the cast the photo came with. The correction is
a diagonal (von Kries) gain in linear light that keeps luminance: white balance never lightens or
darkens a complexion, and exposure is a separate, documented rule (:func:`exposure_gain`).

:func:`correction` turns the estimate and a style's :class:`~headshot.presets.Tone` into a
:class:`Correction` (the numbers, returned with every headshot, so a team run can apply one look to
several people); :func:`apply` applies one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from .face import (LEFT_EYE, LEFT_IRIS, LEFT_IRIS_CENTER, RIGHT_EYE, RIGHT_IRIS, RIGHT_IRIS_CENTER, Face, height_map,
                   region_mask)
from .presets import TeamLook, Tone

__all__ = [
    "ColourEstimate",
    "Correction",
    "estimate",
    "correction",
    "team_correction",
    "lightness_to_luminance",
    "apply",
    "exposure_gain",
    "apply_gain",
    "contrast_curve",
    "log_chroma",
    "FACE_RANGE",
    "SKIN_LC",
    "SCLERA_LC",
]

LUMA = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)

# Median linear luminance of face skin considered normally exposed: sRGB ~0.30 to ~0.75 (the darkest
# and lightest complexions photographed correctly fall inside; only a badly exposed photo falls out).
FACE_RANGE = (0.07, 0.52)
MAX_CORRECTION = 2.0  # one stop either way, at most

# Log-chromaticity (log R/G, log B/G, linear sRGB) of skin and of the whites of the eyes in
# well-balanced portraits: the medians over the 19 single-person dev photos (camera white balance,
# studio and daylight; complexions from very light to dark), measured once with a scratch script on
# those photos (calibration constants; the benchmark checks the cast figure, not these medians).
# Skin chromaticity varies between people (about +-0.2 on log R/G) much more than the sclera's, which
# is why the eyes and the scene's neutrals weigh in wherever they can be seen.
SKIN_LC = (0.67, -0.38)
SCLERA_LC = (0.42, -0.19)
WORK_FACE_WIDTH = 200  # px: the estimate is made on a copy with the face about this wide
NEUTRAL_RADIUS = 0.10  # log-chroma distance from grey (after the first correction) of a "neutral" pixel
MONO_SPREAD = 0.04  # 90th percentile of chromaticity spread below which a photo is monochrome
MAX_CAST = 0.6  # |log| gain per channel at most (about a 2000 K shift from daylight)
# White on the subject (hair above the face, collar or shirt below it): searched up to this far
# from the first estimate (log-chroma), in clusters of this radius; the two must agree within
# SUBJECT_AGREE, each cover at least SUBJECT_MIN_AREA of the face's area, and then weigh
# SUBJECT_WEIGHT (skin weighs 1): two surfaces agreeing on one colour say more than a complexion.
SUBJECT_SEARCH = 0.5
SUBJECT_RADIUS = 0.08
SUBJECT_AGREE = 0.1
SUBJECT_MIN_AREA = 0.05
SUBJECT_WEIGHT = 6.0


def log_chroma(rgb: np.ndarray) -> np.ndarray:
    """Log-chromaticity of linear RGB colours.

    Parameters
    ----------
    rgb : ndarray, shape (..., 3), linear RGB

    Returns
    -------
    ndarray, shape (..., 2), float32
        ``(log R/G, log B/G)``; a grey is (0, 0).
    """
    lg = np.log(np.maximum(rgb, 1e-4, dtype=np.float32))
    return np.stack([lg[..., 0] - lg[..., 1], lg[..., 2] - lg[..., 1]], axis=-1)


@dataclass(frozen=True)
class ColourEstimate:
    """The photo's colour cast, as measured at analysis.

    Attributes
    ----------
    cast : (float, float)
        The illuminant's log-chromaticity shift ``(log R/G, log B/G)`` relative to a neutral light;
        (0, 0) for a balanced photo.
    evidence : dict of str to dict
        Each source's own shift, its weight and its pixel count (for the report).
    """

    cast: tuple[float, float]
    evidence: dict[str, dict[str, float]]


@dataclass(frozen=True)
class Correction:
    """The colour and tone applied to a subject; computed per render, or given to apply one look.

    Attributes
    ----------
    gains : (float, float, float)
        Diagonal white-balance gains for linear R, G, B (luminance-preserving).
    exposure : float
        Linear exposure gain (1 = unchanged).
    contrast : float in [-1, 1]
        Strength of the contrast curve around ``pivot`` (0 = none).
    pivot : float
        Linear luminance the contrast curve turns about (the face's level after gains).
    """

    gains: tuple[float, float, float] = (1.0, 1.0, 1.0)
    exposure: float = 1.0
    contrast: float = 0.0
    pivot: float = 0.18

    def __post_init__(self) -> None:
        if len(self.gains) != 3 or not all(np.isfinite(g) and g > 0 for g in self.gains):
            raise ValueError(f"gains must be three positive numbers, got {self.gains}")
        if not (np.isfinite(self.exposure) and self.exposure > 0):
            raise ValueError(f"exposure must be a positive gain, got {self.exposure}")
        if not -1.0 <= self.contrast <= 1.0:
            raise ValueError(f"contrast must be between -1 and 1, got {self.contrast}")
        if not 0.0 < self.pivot < 1.0:
            raise ValueError(f"pivot must be between 0 and 1 (linear luminance), got {self.pivot}")

    def as_dict(self) -> dict[str, object]:
        return {
            "gains": [round(float(g), 4) for g in self.gains],
            "exposure": round(float(self.exposure), 4),
            "contrast": round(float(self.contrast), 3),
            "pivot": round(float(self.pivot), 4),
        }

    @classmethod
    def from_dict(cls, d: dict[str, object]) -> "Correction":
        """The inverse of :meth:`as_dict` (a team run's shared correction read from a report)."""
        g = d.get("gains", (1.0, 1.0, 1.0))
        gains = tuple(float(x) for x in g)  # type: ignore[union-attr]
        return cls(gains=(gains[0], gains[1], gains[2]), exposure=float(d.get("exposure", 1.0)),  # type: ignore[arg-type]
                   contrast=float(d.get("contrast", 0.0)), pivot=float(d.get("pivot", 0.18)))  # type: ignore[arg-type]


def _median_lc(px: np.ndarray) -> np.ndarray:
    return np.median(log_chroma(px), axis=0).astype(np.float64)


def _sclera(work: np.ndarray, face: Face, scale: float) -> np.ndarray:
    """Pixels of the whites of the eyes: eye openings without the iris (and a margin round it), the
    brightest 40% of what is left (lashes, lid shadow and lid margin are darker)."""
    h, w = work.shape[:2]
    eyes = np.zeros((h, w), np.uint8)
    for ring in (RIGHT_EYE, LEFT_EYE):
        cv2.fillPoly(eyes, [np.round(face.landmarks[list(ring), :2] * scale * 16).astype(np.int32)], 1, shift=4)
    eyes = cv2.erode(eyes, np.ones((2, 2), np.uint8)) if face.width * scale > 120 else eyes
    for c, ring in ((RIGHT_IRIS_CENTER, RIGHT_IRIS), (LEFT_IRIS_CENTER, LEFT_IRIS)):
        ctr = face.landmarks[c, :2] * scale
        r = float(np.mean(np.linalg.norm(face.landmarks[list(ring), :2] * scale - ctr, axis=1)))
        cv2.circle(eyes, (round(ctr[0] * 16), round(ctr[1] * 16)), round(r * 1.3 * 16 + 16), 0, -1, shift=4)
    px = work[eyes > 0]
    if len(px) < 6:
        return px[:0]
    y = px @ LUMA
    keep = (y >= np.quantile(y, 0.6)) & (px.max(axis=1) < 0.97)
    return px[keep]


def estimate(image: np.ndarray, face: Face, alpha: np.ndarray | None = None) -> ColourEstimate:
    """Estimate the photo's colour cast from skin, the whites of the eyes and neutral surfaces.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), float32, linear RGB in [0, 1]
    face : Face
        Landmarks in the image's pixels.
    alpha : ndarray, shape (h, w), float32 in [0, 1], optional
        The subject's matte at any resolution (resized here). Without it the white on the subject
        (hair and collar agreeing, see above) is not looked for.

    Returns
    -------
    ColourEstimate
    """
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be (H, W, 3), got shape {image.shape}")
    scale = min(1.0, WORK_FACE_WIDTH / max(face.width, 1.0))
    work = image if scale == 1.0 else cv2.resize(
        image, (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale))),
        interpolation=cv2.INTER_AREA)
    h, w = work.shape[:2]
    evidence: dict[str, dict[str, float]] = {}
    shifts: list[tuple[np.ndarray, float]] = []

    # A monochrome photo (black and white, or toned: every pixel of the face has nearly the same
    # chromaticity) has no skin colour to read; its single tint is the cast, and the correction
    # makes it grey. The test looks at the face only: a black-and-white portrait cut out and put on
    # a coloured wall is still a black-and-white face (a colour face spreads 0.26-1.1 here, a grey
    # one 0.00, on the dev photos). The spread does not change with a cast: equivariant too.
    px = work[region_mask(face, "face", (h, w), scale=scale) > 0]
    py = px @ LUMA
    px = px[(py > 0.02) & (px.max(axis=1) < 0.97)]
    if len(px) >= 100:
        lc = log_chroma(px[:: max(1, len(px) // 20000)])
        mid = np.median(lc, axis=0)
        if float(np.quantile(np.hypot(*(lc - mid).T), 0.9)) < MONO_SPREAD:
            cast = np.clip(mid.astype(np.float64), -MAX_CAST, MAX_CAST)
            evidence["monochrome"] = {"r": float(mid[0]), "b": float(mid[1]), "weight": 1.0, "pixels": float(len(px))}
            return ColourEstimate(cast=(float(cast[0]), float(cast[1])), evidence=evidence)

    # Skin: the landmark skin region, without its darkest quarter (brows' shadow, stubble, hair
    # falling over the forehead) and its brightest tenth (shine), and without clipped pixels.
    skin_mask = region_mask(face, "skin", (h, w), scale=scale) > 0
    skin = work[skin_mask]
    if len(skin) >= 20:
        y = skin @ LUMA
        lo, hi = np.quantile(y, [0.25, 0.9])
        skin = skin[(y >= lo) & (y <= hi) & (skin.max(axis=1) < 0.97) & (skin.min(axis=1) > 0.002)]
    if len(skin) >= 20:
        s = _median_lc(skin) - np.array(SKIN_LC)
        shifts.append((s, 1.0))
        evidence["skin"] = {"r": float(s[0]), "b": float(s[1]), "weight": 1.0, "pixels": float(len(skin))}

    scl = _sclera(work, face, scale)
    if len(scl) >= 6:
        wgt = 1.5 * min(1.0, len(scl) / 150.0)
        s = _median_lc(scl) - np.array(SCLERA_LC)
        shifts.append((s, wgt))
        evidence["sclera"] = {"r": float(s[0]), "b": float(s[1]), "weight": wgt, "pixels": float(len(scl))}

    def combine(items: list[tuple[np.ndarray, float]]) -> np.ndarray:
        if not items:
            return np.zeros(2)
        tot = sum(wt for _, wt in items)
        return sum(s * wt for s, wt in items) / tot  # type: ignore[no-any-return]

    first = combine(shifts)
    # Neutral surfaces: outside the face, chosen in the frame corrected by the first estimate.
    face_mask = region_mask(face, "face", (h, w), scale=scale) > 0
    face_mask = cv2.dilate(face_mask.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    rest = work[~face_mask]
    y = rest @ LUMA
    ok = (y > 0.02) & (rest.max(axis=1) < 0.95) & (rest.min(axis=1) > 0.003)
    rest = rest[ok]
    if len(rest):
        lc = log_chroma(rest) - first.astype(np.float32)
        near = np.hypot(lc[:, 0], lc[:, 1]) < NEUTRAL_RADIUS
        frac = float(np.count_nonzero(near)) / max(1, h * w)
        if np.count_nonzero(near) >= 50 and frac > 0.005:
            s = np.median(lc[near], axis=0).astype(np.float64) + first
            wgt = 2.0 * min(1.0, frac / 0.05)
            shifts.append((s, wgt))
            evidence["neutral"] = {"r": float(s[0]), "b": float(s[1]), "weight": wgt,
                                   "pixels": float(np.count_nonzero(near) / scale**2)}
    if alpha is not None:
        a = cv2.resize(alpha.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA)
        skin_y = float(np.median(work[skin_mask] @ LUMA)) if skin_mask.any() else 0.0
        found = _subject_white(work, a, face, scale, face_mask, first, skin_y)
        if found is not None:
            s, n = found
            shifts.append((s, SUBJECT_WEIGHT))
            evidence["subject_white"] = {"r": float(s[0]), "b": float(s[1]), "weight": SUBJECT_WEIGHT,
                                         "pixels": float(n / scale**2)}
    cast = np.clip(combine(shifts), -MAX_CAST, MAX_CAST)
    return ColourEstimate(cast=(float(cast[0]), float(cast[1])), evidence=evidence)


def _densest(lc: np.ndarray) -> tuple[np.ndarray, int] | None:
    """The centre of the densest cluster of log-chroma offsets (radius :data:`SUBJECT_RADIUS`) within
    :data:`SUBJECT_SEARCH` of the origin, refined to the median of its members; with its size.

    A 2-D histogram convolved with a disc (numpy has no mean-shift; this is its one-step form).
    Clusters whose centre lies on the search's rim are the edge of something farther away (the
    forehead's skin, blond hair), not a cluster of their own, and are not returned.
    """
    if len(lc) == 0:
        return None
    step = 0.02
    edges = np.arange(-SUBJECT_SEARCH - SUBJECT_RADIUS, SUBJECT_SEARCH + SUBJECT_RADIUS + step / 2, step)
    hist, _, _ = np.histogram2d(lc[:, 0], lc[:, 1], bins=(edges, edges))
    k = int(round(SUBJECT_RADIUS / step))
    yy, xx = np.mgrid[-k:k + 1, -k:k + 1]
    disc = (xx * xx + yy * yy <= k * k).astype(np.float32)
    dens = cv2.filter2D(hist.astype(np.float32), -1, disc, borderType=cv2.BORDER_CONSTANT)
    centres = (edges[:-1] + edges[1:]) / 2
    cr, cb = np.meshgrid(centres, centres, indexing="ij")
    dens[np.hypot(cr, cb) > SUBJECT_SEARCH] = 0.0
    i, j = np.unravel_index(int(np.argmax(dens)), dens.shape)
    c = np.array([centres[i], centres[j]])
    # The density is flat across a disc round a tight cluster, so the argmax can sit on its rim: two
    # steps toward the members' median (mean shift with a median) find its middle.
    for reach in (1.5 * SUBJECT_RADIUS, SUBJECT_RADIUS):
        member = np.hypot(*(lc - c).T) <= reach
        if not member.any():
            return None
        c = np.median(lc[member], axis=0).astype(np.float64)
    if np.hypot(*c) > SUBJECT_SEARCH - 2 * step:
        return None
    return c, int(np.count_nonzero(member))


def _subject_white(work: np.ndarray, alpha: np.ndarray, face: Face, scale: float, face_mask: np.ndarray,
                   first: np.ndarray, skin_y: float) -> tuple[np.ndarray, int] | None:
    """The light's colour read from white on the subject: the densest bright cluster of the hair
    above the eyes and of the clothes below the chin, when the two agree (see the module's notes).

    Offsets are taken from the first estimate, so the choice moves with a cast (equivariant).
    Returns (the implied shift, the member pixels at ``work``'s scale) or None.
    """
    height = height_map(face, scale, work.shape[:2])
    y = work @ LUMA
    ok = ((alpha > 0.95) & ~face_mask & (y > max(0.02, skin_y)) & (work.max(axis=2) < 0.95)
          & (work.min(axis=2) > 0.003))
    min_n = SUBJECT_MIN_AREA * (face.width * scale) ** 2
    found = []
    for zone in (ok & (height > 0), ok & (height < -face.chin_to_eyes * scale)):
        if np.count_nonzero(zone) < min_n:
            return None
        c = _densest(log_chroma(work[zone]) - first.astype(np.float32))
        if c is None or c[1] < min_n:
            return None
        found.append(c)
    (c1, n1), (c2, n2) = found
    if np.hypot(*(c1 - c2)) > SUBJECT_AGREE:
        return None
    return first + (c1 * n1 + c2 * n2) / (n1 + n2), n1 + n2


def exposure_gain(face_luminance: float, tone: Tone) -> float:
    """The linear gain for the subject.

    A face whose level is already in :data:`FACE_RANGE` is left alone (the photo says nothing
    certain about the skin's own lightness, and a complexion is never pushed toward a norm); a
    clearly under- or over-exposed face is brought back into the range (one stop at most). The
    style's ``exposure_ev`` is a deliberate bias on top.

    Parameters
    ----------
    face_luminance : float
        Median linear luminance of the face's skin in the photo, in [0, 1].
    tone : Tone
        The style's tone settings.

    Returns
    -------
    float
        Multiplier for linear RGB (1.0 = unchanged).
    """
    gain = 1.0
    if tone.auto_exposure and face_luminance > 0:
        lo, hi = FACE_RANGE
        if face_luminance < lo:
            gain = min(lo / face_luminance, MAX_CORRECTION)
        elif face_luminance > hi:
            gain = max(hi / face_luminance, 1.0 / MAX_CORRECTION)
    return float(gain * 2.0**tone.exposure_ev)


def _wb_gains(est: ColourEstimate | None, tone: Tone) -> np.ndarray:
    """Luminance-preserving white-balance gains removing ``tone.white_balance`` of the cast."""
    gains = np.ones(3)
    if est is not None and tone.white_balance > 0:
        k = float(tone.white_balance)
        gains = np.exp(-k * np.array([est.cast[0], 0.0, est.cast[1]]))
        gains /= float(LUMA @ gains)
    return gains


def correction(est: ColourEstimate | None, face_luminance: float, tone: Tone) -> Correction:
    """The correction a style asks for, from the photo's estimate.

    Parameters
    ----------
    est : ColourEstimate or None
        From :func:`estimate` (None: no white balance).
    face_luminance : float
        Median linear luminance of the face's skin in the photo.
    tone : Tone
        ``white_balance`` (how much of the cast is removed), exposure settings and ``contrast``.

    Returns
    -------
    Correction
    """
    gains = _wb_gains(est, tone)
    exposure = exposure_gain(face_luminance, tone)
    pivot = float(np.clip(face_luminance * exposure, 0.02, 0.8))
    return Correction(gains=(float(gains[0]), float(gains[1]), float(gains[2])), exposure=exposure,
                      contrast=float(tone.contrast), pivot=pivot)


def lightness_to_luminance(lightness: float) -> float:
    """Linear luminance Y in [0, 1] of a CIE L* (0-100)."""
    f = (float(lightness) + 16.0) / 116.0
    return f**3 if f > 6.0 / 29.0 else (f - 4.0 / 29.0) * 3.0 * (6.0 / 29.0) ** 2


def team_correction(est: ColourEstimate | None, skin: np.ndarray | float, tone: Tone,
                    team: TeamLook) -> tuple[Correction, bool]:
    """The correction that puts one member of a team on the team's look.

    White balance as for a single photo (the style's ``white_balance`` of the cast removed, so the
    person's own skin colour under neutral light is kept); then one exposure gain that brings the
    median luminance of the skin, after that white balance, to ``team.face_lightness`` (keeping
    ``team.keep_lightness`` of the person's own difference from it), at most ``team.max_exposure_ev``
    either way. The level is the skin's *mean L** (as the team report measures it), reached in
    closed form; the style's ``exposure_ev`` is not added (``face_lightness`` is the team's level).

    Parameters
    ----------
    est : ColourEstimate or None
    skin : ndarray, shape (N, 3), float32, linear RGB, or float
        The face's skin pixels as they will be toned (after the light rig), or, when the face's
        skin is not in the frame, the photo's median skin luminance.
    tone : Tone
    team : TeamLook

    Returns
    -------
    (Correction, bool)
        The correction, and whether the exposure limit was reached.
    """
    gains = _wb_gains(est, tone)
    target = float(team.face_lightness)
    limited = False
    ev = 0.0
    # `need`: the exposure change (EV) that reaches the target; y_face: the face's median level, the
    # contrast curve's pivot.
    if isinstance(skin, np.ndarray):
        # The gain g that gives the skin a mean L* of `target`: above L*'s linear toe,
        # L*(g Y) = 116 g^(1/3) Y^(1/3) - 16, so mean L* = 116 g^(1/3) mean(Y^(1/3)) - 16.
        ys = skin.reshape(-1, 3).astype(np.float64) @ (LUMA.astype(np.float64) * gains)
        m = float(np.mean(np.cbrt(np.maximum(ys, 0.0))))
        y_face = float(np.median(ys))
        need = 3.0 * math.log2((target + 16.0) / (116.0 * m)) if m > 1e-3 else 0.0
    else:
        y_face = float(skin)
        need = math.log2(lightness_to_luminance(target) / y_face) if y_face > 1e-4 else 0.0
    if need:
        ev = (1.0 - team.keep_lightness) * need
        limited = abs(ev) > team.max_exposure_ev + 1e-9
        ev = float(np.clip(ev, -team.max_exposure_ev, team.max_exposure_ev))
    exposure = 2.0**ev
    pivot = float(np.clip(y_face * exposure, 0.02, 0.8)) if y_face > 1e-4 else 0.18
    return Correction(gains=(float(gains[0]), float(gains[1]), float(gains[2])), exposure=float(exposure),
                      contrast=float(tone.contrast), pivot=pivot), limited


def apply_gain(image: np.ndarray, gain: float | np.ndarray, *, knee: float = 0.8) -> np.ndarray:
    """Multiply linear RGB by `gain` (one number or one per channel), rolling highlights off smoothly
    above `knee` instead of clipping.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), float32, linear in [0, 1]
    gain : float > 0, or ndarray of 3 positive floats
    knee : float in (0, 1)
        Values below it are scaled exactly; above it they approach 1 asymptotically.

    Returns
    -------
    ndarray, same shape, float32 in [0, 1] (a new array unless the gain is exactly 1)
    """
    g = np.asarray(gain, dtype=np.float32)
    if np.any(g <= 0) or not np.all(np.isfinite(g)):
        raise ValueError(f"gain must be positive, got {gain}")
    if np.all(g == 1.0):
        return image
    out = image * g
    if np.any(g > 1.0):
        hi = out > knee
        if np.any(hi):
            x = out[hi]
            out[hi] = knee + (1.0 - knee) * np.tanh((x - knee) / (1.0 - knee))
    return np.clip(out, 0.0, 1.0, out=out)


def contrast_curve(image: np.ndarray, amount: float, pivot: float) -> np.ndarray:
    """A contrast curve on luminance, colours kept (RGB scaled by the luminance's ratio).

    In log luminance the curve is a straight line through ``pivot`` of slope ``1 + amount``, so the
    face's own level stays put, with a highlight roll-off above 0.8 so nothing clips.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), float32, linear RGB in [0, 1]
    amount : float in [-1, 1]
        0 leaves the image as it is; 0.1 is a gentle studio curve.
    pivot : float in (0, 1)

    Returns
    -------
    ndarray, same shape, float32 in [0, 1]
    """
    if amount == 0:
        return image
    y = np.maximum(image @ LUMA, 1e-5)
    ratio = np.power(y / np.float32(pivot), np.float32(amount))
    yn = y * ratio
    knee = np.float32(0.8)
    hi = yn > knee
    if np.any(hi):
        yn[hi] = knee + (1 - knee) * np.tanh((yn[hi] - knee) / (1 - knee))
    out = image * (yn / y)[..., None]
    return np.clip(out, 0.0, 1.0, out=out)


def apply(image: np.ndarray, corr: Correction) -> np.ndarray:
    """Apply a :class:`Correction`: white-balance gains and exposure in one gain, then the contrast
    curve.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), float32, linear RGB in [0, 1]
    corr : Correction

    Returns
    -------
    ndarray, same shape, float32 in [0, 1]
    """
    out = apply_gain(image, np.asarray(corr.gains, dtype=np.float32) * np.float32(corr.exposure))
    return contrast_curve(out, corr.contrast, corr.pivot)
