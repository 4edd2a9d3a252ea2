"""The one adapter around MediaPipe: face landmarks (478, with iris), head pose and region masks.

Detection runs in two steps, because MediaPipe's face mesh only finds faces that fill a good part
of its input (its own detector is the short-range one):

1. the full-range BlazeFace detector runs on a copy downscaled to at most ``DETECT_SIDE`` pixels,
   which finds faces from ~60 px up to the whole frame, several faces included;
2. the face mesh (with iris refinement) runs on a square crop of the full-resolution image around
   the largest face, resized to ``MESH_SIDE``, and its landmarks are mapped back to full-image pixels.

So detection on a 48-megapixel selfie costs the same as on a 1-megapixel one, and a small face in a full-length
photo still gets its landmarks from real pixels rather than from a blurry downscale.

Models are created lazily, once per process, and used under a lock (MediaPipe's solution objects are
not thread-safe).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

import cv2
import numpy as np

from ._native import Quiet, quiet_stderr
from .errors import NoFaceError, SeveralFacesError
from .imageio import to_srgb8

__all__ = [
    "Box",
    "Pose",
    "Face",
    "detect",
    "region_mask",
    "REGIONS",
    "eye_aspect_ratios",
    "relocate",
    "resize_max",
    "estimate_pose",
    "height_map",
]

DETECT_SIDE = 1024
MESH_SIDE = 512

# Landmark indices of MediaPipe's face mesh topology, as ordered polygons (the connection sets in
# mediapipe.solutions.face_mesh_connections are unordered edge sets; tests check these lists against
# them). "Right"/"left" are the subject's: the subject's right eye is on the image's left.
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400,
             377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
RIGHT_EYE = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
LEFT_EYE = (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466)
RIGHT_BROW = (46, 53, 52, 65, 55, 107, 66, 105, 63, 70)
LEFT_BROW = (276, 283, 282, 295, 285, 336, 296, 334, 293, 300)
LIPS_OUTER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185)
LIPS_INNER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13, 82, 81, 80, 191)
RIGHT_IRIS_CENTER, LEFT_IRIS_CENTER = 468, 473
RIGHT_IRIS = (469, 470, 471, 472)
LEFT_IRIS = (474, 475, 476, 477)
CHIN, FOREHEAD, NOSE_TIP = 152, 10, 1
RIGHT_CHEEK_EDGE, LEFT_CHEEK_EDGE = 234, 454

REGIONS = ("face", "skin", "eyes", "irises", "brows", "lips", "mouth")


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in image pixels: ``x0 <= x < x1``, ``y0 <= y < y1``."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def area(self) -> float:
        return max(0.0, self.width) * max(0.0, self.height)

    def as_list(self) -> list[float]:
        return [round(self.x0, 1), round(self.y0, 1), round(self.x1, 1), round(self.y1, 1)]


@dataclass(frozen=True)
class Pose:
    """Head pose in degrees.

    ``roll`` is the angle of the line from the image-left eye to the image-right eye (positive when
    the image-right eye is lower, i.e. the head is turned clockwise as seen); ``yaw`` is positive
    when the face turns toward the image's right; ``pitch`` is positive when the chin is raised.
    """

    yaw: float
    pitch: float
    roll: float


@dataclass(frozen=True)
class Face:
    """One face found in a photo.

    Attributes
    ----------
    landmarks : ndarray, shape (478, 3), float32
        MediaPipe face-mesh landmarks with iris: x, y in full-image pixels, z in pixels on the same
        scale (negative = toward the camera), relative to the face centre.
    box : Box
        Bounding box of the landmarks, full-image pixels.
    pose : Pose
        Head pose estimated from the landmarks.
    score : float
        Detector confidence in [0, 1].
    faces_found : int
        How many faces the detector found in the photo (this one is the largest).
    other_boxes : tuple of Box
        Detector boxes of the other faces, largest first.
    """

    landmarks: np.ndarray
    box: Box
    pose: Pose
    score: float
    faces_found: int = 1
    other_boxes: tuple[Box, ...] = field(default=())

    @property
    def right_eye(self) -> np.ndarray:
        """Centre (x, y) of the subject's right iris (image left)."""
        return self.landmarks[RIGHT_IRIS_CENTER, :2]

    @property
    def left_eye(self) -> np.ndarray:
        """Centre (x, y) of the subject's left iris (image right)."""
        return self.landmarks[LEFT_IRIS_CENTER, :2]

    @property
    def eye_mid(self) -> np.ndarray:
        """Midpoint (x, y) between the two iris centres."""
        return (self.right_eye + self.left_eye) / 2.0

    @property
    def chin(self) -> np.ndarray:
        """The lowest point of the chin (landmark 152), (x, y)."""
        return self.landmarks[CHIN, :2]

    @property
    def eye_distance(self) -> float:
        """Distance between the iris centres in pixels."""
        return float(np.linalg.norm(self.left_eye - self.right_eye))

    @property
    def width(self) -> float:
        """Face width (cheek edge to cheek edge) in pixels."""
        return float(np.linalg.norm(self.landmarks[LEFT_CHEEK_EDGE, :2] - self.landmarks[RIGHT_CHEEK_EDGE, :2]))

    @property
    def up(self) -> np.ndarray:
        """Unit vector (x, y) pointing from the chin toward the top of the head, in the image plane.

        Perpendicular to the eye line (``pose.roll``), so it is unaffected by the face's nodding (pitch).
        """
        r = math.radians(self.pose.roll)
        n = np.array([math.sin(r), -math.cos(r)], dtype=np.float64)  # eye line (cos r, sin r) turned -90°
        # Orient it away from the chin.
        if np.dot(n, self.eye_mid - self.chin) < 0:
            n = -n
        return n

    @property
    def chin_to_eyes(self) -> float:
        """Distance from the chin to the eye line, measured along :attr:`up`, in pixels."""
        return float(np.dot(self.eye_mid - self.chin, self.up))

    @property
    def crown(self) -> np.ndarray:
        """Estimated top of the skull (x, y), hair excluded.

        The face mesh stops at the upper forehead, so the crown is extrapolated with the classic
        proportion that the eyes lie halfway between chin and crown (anthropometric vertex-to-
        endocanthion and endocanthion-to-menton distances are both ~11-12 cm in adults); the
        factor ``CROWN_FACTOR`` is that ratio.
        """
        return self.eye_mid + self.up * (self.chin_to_eyes * CROWN_FACTOR)

    @property
    def head_height(self) -> float:
        """Estimated chin-to-crown distance in pixels (ICAO's 'face height')."""
        return self.chin_to_eyes * (1.0 + CROWN_FACTOR)


