"""Tone and (later) retouching of the subject, in linear light.

This foundation version does exposure only: a style's deliberate bias, plus a correction of a face
that is clearly under- or over-exposed. A face whose level is already in the normal range is left
alone: the photo's exposure says nothing certain about the skin's own lightness, and a complexion must
never be pushed toward a norm. Texture-preserving skin work, white balance and contrast curves belong
to the retouch issue and will extend this module.
"""

from __future__ import annotations

import numpy as np

from .presets import Tone

__all__ = ["exposure_gain", "apply_gain", "FACE_RANGE"]

# Median linear luminance of face skin considered normally exposed: sRGB ~0.30 to ~0.75 (the darkest
# and lightest complexions photographed correctly fall inside; only a badly exposed photo falls out).
FACE_RANGE = (0.07, 0.52)
MAX_CORRECTION = 2.0  # one stop either way, at most


def exposure_gain(face_luminance: float, tone: Tone) -> float:
    """The linear gain for the subject.

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


def apply_gain(image: np.ndarray, gain: float, *, knee: float = 0.8) -> np.ndarray:
    """Multiply linear RGB by `gain`, rolling highlights off smoothly above `knee` instead of clipping.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), float32, linear in [0, 1]
    gain : float > 0
    knee : float in (0, 1)
        Values below it are scaled exactly; above it they approach 1 asymptotically.

    Returns
    -------
    ndarray, same shape, float32 in [0, 1]
    """
    if gain <= 0:
        raise ValueError(f"gain must be positive, got {gain}")
    if gain == 1.0:
        return image
    out = image * np.float32(gain)
    if gain > 1.0:
        hi = out > knee
        if np.any(hi):
            x = out[hi]
            out[hi] = knee + (1.0 - knee) * np.tanh((x - knee) / (1.0 - knee))
    return np.clip(out, 0.0, 1.0, out=out)
