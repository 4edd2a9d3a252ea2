"""Studio relighting in linear light: one light rig, whose shading, shadows and catchlights agree.

The photo is relit, not repainted: each pixel keeps its own albedo and texture and is multiplied by a
shading *ratio* — the rig's shading divided by the photo's own, both evaluated on the subject's
geometry (:mod:`headshot.geometry`).

The ratio changes the light at the scale of the head's *form* (cheeks, forehead, jaw, the side of
the nose; :data:`FORM_SIGMA`), plus the cast shadows, and leaves the face's finer shading — the
folds of the eyelids, the lip line, the nasolabial fold — as the photo has it. That is a choice,
measured: a ratio with the mesh's fine relief in it (dividing out and repainting the shading of the
eye sockets and the lips from a 478-point mesh) moved dlib's identity embedding twice as far
(median 0.30 against 0.22 over the dev photos x presets; ``benchmarks/bench_light.py``) and looked
like a different face; the fine shading is the person's, and the mesh is not accurate enough to
redo it.

1. :func:`estimate` (once per photo) fits the photo's existing light to the luminance of the upper
   face's skin: ambient + one clamped Lambertian light whose direction and softness are searched
   (a window's terminator, which a linear model cannot follow), taken at the scale of the form, then adds
   what that smooth model misses at the scale of a cast shadow, on skin-coloured pixels only (a
   beard is albedo, not shadow) and only where the face's two sides differ (a shadow over one
   cheek is the light's; the eye sockets' shading, the same on both sides, is the face's).
2. :func:`shade` (once per variant) evaluates the rig — key, fill, rim; Lambertian with a wrap term
   that softens the terminator of large sources; cast shadows from the depth map whose penumbra
   follows the light's size — and *meters* it like a photographer: the fill is set so that the two
   cheeks read the rig's ratio on this face (what the photo's estimated light leaves between them
   included; a 1:1 rig balances that remainder with a large soft source on the darker side, as a
   reflector would). A directional rig is exposed for its lit side (the lit cheek lands at the
   photo's lit-skin level, the shadow side falls by the ratio); a 1:1 rig keeps the face's mean
   luminance.
3. :func:`paint_catchlights` (in the output frame) tones down stray reflections in the irises and
   paints the key's catchlight where a spherical cornea would reflect it: the same clock position
   in both eyes by construction, shaped like the modifier.

Directions are in the camera's frame (x to the image's right, y up, z toward the camera). Lights are
placed relative to the output frame (the studio is level even if the head was tilted in the photo).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import cv2
import numpy as np

from .face import LEFT_EYE, LEFT_IRIS, LEFT_IRIS_CENTER, RIGHT_EYE, RIGHT_IRIS, RIGHT_IRIS_CENTER
from .geometry import Geometry
from .presets import Light, Rig

__all__ = [
    "Illumination",
    "Shading",
    "estimate",
    "shade",
    "paint_catchlights",
    "light_direction",
    "key_side",
    "cheek_patches",
    "kelvin_to_rgb",
    "RIGHT_CHEEK",
    "LEFT_CHEEK",
]

# Landmarks around the apple of each cheek (the subject's right cheek is on the image's left); a
# patch is a disc at their mean, of radius CHEEK_RADIUS face widths. The same patches are used to
# meter the rig and, in the benchmarks, to measure the ratio that came out.
RIGHT_CHEEK = (50, 101, 118, 123, 187, 205)
LEFT_CHEEK = (280, 330, 347, 352, 411, 425)
CHEEK_RADIUS = 0.07

AMBIENT = 0.02  # the studio's bounce light, relative to the key
WRAP = 0.35  # terminator wrap of the largest source (size 1)
SWING_STEP, SWING_MAX = 8.0, 32.0  # how far the meter may move the key around the face, degrees
MAX_RATIO, MIN_RATIO = 5.0, 1.0 / 32.0  # a lift of up to 2.3 stops: a window's shadow side
HOT_SPOT = 1.3  # how far above the lit skin's level (upper quartile) a lift may take a region
MIN_FILL, MAX_FILL = 0.0, 4.0
METER_RHO = (0.5, 2.0)  # the most the photo's own cheek difference may count in the meter (a stop)
# An even (1:1) rig balances what the photo's light leaves between the cheeks with a large soft
# source this far round on the darker side (degrees), once that difference is over BALANCE_MIN stop.
BALANCE_AZ, BALANCE_MIN = 70.0, 0.05
CORNEA = 1.3  # cornea radius / iris radius: where on the eye a light's reflection appears
LUMA = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)


# ----------------------------------------------------------------------------------------- lights


def kelvin_to_rgb(kelvin: float) -> np.ndarray:
    """Linear-sRGB colour of a light of this colour temperature, relative to 5600 K, luminance 1.

    The Planckian locus in CIE 1931 xy (Kim et al. 2002 cubic fit, 1667-25000 K), converted to
    linear sRGB and divided by the colour of 5600 K (studio flash, to which the camera is balanced).
    """

    def xy(t: float) -> tuple[float, float]:
        t = min(max(t, 1667.0), 25000.0)
        if t <= 4000:
            x = -0.2661239e9 / t**3 - 0.2343589e6 / t**2 + 0.8776956e3 / t + 0.179910
        else:
            x = -3.0258469e9 / t**3 + 2.1070379e6 / t**2 + 0.2226347e3 / t + 0.240390
        if t <= 2222:
            y = -1.1063814 * x**3 - 1.34811020 * x**2 + 2.18555832 * x - 0.20219683
        elif t <= 4000:
            y = -0.9549476 * x**3 - 1.37418593 * x**2 + 2.09137015 * x - 0.16748867
        else:
            y = 3.0817580 * x**3 - 5.87338670 * x**2 + 3.75112997 * x - 0.37001483
        return x, y

    def rgb(t: float) -> np.ndarray:
        x, y = xy(t)
        xyz = np.array([x / y, 1.0, (1 - x - y) / y])
        m = np.array([[3.2406, -1.5372, -0.4986], [-0.9689, 1.8758, 0.0415], [0.0557, -0.2040, 1.0570]])
        return np.maximum(m @ xyz, 1e-6)

    c = rgb(kelvin) / rgb(5600.0)
    return (c / float(LUMA @ c)).astype(np.float32)


def key_side(rig: Rig, landmarks: np.ndarray) -> int:
    """Image side of the key: +1 = right, -1 = left. ``broad``/``short`` follow the head's yaw.

    The side of the face turned toward the camera (the broad side) is the one on which the face
    shows wider: the nose tip sits off the cheeks' midpoint toward the other side.
    """
    if rig.side == "right":
        return 1
    if rig.side == "left":
        return -1
    eye = landmarks[LEFT_IRIS_CENTER, :2] - landmarks[RIGHT_IRIS_CENTER, :2]
    eye = eye / max(float(np.linalg.norm(eye)), 1e-9)
    mid = (landmarks[234, :2] + landmarks[454, :2]) / 2
    width = float(np.linalg.norm(landmarks[454, :2] - landmarks[234, :2]))
    off = float(np.dot(landmarks[1, :2] - mid, eye)) / max(width, 1e-9)
    # Nose toward the image's right (off > 0): the broad side is the image's left.
    broad = -1 if off >= 0 else 1
    return broad if rig.side == "broad" else -broad


def light_direction(light: Light, side: int) -> np.ndarray:
    """Unit vector toward a light, in the output camera frame (x right, y up, z toward the camera)."""
    az, el = math.radians(light.azimuth), math.radians(light.elevation)
    return np.array([side * math.cos(el) * math.sin(az), math.sin(el), math.cos(el) * math.cos(az)])


def cheek_patches(landmarks: np.ndarray, face_width: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Centres (x, y) of the right (image-left) and left (image-right) cheek patches, and their radius."""
    r = landmarks[list(RIGHT_CHEEK), :2].mean(axis=0)
    lft = landmarks[list(LEFT_CHEEK), :2].mean(axis=0)
    return r, lft, CHEEK_RADIUS * face_width