CROWN_FACTOR = 1.0


@dataclass(frozen=True)
class _Models:
    detector_full: Any
    detector_short: Any
    mesh: Any
    lock: threading.Lock


@lru_cache(maxsize=1)
def _models() -> _Models:
    # Imported here, not at module import: mediapipe takes a second to import and starts TFLite.
    import mediapipe as mp

    # Built, and run the first time, with MediaPipe's native start-up notices kept off the terminal.
    with quiet_stderr():
        detection = mp.solutions.face_detection.FaceDetection
        return _Models(
            detector_full=Quiet(detection(model_selection=1, min_detection_confidence=0.4)),
            detector_short=Quiet(detection(model_selection=0, min_detection_confidence=0.4)),
            mesh=Quiet(mp.solutions.face_mesh.FaceMesh(
                static_image_mode=True, max_num_faces=1, refine_landmarks=True, min_detection_confidence=0.4
            )),
            lock=threading.Lock(),
        )


def height_map(face: Face, scale: float, shape: tuple[int, int]) -> np.ndarray:
    """Each pixel's height above the eyes along the face's up axis, in map pixels (float32).

    ``shape`` is the map's (h, w) and ``scale`` its pixels per photo pixel: positive above the eye
    line (the hair), below ``-face.chin_to_eyes * scale`` under the chin.
    """
    h, w = shape
    em = face.eye_mid * scale
    up = face.up
    return (np.arange(w, dtype=np.float32)[None, :] - np.float32(em[0])) * np.float32(up[0]) + (
        np.arange(h, dtype=np.float32)[:, None] - np.float32(em[1])) * np.float32(up[1])


