"""Capture checks: is this photo good enough for a headshot, and what should the person do about it?

Each check returns :class:`Finding` objects with a severity and a message a person can act on.
Severities: ``info`` (will be handled, nothing to do), ``warn`` (the headshot will be made but would be
better with a retake), ``poor`` (a retake is strongly advised).

Measurements are made on a copy of the face normalised to a fixed size, so thresholds do not depend on
the photo's resolution. The thresholds were set on the dev photos and on blurred, darkened and rotated
copies of them (see tests/test_checks.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import cv2
import numpy as np

from .face import Face, eye_aspect_ratios, region_mask

__all__ = ["Finding", "run", "verdict", "SEVERITIES", "face_stats", "FaceStats"]

SEVERITIES = ("info", "warn", "poor")

# Thresholds (documented in the README's "Capture checks" table).
FACE_WIDTH_POOR = 120  # px: below this even a small avatar is upscaled
FACE_WIDTH_WARN = 200  # px: below this a 1200 px LinkedIn headshot needs >2x enlargement
# skimage's blur_effect (Crete-Roffet et al. 2007), 0 = sharp, 1 = flat. On the dev photos: sharp
# originals 0.29-0.48; soft video stills / red-carpet shots 0.59-0.65; a Gaussian blur of 1 px per
# 256 px of face width 0.44-0.62; 2 px 0.59-0.80.
BLUR_WARN = 0.56
BLUR_POOR = 0.68
DARK_POOR, DARK_WARN = 0.05, 0.09  # median linear skin luminance (sRGB ~0.25 / ~0.33)
BRIGHT_WARN = 0.62  # (sRGB ~0.81)
CLIPPED_WARN = 0.04  # fraction of skin pixels with a clipped channel
EYES_CLOSED, EYES_HALF = 0.12, 0.17  # eye aspect ratio
YAW_WARN, YAW_POOR = 15.0, 28.0
PITCH_WARN, PITCH_POOR = 18.0, 30.0
ROLL_INFO, ROLL_WARN = 2.0, 25.0
UNEVEN_INFO, UNEVEN_WARN = 1.5, 2.2  # ratio of the brighter to the darker half of the face (linear)

NORM_WIDTH = 256  # face width, in px, of the normalised face crop


@dataclass(frozen=True)
class Finding:
    """One result of a capture check.

    Attributes
    ----------
    code : str
        Stable identifier (``face_small``, ``blurry``, ``dark``, ``eyes_closed``...).
    severity : {"info", "warn", "poor"}
    message : str
        What was found and what to do, in one sentence.
    value : float or None
        The measured quantity the finding is about.
    """

    code: str
    severity: str
    message: str
    value: float | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "value": None if self.value is None else round(float(self.value), 3),
        }


def verdict(findings: "tuple[Finding, ...] | list[Finding]") -> str:
    """One phrase for a photo's capture checks: ``good``, ``usable, could be better`` or ``retake advised``."""
    worst = {f.severity for f in findings}
    if "poor" in worst:
        return "retake advised"
    return "usable, could be better" if "warn" in worst else "good"


@dataclass(frozen=True)
class FaceStats:
    """Photometric measurements of the face, shared by the checks and the tone stage.

    Attributes
    ----------
    luminance : float
        Median linear luminance of the face's skin.
    clipped : float
        Fraction of skin pixels with a channel at or above 0.98 (sRGB ~0.99).
    blur : float
        Perceptual blur of the face in [0, 1] (skimage's ``blur_effect``; sharp photos < 0.5).
    halves : tuple of float
        Median luminance of the image-left and image-right half of the skin.
    """

    luminance: float
    clipped: float
    blur: float
    halves: tuple[float, float]


def _luma(img: np.ndarray) -> np.ndarray:
    return img[..., 0] * 0.2126 + img[..., 1] * 0.7152 + img[..., 2] * 0.0722