def _disc(shape: tuple[int, int], centre: np.ndarray, radius: float) -> np.ndarray:
    m = np.zeros(shape, dtype=np.uint8)
    cv2.circle(m, (round(centre[0] * 16), round(centre[1] * 16)), max(1, round(radius * 16)), 1, -1, shift=4)
    return m.astype(bool)


# ------------------------------------------------------------------------------- the photo's light


@dataclass(frozen=True)
class Illumination:
    """The photo's own light on the subject, as fitted by :func:`estimate`.

    Attributes
    ----------
    coeffs : ndarray, shape (6,)
        The fitted model (see :func:`estimate`): ambient and light intensity (normalised so the
        shading's mean over the fitted skin is 1), the light's direction (3) and wrap (1).
    shading : ndarray, shape (h, w), float32
        That shading over the geometry frame (1 = the face's mean level): the fitted light at the
        scale of the head's form (:data:`FORM_SIGMA`) times the local residual (a hard shadow).
    level : float
        Mean linear luminance of the fitted skin.
    highlight : float
        The skin's 75th-percentile luminance relative to ``level``: where a photographer places the
        lit side of the face.
    residual : float
        Relative RMS residual of the fit (how much of the skin's variation the light explains not).
    form_luminance : ndarray, shape (h, w), float32
        The photo's luminance at the scale of the head's form (what :func:`shade` caps lifts
        against; it depends on the photo only, so it is computed once here).
    """

    coeffs: np.ndarray
    shading: np.ndarray
    level: float
    highlight: float
    residual: float
    form_luminance: np.ndarray


MIN_SHADING = 0.1
# The scale of the light's changes, in face widths (the sigma of a normalised Gaussian average over
# the subject): the head's form, not the mesh's folds. See the module docstring.
FORM_SIGMA = 0.15
# Candidate directions of the photo's dominant light (azimuth, elevation in degrees) and wraps.
_AZIMUTHS = np.arange(-90.0, 91.0, 10.0)
_ELEVATIONS = np.arange(-30.0, 71.0, 10.0)
_WRAPS = (0.0, 0.4)