def resize_max(img: np.ndarray, side: int) -> tuple[np.ndarray, float]:
    """Downscale `img` (INTER_AREA) so its longest side is at most `side`; returns (image, scale)."""
    h, w = img.shape[:2]
    s = min(1.0, side / max(h, w))
    if s >= 1.0:
        return img, 1.0
    out = cv2.resize(img, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
    return out, s


def _detections(models: _Models, small: np.ndarray) -> list[tuple[Box, float]]:
    """Face boxes (in `small`'s pixels) and scores, largest first."""
    h, w = small.shape[:2]
    found: list[tuple[Box, float]] = []
    for det in (models.detector_full, models.detector_short):
        with models.lock:
            res = det.process(small)
        for d in res.detections or []:
            bb = d.location_data.relative_bounding_box
            box = Box(bb.xmin * w, bb.ymin * h, (bb.xmin + bb.width) * w, (bb.ymin + bb.height) * h)
            if box.width >= 8 and box.height >= 8:
                found.append((box, float(d.score[0])))
        if found:
            break
    found.sort(key=lambda bs: -bs[0].area)
    return found


def _mesh_on_crop(
    models: _Models,
    image: np.ndarray,
    box: Box,
    angle: float = 0.0,
    alpha: tuple[np.ndarray, float] | None = None,
) -> np.ndarray | None:
    """Run the face mesh on a square crop of `image` (linear) around `box`; landmarks in its pixels.

    ``angle`` (degrees) rotates the crop so that a face rolled by that much is upright in it: the
    mesh model is most consistent on upright faces, which is how the face appears in the output.
    ``alpha`` = (matte, matte pixels per photo pixel) composites the crop over neutral grey first.
    """
    cx, cy = (box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2
    side = 2.2 * max(box.width, box.height)
    scale = MESH_SIDE / side
    t = math.radians(angle)
    c, sn = math.cos(t), math.sin(t)
    # photo -> crop: levelled (the eye vector (cos t, sin t) onto +x), scaled, centred.
    lin = scale * np.array([[c, sn], [-sn, c]])
    m = np.empty((2, 3))
    m[:, :2] = lin
    m[:, 2] = np.array([MESH_SIDE / 2, MESH_SIDE / 2]) - lin @ np.array([cx, cy])
    src = image
    k = 1.0
    if scale < 0.5:
        # warpAffine samples 4 neighbours: pre-shrink a large face so the crop is not aliased.
        k = scale * 1.5
        src = cv2.resize(image, (max(1, round(image.shape[1] * k)), max(1, round(image.shape[0] * k))),
                         interpolation=cv2.INTER_AREA)
    mk = m @ np.array([[1 / k, 0, 0], [0, 1 / k, 0], [0, 0, 1]])
    crop_lin = cv2.warpAffine(src, mk, (MESH_SIDE, MESH_SIDE), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT)
    if alpha is not None:
        a, a_scale = alpha
        ma = m @ np.array([[1 / a_scale, 0, 0], [0, 1 / a_scale, 0], [0, 0, 1]])
        a_crop = cv2.warpAffine(a, ma, (MESH_SIDE, MESH_SIDE), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_CONSTANT)[:, :, None]
        crop_lin = crop_lin * a_crop + np.float32(NEUTRAL_GREY) * (1.0 - a_crop)
    crop = to_srgb8(crop_lin)
    with models.lock:
        res = models.mesh.process(crop)
    if not res.multi_face_landmarks:
        return None
    lm = res.multi_face_landmarks[0].landmark
    q = np.array([(p.x, p.y, p.z) for p in lm], dtype=np.float64) * MESH_SIDE
    inv = cv2.invertAffineTransform(m)
    pts = np.empty_like(q)
    pts[:, :2] = q[:, :2] @ inv[:, :2].T + inv[:, 2]
    pts[:, 2] = q[:, 2] / scale
    # Discard a mesh that landed clearly outside the detector's box (a neighbour's face).
    mx, my = pts[:, 0].mean(), pts[:, 1].mean()
    if not (box.x0 - box.width * 0.5 <= mx <= box.x1 + box.width * 0.5
            and box.y0 - box.height * 0.5 <= my <= box.y1 + box.height * 0.5):
        return None
    return pts


def relocate(image: np.ndarray, face: Face, alpha: np.ndarray, alpha_scale: float) -> Face:
    """Landmarks again, with the background replaced by neutral grey through the subject's matte.

    MediaPipe's mesh is influenced by what surrounds the face (on a dev photo in front of a logo wall
    the roll read 1.3° differently once the wall was gone). The headshot shows the face on a studio
    backdrop, so the landmarks that frame it are the mean of the two views, the photo's own context
    and the plain one.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), float32, linear RGB
    face : Face
        The face found by :func:`detect` (its box and roll place the crop).
    alpha : ndarray, shape (h, w), float32 in [0, 1]
        The subject's matte at ``alpha_scale`` matte pixels per photo pixel.

    Returns
    -------
    Face
        The same face with landmarks averaged over both views, and its pose (unchanged if the mesh
        fails on the composite).
    """
    pts = _mesh_on_crop(_models(), image, face.box, face.pose.roll, alpha=(alpha, alpha_scale))
    if pts is None:
        return face
    # Average with the landmarks found in the photo's own context: the two views' errors are partly
    # independent (on the dev photos the residual roll after straightening fell from up to 1.4° with
    # either view alone to within 1°).
    lm = ((pts + face.landmarks.astype(np.float64)) / 2.0).astype(np.float32)
    lm.flags.writeable = False
    box = Box(float(lm[:, 0].min()), float(lm[:, 1].min()), float(lm[:, 0].max()), float(lm[:, 1].max()))
    return replace(face, landmarks=lm, box=box, pose=estimate_pose(lm))


NEUTRAL_GREY = 0.214  # linear value of sRGB 50% grey


_ROLL_PAIRS = ((33, 263), (133, 362), (RIGHT_IRIS_CENTER, LEFT_IRIS_CENTER))


def estimate_pose(landmarks: np.ndarray) -> Pose:
    """Head pose (degrees) from 3D face-mesh landmarks.

    Roll is the in-plane angle of the line through the eyes. Yaw and pitch come from the 3D frame spanned by the
    cheek-to-cheek axis and the chin-to-brow axis of the mesh (MediaPipe's z is on the x scale).
    """
    p = landmarks.astype(np.float64)
    # Roll from three symmetric pairs (outer eye corners, inner corners, iris centres): summing the
    # vectors averages out the landmark noise of any one pair, which matters on small faces.
    d = sum(p[left, :2] - p[right, :2] for right, left in _ROLL_PAIRS)
    roll = math.degrees(math.atan2(d[1], d[0]))
    x_axis = p[LEFT_CHEEK_EDGE] - p[RIGHT_CHEEK_EDGE]
    x_axis /= np.linalg.norm(x_axis)
    # Chin to glabella (168 is the nose bridge between the eyes): a short, stable vertical axis.
    y_axis = p[168] - p[CHIN]
    y_axis -= x_axis * np.dot(y_axis, x_axis)
    y_axis /= np.linalg.norm(y_axis)
    normal = np.cross(x_axis, y_axis)  # image coords (y down, z away): points toward the camera
    if normal[2] > 0:
        normal = -normal
    yaw = math.degrees(math.atan2(normal[0], -normal[2]))
    pitch = math.degrees(math.atan2(-normal[1], -normal[2])) - PITCH_BIAS
    return Pose(yaw=float(yaw), pitch=float(pitch), roll=float(roll))


# The chin-to-glabella axis of MediaPipe's mesh leans back ~10° from the image plane for a head held
# level at eye height: the median over the 20 dev photos (nearly all eye-level portraits) was -10.0°,
# so that is subtracted and a level head reads ~0°.
PITCH_BIAS = -10.0


def detect(image: np.ndarray, *, several: str = "largest") -> Face:
    """Find the face of a portrait.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), float32, linear RGB in [0, 1]
        The photo at full resolution. Only small copies are converted to sRGB for the models
        (MediaPipe's models were trained on gamma-encoded images).
    several : {"largest", "error"}
        What to do when several faces are found: use the largest (default) or raise
        :class:`SeveralFacesError`.

    Returns
    -------
    Face
        The (largest) face, landmarks in `image`'s pixel coordinates.

    Raises
    ------
    NoFaceError
        When no face is found.
    SeveralFacesError
        When several faces are found and ``several="error"``.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.float32:
        raise ValueError(f"image must be a float32 array of shape (H, W, 3), got {image.dtype} {image.shape}")
    if several not in ("largest", "error"):
        raise ValueError(f"several must be 'largest' or 'error', got {several!r}")
    models = _models()
    small_lin, s = resize_max(image, DETECT_SIDE)
    small = to_srgb8(small_lin)
    dets = [(Box(b.x0 / s, b.y0 / s, b.x1 / s, b.y1 / s), sc) for b, sc in _detections(models, small)]
    if len(dets) > 1 and several == "error":
        raise SeveralFacesError(
            f"{len(dets)} faces found; use a photo with only you in it, or crop it around your face", len(dets)
        )
    pts = None
    chosen = None
    for box, score in dets[:3]:
        pts = _mesh_on_crop(models, image, box)
        if pts is not None:
            chosen = (box, score)
            break
    if pts is None:
        # Last resort: the mesh's own detector on the whole (downscaled) image.
        with models.lock:
            res = models.mesh.process(small)
        if res.multi_face_landmarks:
            lm = res.multi_face_landmarks[0].landmark
            h, w = small.shape[:2]
            pts = np.array([(p.x * w, p.y * h, p.z * w) for p in lm], dtype=np.float64) / s
            chosen = None
    if pts is None:
        if dets:
            raise NoFaceError(
                "a face was detected but its features could not be located; use a sharper photo "
                "where the whole face is visible, facing the camera"
            )
        raise NoFaceError(
            "no face found; use a photo where your face is clearly visible, facing the camera, "
            "at least ~120 pixels wide"
        )
    # Second pass on a crop levelled by the first pass's roll, centred on the landmarks.
    lbox = Box(float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max()))
    again = _mesh_on_crop(models, image, lbox, estimate_pose(pts).roll)
    if again is not None:
        pts = again
    pts = pts.astype(np.float32)
    box = Box(float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max()))
    others = tuple(b for b, _ in dets if chosen is None or b is not chosen[0])
    pts.flags.writeable = False
    return Face(
        landmarks=pts,
        box=box,
        pose=estimate_pose(pts),
        score=float(chosen[1]) if chosen else 0.5,
        faces_found=max(1, len(dets)),
        other_boxes=others,
    )


def eye_aspect_ratios(face: Face) -> tuple[float, float]:
    """Eye opening (lid-to-lid over corner-to-corner) of the right and left eye; open eyes ~0.25-0.35."""
    p = face.landmarks[:, :2]

    def ear(top: int, bottom: int, c0: int, c1: int) -> float:
        return float(np.linalg.norm(p[top] - p[bottom]) / max(np.linalg.norm(p[c0] - p[c1]), 1e-6))

    return ear(159, 145, 33, 133), ear(386, 374, 362, 263)


def _poly(face: Face, idx: tuple[int, ...], scale: float) -> np.ndarray:
    return np.round(face.landmarks[list(idx), :2] * scale * 16).astype(np.int32)


def region_mask(face: Face, region: str, shape: tuple[int, int], *, scale: float = 1.0) -> np.ndarray:
    """A named region of the face as a mask.

    Parameters
    ----------
    face : Face
    region : {"face", "skin", "eyes", "irises", "brows", "lips", "mouth"}
        ``face`` is the whole face oval; ``skin`` the oval without eyes, brows, lips and mouth;
        ``mouth`` the inner mouth (teeth, tongue).
    shape : (H, W)
        Shape of the mask to draw.
    scale : float
        Factor from the landmarks' pixel coordinates to the mask's (e.g. 0.25 for a quarter-size mask).

    Returns
    -------
    ndarray, shape (H, W), float32 in {0, 1}
    """
    if region not in REGIONS:
        raise ValueError(f"region must be one of {REGIONS}, got {region!r}")
    m = np.zeros(shape, dtype=np.uint8)

    def fill(idx: tuple[int, ...], value: int = 1) -> None:
        # Sub-pixel precision (shift=4) keeps small masks from jumping by whole pixels.
        cv2.fillPoly(m, [_poly(face, idx, scale)], value, lineType=cv2.LINE_8, shift=4)

    if region == "face":
        fill(FACE_OVAL)
    elif region == "skin":
        fill(FACE_OVAL)
        for idx in (RIGHT_EYE, LEFT_EYE, RIGHT_BROW, LEFT_BROW, LIPS_OUTER):
            fill(idx, 0)
    elif region == "eyes":
        fill(RIGHT_EYE)
        fill(LEFT_EYE)
    elif region == "irises":
        for c, ring in ((RIGHT_IRIS_CENTER, RIGHT_IRIS), (LEFT_IRIS_CENTER, LEFT_IRIS)):
            ctr = face.landmarks[c, :2] * scale
            r = float(np.mean(np.linalg.norm(face.landmarks[list(ring), :2] * scale - ctr, axis=1)))
            cv2.circle(m, (round(ctr[0] * 16), round(ctr[1] * 16)), max(1, round(r * 16)), 1, -1, shift=4)
        eyes = np.zeros_like(m)
        cv2.fillPoly(eyes, [_poly(face, RIGHT_EYE, scale), _poly(face, LEFT_EYE, scale)], 1, shift=4)
        m &= eyes
    elif region == "brows":
        fill(RIGHT_BROW)
        fill(LEFT_BROW)
    elif region == "lips":
        fill(LIPS_OUTER)
        fill(LIPS_INNER, 0)
    elif region == "mouth":
        fill(LIPS_INNER)
    return m.astype(np.float32)
