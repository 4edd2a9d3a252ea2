"""The identity measure: how far an output face is from the input face, by an independent model.

The measure is the Euclidean distance between dlib's ResNet face-recognition embeddings (128-d,
the model behind the ``face_recognition`` package: HOG frontal detector, 68-point shape predictor,
``compute_face_descriptor`` with one jitter). It is independent of MediaPipe, which the pipeline
itself uses, so the pipeline cannot "agree with itself".

The face chip is aligned on dlib's 68-point fit. (``face_recognition.face_encodings`` itself aligns
on the 5-point predictor by default; ``landmarks=5`` gives that variant. It was compared on the dev
photos and not adopted: docs/benchmarks.md, "Identity".)

What the numbers mean (the scale from the project's design notes, with the medians and maxima measured
over the astronaut and the 19 single-person dev photos by ``benchmarks/bench_identity.py``):

==============================================  =======================  ==================
change                                          design notes             measured (median / max)
==============================================  =======================  ==================
JPEG quality-85 re-save                         ~0.04                    0.039 / 0.143
2x downscale then upscale                       ~0.04                    0.053 / 0.161
same photo reframed (rotate, scale, shift)      --                       0.061 / 0.194
same photo rescaled 0.8-2x, nothing else        --                       0.047-0.063 / 0.21
same photo, background replaced (matte)         --                       0.046 / 0.196
crude global brightness/contrast/warmth change  ~0.10
blur                                            ~0.11
two different photos of the same person         0.26-0.61 (median 0.39)
different people                                >= 0.52 (median 0.89)
``face_recognition``'s "same person" threshold  0.6
==============================================  =======================  ==================

So a headshot that only reframes, relights and retouches should stay within ~0.08 of its input
(the bound the tests and benchmarks use); more than that suggests the face itself was changed.
Know the measure's limits before blaming the pipeline:

- It is not purely about the face: dlib's 150x150 face chip keeps a 25% margin, so hair and
  background around the face enter the embedding; replacing the background alone moves it
  0.00-0.08 on the dev photos (0.20 on ``if_RD_d3.jpeg``), and the same output on two backdrop
  colours can differ by 0.05.
- It moves when only the face's size in the image changes: a pure rescale of the input by
  0.8-2x (``benchmarks/bench_identity.py --rescale``) costs a median 0.05-0.06 and puts 2-4 of
  the 20 dev photos over 0.08, while scaling back to the original size costs 0.01: the 150x150
  chip is resampled by dlib, and the embedding follows how that falls on the face.
- It depends on dlib's own detector box and 68-point fit: on a small face (< ~100 px) or a tilted
  head where the fit slips (``if_RD_d3.jpeg``'s jaw line), even a JPEG re-save moves it 0.08-0.14.
  Compare with the re-save of the same photo before reading a number.
- It is deterministic: the same pixels always give the same embedding (``num_jitters=1`` does no
  random jittering).

Needs the ``eval`` extra (``pip install -e .[eval]``: ``dlib-bin`` and ``face-recognition-models``).
dlib is imported lazily inside the functions and the models are loaded once per process; the model
files are located without importing ``face_recognition_models`` (which imports ``pkg_resources``).
"""

from __future__ import annotations

import importlib.util
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["LANDMARKS", "NoFaceForIdentity", "embedding", "embedding_at", "fit_landmarks", "distance", "distance_to",
           "identity_distance", "model_dir"]

_INSTALL = "the identity measure needs the eval extra: pip install -e .[eval]"


class NoFaceForIdentity(ValueError):
    """dlib's detector found no face in an image given to the identity measure."""