def _candidates() -> tuple[np.ndarray, np.ndarray]:
    az, el = np.meshgrid(np.radians(_AZIMUTHS), np.radians(_ELEVATIONS))
    dirs = np.stack([np.cos(el) * np.sin(az), np.sin(el), np.cos(el) * np.cos(az)], axis=-1).reshape(-1, 3)
    wraps = np.repeat(np.array(_WRAPS), len(dirs))
    return np.tile(dirs, (len(_WRAPS), 1)), wraps


def estimate(geom: Geometry) -> Illumination:
    """Fit the photo's existing light on the face (once per photo).

    The model is an ambient term and one clamped Lambertian light whose direction and softness
    are searched over a grid: a window or a lamp on one side leaves a terminator that a linear
    (spherical-harmonic) model cannot follow, and second-order harmonics overfit the face's folds.
    The fit uses the skin above the upper lip (forehead, nose, cheeks), where albedo is most
    uniform (no beard, no lipstick), in two passes, the second without outliers (freckles,
    specular spots); what it still misses at the scale of a cast shadow
    is added by :func:`_local_residual`.
    """
    lm = geom.landmarks
    up_lip = lm[0, :2]
    eye = lm[LEFT_IRIS_CENTER, :2] - lm[RIGHT_IRIS_CENTER, :2]
    down = np.array([-eye[1], eye[0]]) / max(float(np.linalg.norm(eye)), 1e-9)  # image "down" of the face
    if down[1] < 0:
        down = -down
    vv, uu = np.nonzero(geom.skin > 0.5)
    above = (uu - up_lip[0]) * down[0] + (vv - up_lip[1]) * down[1] < 0
    vv, uu = vv[above], uu[above]
    y = geom.luminance[vv, uu].astype(np.float64)
    ok = (y > 1e-4) & (y < 0.98)
    vv, uu, y = vv[ok], uu[ok], y[ok]
    if y.size < 50:
        coeffs = np.array([1.0, 0.0, 0.0, 0.0, 1.0, 0.0])
        return Illumination(coeffs, np.ones(geom.shape, np.float32), float(np.median(y)) if y.size else 0.2, 1.0, 0.0,
                            _form(geom.luminance, geom))
    n = geom.normals[vv, uu].astype(np.float64)
    dirs, wraps = _candidates()
    lam_all = np.clip((n @ dirs.T + wraps) / (1 + wraps), 0.0, None)  # (N, candidates)
    keep = np.ones(y.size, dtype=bool)
    best_i, amb, lam = 0, float(np.mean(y)), 0.0
    for _ in range(2):
        yk, lk = y[keep], lam_all[keep]
        # Two non-negative unknowns per candidate (ambient, light), solved in closed form for all
        # candidates at once. A richer linear model (spherical harmonics) fitted here overfits the
        # face's folds with large cancelling terms, and dividing by it carves them into the skin.
        n_k = float(len(yk))
        s_l, s_ll = lk.sum(axis=0), (lk * lk).sum(axis=0)
        s_y, s_ly = float(yk.sum()), lk.T @ yk
        det = n_k * s_ll - s_l * s_l
        with np.errstate(divide="ignore", invalid="ignore"):
            light_c = np.where(det > 1e-9, (n_k * s_ly - s_l * s_y) / det, 0.0)
        light_c = np.maximum(light_c, 0.0)
        amb_c = np.maximum((s_y - light_c * s_l) / n_k, 0.0)
        err = (yk * yk).sum() + amb_c**2 * n_k + light_c**2 * s_ll - 2 * amb_c * s_y - 2 * light_c * s_ly \
            + 2 * amb_c * light_c * s_l
        best_i = int(np.argmin(err))
        amb, lam = float(amb_c[best_i]), float(light_c[best_i])
        res = y - (amb + lam * lam_all[:, best_i])
        mad = float(np.median(np.abs(res[keep]))) * 1.4826 + 1e-6
        keep = np.abs(res) < 2.5 * mad
    fitted = amb + lam * lam_all[keep, best_i]
    level = max(float(np.mean(fitted)), 1e-6)
    coeffs = np.concatenate([[amb / level, lam / level], dirs[best_i], [wraps[best_i]]])
    residual = float(np.sqrt(np.mean((y[keep] - fitted) ** 2))) / level
    d = dirs[best_i].astype(np.float32)
    w = np.float32(wraps[best_i])
    shading = (amb + lam * np.clip((geom.normals @ d + w) / (1 + w), 0.0, None)) / level
    # The model's light at the scale of the head's form (as the rig's, see shade()); what it misses
    # at a smaller scale, a hard window shadow, is measured in the photo by the residual below.
    shading = np.maximum(_form(np.maximum(shading, MIN_SHADING).astype(np.float32), geom), MIN_SHADING)
    shading = shading * _local_residual(geom, shading, level, c_ref=_chroma(geom.rgb[vv[keep], uu[keep]]))
    highlight = float(np.clip(np.percentile(y[keep], 75) / max(level, 1e-6), 1.0, 1.5))
    return Illumination(coeffs=coeffs, shading=shading, level=level, highlight=highlight, residual=residual,
                        form_luminance=_form(geom.luminance, geom))