def face_stats(image: np.ndarray, face: Face) -> FaceStats:
    """Measure the face.

    The face is cut out of the full-resolution photo, levelled, and brought to a face width of
    ``NORM_WIDTH`` pixels by shrinking only (never enlarging): a small face is measured at its own
    resolution, so its sharpness reflects the photo, not an interpolation.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), float32, linear RGB in [0, 1]
        The photo at full resolution.
    face : Face
        Landmarks in the photo's pixels.
    """
    k = min(1.0, NORM_WIDTH / max(face.width, 1.0))
    side = int(math.ceil(max(face.width, 8.0) * k * 2))
    # Shrink a generous box around the face first (exact box filter), then level it.
    half = face.width * 1.2
    cx, cy = face.eye_mid
    x0, y0 = int(max(0, cx - half)), int(max(0, cy - half))
    x1, y1 = int(min(image.shape[1], cx + half)), int(min(image.shape[0], cy + half))
    part = image[y0:y1, x0:x1]
    if k < 1.0:
        part = cv2.resize(part, (max(1, round(part.shape[1] * k)), max(1, round(part.shape[0] * k))),
                          interpolation=cv2.INTER_AREA)
    theta = math.radians(face.pose.roll)
    c, s = math.cos(theta), math.sin(theta)
    r = np.array([[c, s], [-s, c]]) * k  # photo -> crop (levelled, scaled)
    m = np.empty((2, 3))
    m[:, :2] = r / k  # the part is already scaled by k
    # part pixel (u) = (photo - (x0, y0)) * k  ->  crop = R/k (u) + t with t chosen so eye_mid -> centre
    m[:, 2] = np.array([side / 2, side * 0.4]) - (r / k) @ ((face.eye_mid - np.array([x0, y0])) * k)
    crop = cv2.warpAffine(part, m, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    lum = _luma(crop)

    # Landmarks in the crop.
    pts = (face.landmarks[:, :2].astype(np.float64) - face.eye_mid) @ r.T + np.array([side / 2, side * 0.4])
    lm = face.landmarks.copy()
    lm[:, :2] = pts
    norm_face = replace(face, landmarks=lm)
    skin = region_mask(norm_face, "skin", (side, side)) > 0.5
    skin_vals = lum[skin]
    if skin_vals.size < 50:
        skin_vals = lum[region_mask(norm_face, "face", (side, side)) > 0.5]
    if skin_vals.size == 0:
        skin_vals = lum.ravel()
    luminance = float(np.median(skin_vals))
    rgb_skin = crop[skin] if np.count_nonzero(skin) else crop.reshape(-1, 3)
    clipped = float(np.mean(np.max(rgb_skin, axis=1) >= 0.98))

    # Blur: measured on gamma-encoded luminance (as perceived) over the face, from brows to chin,
    # at the normalised size, with a published no-reference metric.
    from skimage.measure import blur_effect

    g = np.power(np.clip(lum, 0, 1), 1 / 2.2).astype(np.float32)
    ey, fw = side * 0.4, side / 2  # the eyes' height and the face's width in the crop
    region = g[int(max(0, ey - 0.45 * fw)): int(ey + 0.825 * fw),
               int(max(0, side / 2 - 0.75 * fw)): int(side / 2 + 0.75 * fw)]
    blur = float(blur_effect(region))

    mid_x = side / 2
    xs = np.arange(side)[None, :].repeat(side, 0)
    left = lum[skin & (xs < mid_x)]
    right = lum[skin & (xs >= mid_x)]
    halves = (
        float(np.median(left)) if left.size else luminance,
        float(np.median(right)) if right.size else luminance,
    )
    return FaceStats(luminance=luminance, clipped=clipped, blur=blur, halves=halves)


def run(face: Face, stats: FaceStats, *, photo_size: tuple[int, int] | None = None,
        touching: tuple[str, ...] = ()) -> list[Finding]:
    """All capture checks for one face, most severe first.

    Parameters
    ----------
    face : Face
    stats : FaceStats
    photo_size : (width, height), optional
        Enables the framing check (is there room around the head?).
    touching : tuple of str
        Photo edges the subject touches (from the matte).
    """
    out: list[Finding] = []

    if photo_size is not None:
        pw, ph = photo_size
        crown_y = float(face.crown[1])
        if "top" in touching and crown_y < 0.02 * ph or face.width > 0.6 * pw:
            out.append(Finding("tight_crop", "poor",
                               "the photo is cropped tightly around the face; use one that shows your head and "
                               "shoulders with some room above your hair", face.width / pw))
        elif "top" in touching:
            out.append(Finding("head_cut", "warn",
                               "the top of your head is cut off; leave some room above your hair", None))

    if face.faces_found > 1:
        n = face.faces_found
        words = {2: "two", 3: "three", 4: "four"}.get(n, str(n))
        out.append(Finding("several_faces", "info", f"{words} faces found: using the largest", float(n)))

    w = face.width
    if w < FACE_WIDTH_POOR:
        out.append(Finding("face_small", "poor",
                           f"face is {w:.0f} px wide; move closer or use the rear camera (aim for 300 px or more)", w))
    elif w < FACE_WIDTH_WARN:
        out.append(Finding("face_small", "warn",
                           f"face is {w:.0f} px wide; move closer or use the rear camera for a sharper headshot", w))

    if stats.blur >= BLUR_POOR:
        out.append(Finding("blurry", "poor",
                           "the face is blurred; hold the camera steady, tap to focus on your eyes, clean the lens",
                           stats.blur))
    elif stats.blur >= BLUR_WARN:
        out.append(Finding("soft", "warn",
                           "the face is slightly soft; tap to focus on your eyes and hold still", stats.blur))

    lum = stats.luminance
    if lum < DARK_POOR:
        out.append(Finding("dark", "poor",
                           "the face is very dark; face a window or a lamp and avoid a bright background behind you", lum))
    elif lum < DARK_WARN:
        out.append(Finding("dark", "warn", "the face is underexposed; face a window or turn on a light", lum))
    if lum > BRIGHT_WARN or stats.clipped > CLIPPED_WARN:
        out.append(Finding("bright", "warn",
                           f"{stats.clipped * 100:.0f}% of the face is burnt out; avoid direct sun and the flash",
                           stats.clipped))

    re, le = eye_aspect_ratios(face)
    ear = min(re, le)
    if ear < EYES_CLOSED:
        out.append(Finding("eyes_closed", "poor", "eyes closed; take the photo with your eyes open", ear))
    elif ear < EYES_HALF:
        out.append(Finding("eyes_half", "warn", "eyes look half closed; relax and look into the lens", ear))

    yaw, pitch, roll = face.pose.yaw, face.pose.pitch, face.pose.roll
    if abs(yaw) >= YAW_WARN:
        sev = "poor" if abs(yaw) >= YAW_POOR else "warn"
        out.append(Finding("turned", sev,
                           f"head turned {abs(yaw):.0f}° to the side; face the camera with your shoulders slightly turned",
                           yaw))
    if abs(pitch) >= PITCH_WARN:
        sev = "poor" if abs(pitch) >= PITCH_POOR else "warn"
        way = "raised" if pitch > 0 else "lowered"
        out.append(Finding("pitch", sev,
                           f"chin {way} {abs(pitch):.0f}°; hold the camera at eye height and look straight into it",
                           pitch))
    if abs(roll) >= ROLL_WARN:
        out.append(Finding("tilted", "warn",
                           f"head tilted {abs(roll):.0f}°: will be straightened, but hold your head level for a natural look",
                           roll))
    elif abs(roll) >= ROLL_INFO:
        out.append(Finding("tilted", "info", f"head tilted {abs(roll):.0f}°: will be straightened", roll))

    lo_half, hi_half = sorted(stats.halves)
    if lo_half > 0:
        ratio = hi_half / lo_half
        if ratio >= UNEVEN_INFO:
            darker = "left" if stats.halves[0] < stats.halves[1] else "right"
            sev = "warn" if ratio >= UNEVEN_WARN else "info"
            out.append(Finding("uneven_light", sev,
                               f"strong shadow on the {darker} half of the face ({math.log2(ratio):.1f} stops darker); "
                               "face the window or light squarely", ratio))

    order = {s: i for i, s in enumerate(reversed(SEVERITIES))}
    out.sort(key=lambda f: order[f.severity])
    return out