def model_dir() -> Path:
    """Folder holding the ``face_recognition_models`` model files.

    Raises
    ------
    ImportError
        The package is not installed.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"face_recognition_models is not installed; {_INSTALL}")
    return Path(list(spec.submodule_search_locations)[0]) / "models"


LANDMARKS = (68, 5)  # dlib shape predictors the face chip can be aligned on (68: the measure's)


class _Models:
    def __init__(self, dlib: Any, folder: Path) -> None:
        files = {
            68: folder / "shape_predictor_68_face_landmarks.dat",
            5: folder / "shape_predictor_5_face_landmarks.dat",
            "resnet": folder / "dlib_face_recognition_resnet_model_v1.dat",
        }
        for f in files.values():
            if not f.is_file():
                raise ImportError(f"model file {f} is missing; reinstall face-recognition-models ({_INSTALL})")
        self.detector = dlib.get_frontal_face_detector()
        self.shape = {n: dlib.shape_predictor(str(files[n])) for n in LANDMARKS}
        self.resnet = dlib.face_recognition_model_v1(str(files["resnet"]))
        self.lock = threading.Lock()  # dlib objects are not documented as thread-safe


@lru_cache(maxsize=1)
def _models() -> _Models:
    try:
        import dlib
    except ImportError as e:
        raise ImportError(f"dlib is not installed; {_INSTALL}") from e
    return _Models(dlib, model_dir())


def _as_srgb8(image: np.ndarray) -> np.ndarray:
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"image must have shape (H, W, 3), got {arr.shape}")
    if arr.dtype == np.uint8:
        return np.ascontiguousarray(arr)
    if arr.dtype in (np.float32, np.float64):
        from ..imageio import to_srgb8

        return np.ascontiguousarray(to_srgb8(arr.astype(np.float32, copy=False)))
    raise ValueError(f"image must be uint8 sRGB or float32 linear RGB, got dtype {arr.dtype}")


def embedding(image: np.ndarray, *, landmarks: int = 68) -> np.ndarray:
    """The dlib face-recognition embedding of the largest face in an image.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3)
        uint8 sRGB codes, or float32/float64 linear RGB in [0, 1] (the house format; converted
        with :func:`headshot.imageio.to_srgb8`).
    landmarks : {68, 5}
        The shape predictor the face chip is aligned on: 68 (the measure) or 5 (the default of
        ``face_recognition.face_encodings``; a comparison only).

    Returns
    -------
    ndarray, shape (128,), float64

    Raises
    ------
    NoFaceForIdentity
        dlib's HOG detector finds no face, even with the image upsampled 2x.
    ValueError
        Wrong shape or dtype, or ``landmarks`` not 68 or 5.
    ImportError
        The ``eval`` extra is not installed.
    """
    if landmarks not in LANDMARKS:
        raise ValueError(f"landmarks must be one of {LANDMARKS}, got {landmarks!r}")
    rgb = _as_srgb8(image)
    m = _models()
    with m.lock:
        shape = m.shape[landmarks](rgb, _largest_face(m, rgb))
        desc = m.resnet.compute_face_descriptor(rgb, shape, 1)
    return np.asarray(desc, dtype=np.float64)


def _largest_face(m: _Models, rgb: np.ndarray) -> Any:
    """dlib's detector box of the largest face (upsampling 2x when none is found at 1x); call under m.lock."""
    dets = []
    for upsample in (1, 2):
        dets = list(m.detector(rgb, upsample))
        if dets:
            break
    if not dets:
        raise NoFaceForIdentity(
            f"dlib found no face in the {rgb.shape[1]}x{rgb.shape[0]} image, so its identity cannot be measured"
        )
    return max(dets, key=lambda r: r.width() * r.height())


def fit_landmarks(image: np.ndarray) -> np.ndarray:
    """dlib's 68-point fit of the largest face in an image (the points the measure aligns its chip on).

    Parameters
    ----------
    image : ndarray, shape (H, W, 3)
        As for :func:`embedding`.

    Returns
    -------
    ndarray, shape (68, 2), float64
        (x, y) pixel positions.

    Raises
    ------
    NoFaceForIdentity, ValueError, ImportError
        As for :func:`embedding`.
    """
    rgb = _as_srgb8(image)
    m = _models()
    with m.lock:
        shape = m.shape[68](rgb, _largest_face(m, rgb))
    return np.array([(shape.part(i).x, shape.part(i).y) for i in range(68)], dtype=np.float64)


def embedding_at(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The embedding of the face chip aligned on given 68 points instead of dlib's own fit.

    A comparison of the measure, not the measure: with the input's :func:`fit_landmarks` mapped
    through an output's crop (:meth:`headshot.framing.Crop.apply`), input and output chips are cut
    at the same place on the face, so the distance holds what changed in the pixels and none of the
    68-point fit's own jitter between two images (which alone moves a JPEG re-save of
    ``if_RD_d3.jpeg`` by 0.14; docs/benchmarks.md, "Identity"). dlib takes whole-pixel points: the
    positions are rounded (at most half a pixel, on a chip fitted to 68 of them).

    Parameters
    ----------
    image : ndarray, shape (H, W, 3)
        As for :func:`embedding`.
    points : ndarray, shape (68, 2)
        (x, y) in ``image``'s pixels, in dlib's 68-point order.

    Returns
    -------
    ndarray, shape (128,), float64
    """
    import dlib

    pts = np.asarray(points, dtype=np.float64)
    if pts.shape != (68, 2) or not np.all(np.isfinite(pts)):
        raise ValueError(f"points must be 68 finite (x, y) pairs, got shape {pts.shape}")
    rgb = _as_srgb8(image)
    x0, y0 = np.floor(pts.min(axis=0)).astype(int)
    x1, y1 = np.ceil(pts.max(axis=0)).astype(int)
    parts = [dlib.point(int(round(x)), int(round(y))) for x, y in pts]
    shape = dlib.full_object_detection(dlib.rectangle(int(x0), int(y0), int(x1), int(y1)), parts)
    m = _models()
    with m.lock:
        desc = m.resnet.compute_face_descriptor(rgb, shape, 1)
    return np.asarray(desc, dtype=np.float64)


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """Euclidean distance between two embeddings (as ``face_recognition.face_distance``).

    Parameters
    ----------
    a, b : ndarray, shape (128,)

    Returns
    -------
    float
        0 for identical faces; see the module docstring for a scale.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != (128,) or b.shape != (128,):
        raise ValueError(f"embeddings must have shape (128,), got {a.shape} and {b.shape}")
    return float(np.linalg.norm(a - b))


def distance_to(e_in: np.ndarray | None, image: np.ndarray, *, landmarks: int = 68) -> float | None:
    """Distance from a known embedding to the largest face of `image`; None when either is missing.

    ``e_in`` must have been made with the same ``landmarks`` (see :func:`embedding`)."""
    if e_in is None:
        return None
    try:
        return distance(e_in, embedding(image, landmarks=landmarks))
    except NoFaceForIdentity:
        return None


def identity_distance(img_a: np.ndarray, img_b: np.ndarray) -> float:
    """Identity distance between the largest faces of two images (see :func:`embedding` for inputs)."""
    return distance(embedding(img_a), embedding(img_b))