RESIDUAL_SIGMA = 0.08  # face widths: the scale of light features the residual captures
# Chromaticity distance from the skin's at which a pixel stops counting: wide enough that skin in a
# deep shadow (its colour shifts with the light and the camera's noise) still counts, narrow enough
# to leave out a dark beard.
CHROMA_GATE = (0.1, 0.2)
MIRROR_EDGE = 0.02  # face widths: the softening of the residual's edge where the mirrored face ends


def _chroma(rgb: np.ndarray) -> np.ndarray:
    return rgb / np.maximum(rgb.sum(axis=-1, keepdims=True), 1e-6)


def _local_residual(geom: Geometry, shading: np.ndarray, level: float, *, c_ref: np.ndarray) -> np.ndarray:
    """What the smooth fit misses on one side of the face and not the other: a hard window shadow,
    a lamp's hot spot (a factor, 1 = none).

    The skin's luminance over the fitted shading, smoothed by normalised convolution over skin
    whose colour is the skin's own (a beard or stubble is darker *and* greyer: it is albedo, not
    light, and is left out).

    Only the part that differs from the mirrored point of the face (``Geometry.mirror``)
    counts: half the difference, so both sides meet in the middle. A face is close to symmetric,
    so what differs between its two sides is the photo's light; what both sides share is the
    face's own relief (the eye sockets, the hollows under the cheekbones, eye make-up), which the
    fit at the scale of the form cannot follow. Taken whole, the residual read the sockets as
    shadows and lifted them (a glow on the lids; measured: dlib's distance of the ``even`` rig's
    output, median of 8 dev photos, 0.181 whole, 0.137 half the difference, 0.135 with no
    residual at all). Where the mirrored point is not on the face, nothing is changed. The whole
    residual had a dead band of 0.1 stop for gentle albedo variation (a blush); that is mostly the
    same on both sides and now drops out, and a dead band on the difference left part of a
    one-sided shadow (``benchmarks/bench_light.py``, dead band 0.1 against none: the same
    likeness, pattern accuracy and evening out a little worse; docs/benchmarks.md "Relighting").
    """
    ref = np.median(c_ref.reshape(-1, 3), axis=0)
    dist = np.abs(_chroma(geom.rgb) - ref).sum(axis=-1)
    a, b = CHROMA_GATE
    gate = 1.0 - np.clip((dist - a) / (b - a), 0.0, 1.0)
    w = (geom.skin * gate).astype(np.float32)
    r = np.log2(np.maximum(geom.luminance, 1e-5) / np.maximum(level * shading, 1e-5))
    r = np.clip(r, -4.0, 2.0).astype(np.float32)
    sigma = RESIDUAL_SIGMA * geom.face_width
    num = cv2.GaussianBlur(r * w, (0, 0), sigma)
    den = cv2.GaussianBlur(w, (0, 0), sigma)
    res = num / np.maximum(den, 1e-4)
    res_m = cv2.remap(res, geom.mirror, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    den_m = cv2.remap(den, geom.mirror, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    t = 0.5 * (res - res_m)
    # Supported on both sides; the support's edge (the mesh's outline) softened so no step shows.
    both = (geom.mirror[..., 0] >= 0) * np.clip(den_m / 0.3, 0.0, 1.0)
    both = cv2.GaussianBlur(both.astype(np.float32), (0, 0), MIRROR_EDGE * geom.face_width)
    weight = geom.face * np.clip(den / 0.3, 0.0, 1.0) * both
    return np.exp2(t * weight).astype(np.float32)


# ----------------------------------------------------------------------------------- the new light


@dataclass(frozen=True)
class Shading:
    """A rig evaluated on one subject, in the geometry frame.

    Attributes
    ----------
    ratio : ndarray, shape (h, w, 3), float32
        Multiply the photo's linear RGB by this (strength already applied).
    sheen : ndarray, shape (h, w, 3), float32
        Add this (linear) for the skin's specular sheen.
    side : int
        Image side of the key (+1 right, -1 left).
    key_light : Light
        The key as placed (the meter may have swung it further round than the rig says).
    key : ndarray, shape (3,)
        Direction toward the key in the output camera frame.
    fill : float
        The fill intensity the meter chose (relative to the key).
    metered : float
        The cheek ratio the meter predicts at full strength, in stops: the rig's model times what
        the photo's estimated light leaves between the cheeks.
    notes : tuple of str
    """

    ratio: np.ndarray
    sheen: np.ndarray
    side: int
    key_light: Light
    key: np.ndarray
    fill: float
    metered: float
    notes: tuple[str, ...]


def _to_photo(direction: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    """A camera-frame direction of the output frame expressed in the photo's camera frame.

    ``rotation`` is the 2x2 rotation from photo image coordinates to output image coordinates."""
    img_out = np.array([direction[0], -direction[1]])
    img_photo = np.linalg.solve(rotation, img_out)
    return np.array([img_photo[0], -img_photo[1], direction[2]])


def _diffuse(normals: np.ndarray, l: np.ndarray, size: float) -> np.ndarray:
    w = np.float32(WRAP * size)
    d = normals @ l.astype(np.float32)
    return np.clip((d + w) / (1 + w), 0.0, 1.0)


def _visibility(depth: np.ndarray, l: np.ndarray, size: float, face_width: float) -> np.ndarray:
    """Cast-shadow visibility (1 lit, 0 shadowed) of a height field for a distant light.

    The map is rotated so the light shines along -x; a point is shadowed when the height field rises
    above the ray toward the light somewhere on that side: with g(x) = h(x) - x * slope, that is
    ``max(g[x:]) > g(x)``, a reverse cumulative maximum — exact for a height field and O(pixels).
    The shortfall grows with the distance from the occluder's edge, which gives a penumbra that
    widens away from the occluder; its scale follows the light's size.
    """
    lxy = np.array([l[0], -l[1]])  # toward the light, image coordinates
    n = float(np.linalg.norm(lxy))
    if n < 1e-3 or l[2] <= 0:
        return np.ones(depth.shape, np.float32)
    dx, dy = lxy / n
    slope = float(l[2]) / n
    h, w = depth.shape
    rot = np.array([[dx, dy], [-dy, dx]])
    corners = np.array([[0, 0], [w, 0], [0, h], [w, h]], dtype=np.float64) @ rot.T
    lo = corners.min(axis=0)
    size_out = np.ceil(corners.max(axis=0) - lo).astype(int) + 1
    m = np.hstack([rot, -lo[:, None]])
    rd = cv2.warpAffine(depth, m, (int(size_out[0]), int(size_out[1])), flags=cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_CONSTANT)
    g = rd - np.arange(rd.shape[1], dtype=np.float32)[None, :] * np.float32(slope)
    short = np.maximum.accumulate(g[:, ::-1], axis=1)[:, ::-1] - g
    bias = 0.5 * slope + 0.002 * face_width
    pen = (0.01 + 0.12 * size) * face_width
    vis = 1.0 - np.clip((short - bias) / pen, 0.0, 1.0)
    back = cv2.warpAffine(vis.astype(np.float32), m, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=1.0)
    sigma = max(0.5, (0.005 + 0.03 * size) * face_width)
    return cv2.GaussianBlur(back, (0, 0), sigma)


def _form(x: np.ndarray, geom: Geometry) -> np.ndarray:
    """``x`` at the scale of the head's form: a normalised Gaussian average over the subject with a
    sigma of FORM_SIGMA face widths (the background does not bleed in at the silhouette).

    Computed at a quarter of the geometry frame's resolution (the result is smooth at that scale)."""
    h, w = geom.shape
    small = (max(2, w // 4), max(2, h // 4))
    wt = cv2.resize(geom.subject, small, interpolation=cv2.INTER_AREA)
    xs = cv2.resize(x, small, interpolation=cv2.INTER_AREA)
    sig = FORM_SIGMA * geom.face_width / 4
    num = cv2.GaussianBlur(xs * (wt if xs.ndim == 2 else wt[..., None]), (0, 0), sig)
    den = np.maximum(cv2.GaussianBlur(wt, (0, 0), sig), 1e-3)
    out = num / (den if xs.ndim == 2 else den[..., None])
    return cv2.resize(out.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)


def _light_terms(geom: Geometry, light: Light, side: int, rotation: np.ndarray,
                 shadows: bool) -> tuple[np.ndarray, np.ndarray]:
    """(diffuse x visibility, visibility) of one light over the geometry frame, the diffuse term
    at the scale of the head's form (:func:`_form`)."""
    l_photo = _to_photo(light_direction(light, side), rotation)
    diff = _form(_diffuse(geom.normals, l_photo, light.size), geom)
    if not shadows:
        return diff, np.ones_like(diff)
    vis = _visibility(geom.depth, l_photo, light.size, geom.face_width)
    return diff * vis, vis


def shade(geom: Geometry, illum: Illumination, rig: Rig, *, rotation: np.ndarray, strength: float = 1.0) -> Shading:
    """Evaluate a rig on a subject: the ratio that relights the photo, and the sheen to add.

    Parameters
    ----------
    geom : Geometry
    illum : Illumination
        From :func:`estimate`.
    rig : Rig
    rotation : ndarray, shape (2, 2)
        Rotation from the photo's image coordinates to the output's (the framing's roll correction).
    strength : float in [0, 1]
        0 keeps the photo's light, 1 applies the rig fully.

    Returns
    -------
    Shading
    """
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be in [0, 1], got {strength}")
    notes: list[str] = []
    side = key_side(rig, _out_landmarks(geom, rotation))
    lit_c, shadow_c = _lit_and_shadow_patches(geom, side)

    # The meter reads the face, not the model: what the photo's estimated light leaves between the
    # two cheeks (a difference in their albedo, what the estimate missed) is part of the ratio the
    # camera will see, so the key's swing and the fill are set with it in.
    rho = 1.0
    if lit_c.any() and shadow_c.any():
        lit_y, shadow_y = (float(np.median(geom.luminance[c] / np.maximum(illum.shading[c], MIN_SHADING)))
                           for c in (lit_c, shadow_c))
        rho = float(np.clip(lit_y / max(shadow_y, 1e-6), *METER_RHO))

    fill = None
    fill_i = 0.0
    if rig.fill is not None:
        fill, _ = _light_terms(geom, rig.fill, side, rotation, shadows=rig.fill.size < 0.8)
        fill_i = rig.fill.intensity
    # Like a photographer with a meter: when the key alone does not give the two cheeks the ratio
    # (a face turned toward the key), swing the key further round until it does; then set the fill.
    key_light = rig.key
    while True:
        key, key_vis = _light_terms(geom, key_light, side, rotation, shadows=True)
        kl, ks = float(key[lit_c].mean()), float(key[shadow_c].mean())
        reach = rho * (kl + AMBIENT) / (ks + AMBIENT)
        swung = key_light.azimuth - rig.key.azimuth
        if (rig.ratio <= 1.0 + 1e-6 or reach >= rig.ratio * 1.05 or swung >= SWING_MAX
                or key_light.azimuth + SWING_STEP > 100):
            break
        key_light = dataclasses.replace(key_light, azimuth=key_light.azimuth + SWING_STEP)
    if key_light.azimuth != rig.key.azimuth:
        notes.append(f"key moved from {rig.key.azimuth:g}° to {key_light.azimuth:g}° round the face to reach "
                     f"{rig.ratio:g}:1 on the cheeks")
    terms = [(key, 1.0, key_light)]
    if fill is not None and rig.ratio > 1.0 + 1e-6:
        fl, fs = float(fill[lit_c].mean()), float(fill[shadow_c].mean())
        den = rho * fl - rig.ratio * fs
        num = rig.ratio * (ks + AMBIENT) - rho * (kl + AMBIENT)
        if den < -1e-6 and num <= 0:
            fill_i = min(max(num / den, MIN_FILL), MAX_FILL)
        else:
            fill_i = MIN_FILL
            notes.append(f"the key alone lights this face's cheeks more evenly than {rig.ratio:g}:1; no fill used")
    if fill is not None:
        terms.append((fill, fill_i, rig.fill))
    # An even rig (1:1: even, butterfly, clamshell) meters the cheeks as well. What the photo's
    # estimated light leaves between them (rho: a window's shadow the fit did not follow) would
    # come out as it went in, so it is balanced the way a photographer evens a face without
    # moving the key: a large soft source (a reflector, a V-flat) low on the darker side, at the
    # intensity that makes the cheeks read 1:1. (Swinging the key instead turns the face's
    # modelling round: on a 2.5-stop split it took the key 64° onto the other side.)
    if rig.ratio <= 1.0 + 1e-6 and abs(math.log2(rho)) > BALANCE_MIN:
        src = rig.fill or rig.key
        toward = -1.0 if rho > 1.0 else 1.0  # the darker cheek's side in the photo's remainder
        bal_light = Light(azimuth=toward * BALANCE_AZ, elevation=src.elevation, size=1.0,
                          temperature=src.temperature, modifier=src.modifier)
        bal, _ = _light_terms(geom, bal_light, side, rotation, shadows=False)
        lit_sum = kl + AMBIENT + (fill_i * float(fill[lit_c].mean()) if fill is not None else 0.0)
        shadow_sum = ks + AMBIENT + (fill_i * float(fill[shadow_c].mean()) if fill is not None else 0.0)
        bl, bs = float(bal[lit_c].mean()), float(bal[shadow_c].mean())
        # rho (lit + b bl) = shadow + b bs: the balance's intensity b.
        num, den = shadow_sum - rho * lit_sum, rho * bl - bs
        if num * den > 0:
            b = min(num / den, MAX_FILL)
            terms.append((bal, b, bal_light))
            notes.append(f"a soft source on the darker side (intensity {b:.2f}) balances the "
                         f"{abs(math.log2(rho)):.2f} stop the photo's light leaves between the cheeks")
    if rig.rim is not None:
        rim, _ = _light_terms(geom, rig.rim, side, rotation, shadows=False)
        terms.append((rim, rig.rim.intensity, rig.rim))

    total = np.full(geom.shape + (3,), AMBIENT, dtype=np.float32)
    for term, intensity, light in terms:
        total += (np.float32(intensity) * term)[..., None] * kelvin_to_rgb(light.temperature)
    lum = total @ LUMA
    lit_level = float(lum[lit_c].mean())
    shadow_level = float(lum[shadow_c].mean())
    metered = math.log2(rho * max(lit_level, 1e-6) / max(shadow_level, 1e-6))
    # Exposure, metered as a photographer would (the two cases below).
    ratio = total / illum.shading[..., None]
    skin = (geom.skin > 0.5) & (geom.face > 0.5)
    if rig.ratio > 1.0 + 1e-6 and lit_c.any() and np.count_nonzero(skin) >= 50:
        # A directional rig is exposed for its lit side, as a photographer meters the key: the lit
        # cheek lands where the photo's lit skin was (its upper quartile, ``illum.highlight``) and
        # the shadow side falls by the ratio. Keeping the face's mean luminance instead lifted the
        # lit side of an 8:1 split about 0.8 stop over that (the mean of 1 and 1/8 kept at 1),
        # into the cap on lifts, which flattened it to a near-white patch on a small face and
        # left the split short of its ratio (bench_light: split within 0.5 stop 16/20 -> 19/20;
        # docs/benchmarks.md "Relighting").
        out_lit = float(np.median(geom.luminance[lit_c] * (ratio[lit_c] @ LUMA)))
        ratio *= np.float32(illum.highlight * illum.level / max(out_lit, 1e-6))
    elif np.count_nonzero(skin) >= 50:
        # A 1:1 rig changes the face's light, not its exposure: the face's skin keeps its mean.
        y = geom.luminance[skin]
        ratio *= np.float32(float(y.sum()) / max(float((y * (ratio[skin] @ LUMA)).sum()), 1e-9))
    else:  # no skin to meter (a tiny face): expose for the lit cheek at the skin's upper quartile
        ratio *= np.float32(illum.highlight / max(lit_level, 1e-6))
    # Nothing is lifted above the lit skin's level (upper quartile) by more than HOT_SPOT: where the
    # fit mistakes dark albedo or a deep shadow for light, a lift is capped instead of burning out.
    # The cap is on the luminance at the form's scale: a cap that followed the photo's finer detail
    # would tone-map the features (it measurably moved the identity embedding).
    cap = np.float32(HOT_SPOT * illum.level * illum.highlight) / np.maximum(illum.form_luminance, 1e-4)
    ratio = np.minimum(ratio, np.maximum(cap, 1.0)[..., None])
    np.clip(ratio, MIN_RATIO, MAX_RATIO, out=ratio)

    sheen = np.zeros_like(ratio)
    if rig.sheen > 0:
        lk = _to_photo(light_direction(key_light, side), rotation)
        half = lk + np.array([0.0, 0.0, 1.0])
        half /= np.linalg.norm(half)
        p = 6.0 + 30.0 * (1.0 - rig.key.size)
        spec = np.clip(geom.normals @ half.astype(np.float32), 0.0, 1.0) ** np.float32(p)
        spec *= key_vis * geom.face * np.float32(rig.sheen * illum.level / max(lit_level, 1e-6))
        sheen = spec[..., None] * kelvin_to_rgb(rig.key.temperature)

    s = np.float32(strength)
    if strength < 1.0:
        ratio = 1.0 + s * (ratio - 1.0)
        sheen = sheen * s
    subj = geom.subject[..., None]
    ratio = (1.0 + subj * (ratio - 1.0)).astype(np.float32)
    return Shading(
        ratio=ratio,
        sheen=(sheen * subj).astype(np.float32),
        side=side,
        key_light=key_light,
        key=light_direction(key_light, side),
        fill=float(fill_i),
        metered=metered,
        notes=tuple(notes),
    )


def _out_landmarks(geom: Geometry, rotation: np.ndarray) -> np.ndarray:
    """The geometry-frame landmarks turned as the output shows them (for yaw-dependent choices)."""
    lm = geom.landmarks.copy()
    lm[:, :2] = lm[:, :2] @ rotation.T
    return lm


def _lit_and_shadow_patches(geom: Geometry, side: int) -> tuple[np.ndarray, np.ndarray]:
    r, lft, rad = cheek_patches(geom.landmarks, geom.face_width)
    right_patch = _disc(geom.shape, r, rad)
    left_patch = _disc(geom.shape, lft, rad)
    # side +1: key on the image's right, which lights the subject's left cheek.
    return (left_patch, right_patch) if side > 0 else (right_patch, left_patch)


# ------------------------------------------------------------------------------------- catchlights


def _shape(modifier: str, r: float, size: float) -> list[np.ndarray]:
    """The catchlight's outline(s) around its centre, in pixels, for a modifier (not ``ring``)."""
    k = 0.75 + 0.5 * size
    if modifier in ("octabox", "umbrella"):
        rad = 0.2 * r * k
        n = 8 if modifier == "octabox" else 24
        a = np.arange(n) * 2 * np.pi / n + np.pi / n
        return [np.column_stack([np.cos(a), np.sin(a)]) * rad]
    if modifier == "bare":
        a = np.arange(16) * 2 * np.pi / 16
        return [np.column_stack([np.cos(a), np.sin(a)]) * 0.08 * r]
    if modifier == "stripbox":
        w, h = 0.08 * r * k, 0.26 * r * k
    else:  # softbox: portrait-oriented rectangle
        w, h = 0.14 * r * k, 0.19 * r * k
    return [np.array([[-w, -h], [w, -h], [w, h], [-w, h]])]


def _eye_mask(poly: np.ndarray, shape: tuple[int, int], origin: np.ndarray) -> np.ndarray:
    m = np.zeros(shape, dtype=np.uint8)
    cv2.fillPoly(m, [np.round((poly - origin) * 16).astype(np.int32)], 255, lineType=cv2.LINE_AA, shift=4)
    return m.astype(np.float32) / 255.0


def paint_catchlights(
    image: np.ndarray,
    landmarks: np.ndarray,
    rig: Rig,
    side: int,
    *,
    key: Light | None = None,
    strength: float = 1.0,
) -> tuple[np.ndarray, list[float]]:
    """Tone down stray catchlights and paint the key's, in place, in the output frame.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), float32, linear RGB
        The relit output (modified in place and returned).
    landmarks : ndarray, shape (478, 2+)
        Face landmarks in output pixels.
    rig : Rig
    side : int
        Image side of the key (from :func:`shade`).
    key : Light, optional
        The key as placed by :func:`shade` (``Shading.key_light``); default the rig's.
    strength : float in [0, 1]

    Returns
    -------
    (image, clock) : the image, and the catchlights' clock positions in hours (one per eye painted).
    """
    clocks: list[float] = []
    if not rig.catchlights or strength <= 0:
        return image, clocks
    key = rig.key if key is None else key
    l = light_direction(key, side)
    half = l + np.array([0.0, 0.0, 1.0])
    half /= np.linalg.norm(half)
    direction = np.array([half[0], -half[1]]) * CORNEA  # image coordinates, in iris radii
    colour = kelvin_to_rgb(key.temperature)
    colour = colour / colour.max()
    H, W = image.shape[:2]
    for centre_i, ring, poly_i in ((RIGHT_IRIS_CENTER, RIGHT_IRIS, RIGHT_EYE), (LEFT_IRIS_CENTER, LEFT_IRIS, LEFT_EYE)):
        c = landmarks[centre_i, :2].astype(np.float64)
        r = float(np.mean(np.linalg.norm(landmarks[list(ring), :2] - c, axis=1)))
        if r < 2.0:
            continue  # an eye this small shows no catchlight anyway
        poly = landmarks[list(poly_i), :2].astype(np.float64)
        x0 = int(max(0, math.floor(min(poly[:, 0].min(), c[0] - r) - 2)))
        y0 = int(max(0, math.floor(min(poly[:, 1].min(), c[1] - r) - 2)))
        x1 = int(min(W, math.ceil(max(poly[:, 0].max(), c[0] + r) + 3)))
        y1 = int(min(H, math.ceil(max(poly[:, 1].max(), c[1] + r) + 3)))
        if x1 - x0 < 3 or y1 - y0 < 3:
            continue
        patch = image[y0:y1, x0:x1]
        origin = np.array([x0, y0], dtype=np.float64)
        opening = _eye_mask(poly, patch.shape[:2], origin)
        iris = np.zeros(patch.shape[:2], dtype=np.uint8)
        cv2.circle(iris, (round((c[0] - x0) * 16), round((c[1] - y0) * 16)), round(r * 16), 255, -1,
                   lineType=cv2.LINE_AA, shift=4)
        inside = (iris.astype(np.float32) / 255.0) * opening
        lum = patch @ LUMA
        sel = inside > 0.5
        if np.count_nonzero(sel) < 4:
            continue
        med = float(np.median(lum[sel]))
        base = np.median(patch[sel], axis=0)

        # Where the new catchlight goes: the cornea's reflection of the key, pulled toward the iris
        # centre (same direction, so the same clock position) until it is clear of the eyelids.
        pos = c + direction * r
        for _ in range(8):
            px, py = round(pos[0] - x0), round(pos[1] - y0)
            if 0 <= py < opening.shape[0] and 0 <= px < opening.shape[1] and inside[py, px] > 0.9:
                break
            pos = c + (pos - c) * 0.8
        # Stray reflections (a ring light, a window, a phone): bright spots away from the new one.
        stray = (lum > max(2.0 * med, med + 0.08)) & sel
        if np.any(stray):
            yy, xx = np.mgrid[0 : patch.shape[0], 0 : patch.shape[1]]
            near = np.hypot(xx - (pos[0] - x0), yy - (pos[1] - y0)) < 0.3 * r
            stray &= ~near
            m = cv2.GaussianBlur(cv2.dilate(stray.astype(np.float32), np.ones((3, 3), np.uint8)), (0, 0), 0.6)
            m = (m * inside * 0.9 * strength)[..., None]
            patch[:] = patch * (1 - m) + base.astype(np.float32) * m

        # The catchlight itself, anti-aliased at 1/16 pixel and kept inside the eye opening.
        shape = np.zeros(patch.shape[:2], dtype=np.uint8)
        polys = _shape(key.modifier, r, key.size)
        if key.modifier == "ring":
            cv2.circle(shape, (round((c[0] - x0) * 16), round((c[1] - y0) * 16)), round(0.55 * r * 16), 255,
                       max(1, round(0.12 * r)), lineType=cv2.LINE_AA, shift=4)
        else:
            pts = [np.round((p + pos - origin) * 16).astype(np.int32) for p in polys]
            cv2.fillPoly(shape, pts, 255, lineType=cv2.LINE_AA, shift=4)
        a = shape.astype(np.float32) / 255.0
        if r < 6:
            a = cv2.GaussianBlur(a, (0, 0), 0.5)
        a *= np.clip(opening * 1.2, 0, 1) * np.float32(0.92 * strength)
        bright = np.float32(max(0.85, 3.0 * med))
        patch[:] = patch * (1 - a[..., None]) + (bright * colour)[None, None, :] * a[..., None]
        v = pos - c
        clocks.append(float((math.degrees(math.atan2(v[0], -v[1])) / 30.0) % 12.0))
    return image, clocks
