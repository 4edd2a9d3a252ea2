"""Depth and normals of the subject, computed once per photo for relighting.

The face comes from MediaPipe's 478-landmark mesh (x, y in pixels, z on the same scale): its own
triangles (the tesselation's 854 triangles) are rasterised with smooth vertex normals, so the shading
has neither facets nor the noise of differentiating a height field. Everything the mesh does not cover (hair, ears, the forehead above the
mesh, neck, shoulders) comes from the matte as an "inflated" silhouette: the height of a round body
at its distance from the silhouette's edge. The neck and body recede behind the chin, so the chin can
cast its shadow onto the neck.

The two surfaces are joined without a seam: the face is offset to the silhouette's height along its
own outline (a constant offset, so the face's shape is untouched) and blended over a soft band. The
result is smoothed a little and differentiated into unit normals.

Everything lives in a *geometry frame*: an axis-aligned box of the photo around the head and
shoulders, resampled so the face is :data:`FACE_WIDTH` pixels wide. Heights are in geometry pixels.

The same rasterised mesh gives :func:`mirror_map`, each face pixel's mirrored point (through the
mesh's mirror table, :mod:`headshot._mesh_mirror`), which the light estimate uses to tell a
shadow over one side of the face from the face's own symmetric relief.

Conventions: normals are in camera space, x to the image's right, y up, z toward the camera.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from ._mesh_mirror import MIRROR
from .face import CHIN, Face, region_mask
from .matte import Matte

__all__ = ["Geometry", "build", "mirror_map", "FACE_WIDTH"]

# Face width in the geometry frame, pixels. Shading is smooth, so it is computed at this modest
# resolution and upsampled; 144 px keeps a relight of a 1024 px output well under 0.1 s.
FACE_WIDTH = 144.0

# The box of the photo the geometry covers, in face widths around the eye midpoint: wide enough for
# the tallest platform frame (speaker, press) to fall inside it.
_BOX_X = 3.0
_BOX_UP = 2.4
_BOX_DOWN = 4.4

# Radius of the inflated silhouette in face widths: about the head's half-width.
_INFLATE_RADIUS = 0.75
# How far the neck and body recede behind the chin, in face widths, and over what height below it.
_BODY_RECESSION = 0.35
_RECESSION_BAND = (-0.1, 0.15)
# The band over which face and silhouette are blended, in face widths.
_BLEND_ERODE = 0.05
_BLEND_SIGMA = 0.05
# MediaPipe's z exaggerates the face's relief (its nose stands ~0.28 face widths above the cheeks;
# anthropometric tables give ~0.18-0.2): heights are scaled by this for shadows and normals alike.
RELIEF = 0.7
# Final smoothing of the height field, in face widths (removes the mesh's facets).
_SMOOTH_SIGMA = 0.012
# Smoothing of the inflated silhouette, in face widths.
_SIL_SIGMA = 0.06


@dataclass(frozen=True)
class Geometry:
    """The subject's shape in the geometry frame.

    Attributes
    ----------
    depth : ndarray, shape (h, w), float32
        Height toward the camera in geometry pixels (0 on the background).
    normals : ndarray, shape (h, w, 3), float32
        Unit surface normals (x right, y up, z toward the camera); (0, 0, 1) on the background.
    subject : ndarray, shape (h, w), float32 in [0, 1]
        The matte in the geometry frame.
    face : ndarray, shape (h, w), float32 in [0, 1]
        Weight of the face mesh in the surface (1 inside the face, 0 outside, soft between).
    skin : ndarray, shape (h, w), float32 in {0, 1}
        Face skin (face oval without eyes, brows, lips).
    luminance : ndarray, shape (h, w), float32
        The photo's linear luminance in the geometry frame.
    rgb : ndarray, shape (h, w, 3), float32
        The photo's linear RGB in the geometry frame.
    landmarks : ndarray, shape (478, 3), float64
        The face landmarks in geometry pixels (z = height scale).
    box : (x0, y0, x1, y1)
        The photo pixels the frame covers (integers; x1, y1 exclusive).
    scale : (sx, sy)
        Geometry pixels per photo pixel along x and y.
    face_width : float
        The face's width in geometry pixels.
    mirror : ndarray, shape (h, w, 2), float32
        Each face pixel's mirrored position across the face's midline (x, y), -1 off the face mesh
        (:func:`mirror_map`).
    """

    depth: np.ndarray
    normals: np.ndarray
    subject: np.ndarray
    face: np.ndarray
    skin: np.ndarray
    luminance: np.ndarray
    rgb: np.ndarray
    landmarks: np.ndarray
    box: tuple[int, int, int, int]
    scale: tuple[float, float]
    face_width: float
    mirror: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return self.depth.shape  # type: ignore[return-value]

    def to_photo(self) -> np.ndarray:
        """The 2x3 affine map from geometry pixels to photo pixels (pixel centres)."""
        sx, sy = self.scale
        x0, y0 = self.box[0], self.box[1]
        # photo x + 0.5 = (u + 0.5) / sx + x0
        return np.array([[1 / sx, 0, x0 + 0.5 / sx - 0.5], [0, 1 / sy, y0 + 0.5 / sy - 0.5]])

    def to_output(self, crop_matrix: np.ndarray) -> np.ndarray:
        """The 2x3 affine map from geometry pixels to a crop's output pixels."""
        g = np.vstack([self.to_photo(), [0, 0, 1]])
        return np.asarray(crop_matrix, dtype=np.float64) @ g


def _box(face: Face, photo_size: tuple[int, int]) -> tuple[int, int, int, int]:
    w, h = photo_size
    fw = max(face.width, 8.0)
    cx, cy = face.eye_mid
    x0 = int(np.floor(max(0.0, cx - _BOX_X * fw)))
    x1 = int(np.ceil(min(float(w), cx + _BOX_X * fw)))
    y0 = int(np.floor(max(0.0, cy - _BOX_UP * fw)))
    y1 = int(np.ceil(min(float(h), cy + _BOX_DOWN * fw)))
    return x0, y0, max(x1, x0 + 1), max(y1, y0 + 1)


def _resample(img: np.ndarray, src_scale: float, box: tuple[int, int, int, int], size: tuple[int, int]) -> np.ndarray:
    """Cut ``box`` (photo pixels) from an image held at ``src_scale`` pixels per photo pixel and
    resize it to ``size`` (w, h), area-averaging when shrinking."""
    x0, y0, x1, y1 = (round(v * src_scale) for v in box)
    x1, y1 = max(x1, x0 + 1), max(y1, y0 + 1)
    part = img[y0:y1, x0:x1]
    shrink = size[0] < part.shape[1]
    return cv2.resize(part, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def _smoothstep(x: np.ndarray, a: float, b: float) -> np.ndarray:
    t = np.clip((x - a) / max(b - a, 1e-9), 0.0, 1.0)
    return t * t * (3 - 2 * t)


# The mesh's holes, as closed loops of landmark indices: the two eye openings (lid margins) and
# the mouth (inner lip line).
_HOLES = (
    (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246),
    (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466),
    (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13, 82, 81, 80, 191),
)


@lru_cache(maxsize=1)
def _triangles() -> np.ndarray:
    """The face mesh's triangles (the 3-cliques of MediaPipe's tesselation edges), shape (T, 3)."""
    import mediapipe as mp

    edges = mp.solutions.face_mesh_connections.FACEMESH_TESSELATION
    adj: dict[int, set[int]] = {}
    for a, b in edges:
        adj.setdefault(a, set()).add(b)
        adj.setdefault(b, set()).add(a)
    tris = {tuple(sorted((a, b, c))) for a, b in edges for c in adj[a] & adj[b]}
    return np.array(sorted(tris), dtype=np.int32)


def _closed_mesh() -> np.ndarray:
    """The mesh's triangles with its holes closed (shape (T, 3)).

    The tesselation leaves the eye openings and the mouth open. Left as holes they would take the
    inflated body's height and normals (far below the lids), so a relight would cast shadows into
    the eyes and light the teeth from a different surface: each is closed with a fan around a centre
    vertex, vertex ``468 + k`` for hole ``k`` of :data:`_HOLES` (see :func:`_with_hole_centres`)."""
    fans = [np.column_stack([np.array(loop), np.roll(np.array(loop), -1), np.full(len(loop), 468 + k)])
            for k, loop in enumerate(_HOLES)]
    return np.vstack([_triangles()] + fans).astype(np.int32)


def _with_hole_centres(v: np.ndarray) -> np.ndarray:
    """Per-vertex values of the 468 mesh points, with each hole's centre vertex appended (the mean
    over its rim: eyeball and teeth sit close to their rims)."""
    return np.concatenate([v] + [v[np.array(loop)].mean(axis=0, keepdims=True) for loop in _HOLES], axis=0)


def _rasterise(xy: np.ndarray, z: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, ...]:
    """Which triangle of the closed mesh each pixel of ``shape`` sees, and where in it.

    ``xy`` (V, 2) and ``z`` (V,) are the closed mesh's vertices (:func:`_with_hole_centres`), ``z``
    toward the camera. The triangles are drawn far to near, so the nearer surface wins where a
    turned face overlaps itself (the far side of the nose). cv2.fillPoly draws the triangle-id
    buffer; the barycentric coordinates are computed vectorised.

    Returns ``(inside, yy, xx, tri, w)``: the mask of covered pixels, their coordinates, the vertex
    ids of their triangle (N, 3) and their barycentric weights (N, 3)."""
    tris = _closed_mesh()
    ids = np.full(shape, -1, dtype=np.int32)
    order = np.argsort(z[tris].mean(axis=1))  # far first
    pts16 = np.round(xy * 16).astype(np.int32)
    for t in order:
        cv2.fillPoly(ids, [pts16[tris[t]]], int(t), lineType=cv2.LINE_8, shift=4)
    inside = ids >= 0
    yy, xx = np.nonzero(inside)
    tri = tris[ids[yy, xx]]
    a, b, c = xy[tri[:, 0]], xy[tri[:, 1]], xy[tri[:, 2]]
    p = np.column_stack([xx, yy]).astype(np.float64)
    v0, v1, v2 = b - a, c - a, p - a
    d00 = (v0 * v0).sum(1)
    d01 = (v0 * v1).sum(1)
    d11 = (v1 * v1).sum(1)
    d20 = (v2 * v0).sum(1)
    d21 = (v2 * v1).sum(1)
    den = d00 * d11 - d01 * d01
    den = np.where(np.abs(den) < 1e-12, 1e-12, den)
    wb = (d11 * d20 - d01 * d21) / den
    wc = (d00 * d21 - d01 * d20) / den
    w = np.clip(np.column_stack([1 - wb - wc, wb, wc]), 0.0, 1.0)
    w /= np.maximum(w.sum(1, keepdims=True), 1e-9)
    return inside, yy, xx, tri, w


def _face_surface(lm: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, ...]:
    """Rasterise the face mesh: (height, normals, inside, mirror) on a grid of ``shape``.

    Heights are interpolated linearly inside each triangle; normals are the mesh's smooth vertex
    normals interpolated the same way (Phong shading), so the shading has no facets and no
    derivative noise (:func:`_rasterise`; the holes closed by :func:`_closed_mesh`). The same
    raster gives each pixel's mirrored position (:func:`_mirrored`).
    """
    tris = _triangles()
    p3 = np.column_stack([lm[:468, 0], -lm[:468, 1], -lm[:468, 2]])  # camera space: y up, z to camera
    fn = np.cross(p3[tris[:, 1]] - p3[tris[:, 0]], p3[tris[:, 2]] - p3[tris[:, 0]])
    fn *= np.where(fn[:, 2:3] < 0, -1.0, 1.0)  # every visible triangle faces the camera
    vn = np.zeros((468, 3))
    for k in range(3):
        np.add.at(vn, tris[:, k], fn)
    vn /= np.maximum(np.linalg.norm(vn, axis=1, keepdims=True), 1e-9)
    p3 = _with_hole_centres(p3)
    vn = _with_hole_centres(vn)
    vn[468:] /= np.maximum(np.linalg.norm(vn[468:], axis=1, keepdims=True), 1e-9)

    height = np.zeros(shape, dtype=np.float32)
    normals = np.zeros(shape + (3,), dtype=np.float32)
    raster = _rasterise(_with_hole_centres(lm[:468, :2]), p3[:, 2], shape)
    inside, yy, xx, tri, w = raster
    mirror = _mirrored(lm, raster, shape)
    if yy.size == 0:
        return height, normals, inside, mirror
    height[yy, xx] = (w * p3[tri, 2]).sum(1)
    n = (w[:, :, None] * vn[tri]).sum(1)
    normals[yy, xx] = n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-9)
    return height, normals, inside, mirror


def _mirrored(lm: np.ndarray, raster: tuple[np.ndarray, ...], shape: tuple[int, int]) -> np.ndarray:
    """Each rasterised pixel carried to the same place on the mesh's mirrored triangle (h, w, 2),
    -1 where the mesh does not cover the pixel."""
    _, yy, xx, tri, w = raster
    # The partner of a hole's centre is the centre of the partner hole (the eyes swap, the mouth
    # stays): the centres of the mirrored rims.
    xy_m = _with_hole_centres(lm[np.array(MIRROR), :2].astype(np.float64))
    out = np.full(shape + (2,), -1.0, dtype=np.float32)
    out[yy, xx] = (w[:, :, None] * xy_m[tri]).sum(1)
    return out


def mirror_map(landmarks: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Where each pixel of the face sits mirrored across the face's plane of symmetry.

    Each pixel the face mesh covers is carried to the same place on the mesh's mirrored triangle
    (:data:`~headshot._mesh_mirror.MIRROR`: the left cheek's point to the right cheek's), so the
    map follows a turned head: the near cheek's pixels map onto the foreshortened far cheek.
    :func:`build` computes it with the depth (``Geometry.mirror``); this is the same for any grid.

    Parameters
    ----------
    landmarks : ndarray, shape (478, 3)
        Face landmarks in the pixels of ``shape``'s grid (z toward the far side, as MediaPipe's).
    shape : (h, w)

    Returns
    -------
    ndarray, shape (h, w, 2), float32
        The mirrored position (x, y; a map for ``cv2.remap``), -1 outside the mesh.
    """
    xy = landmarks[:468, :2].astype(np.float64)
    raster = _rasterise(_with_hole_centres(xy), _with_hole_centres(-landmarks[:468, 2]), shape)
    return _mirrored(landmarks, raster, shape)


def _inflate(subject: np.ndarray, radius: float) -> np.ndarray:
    """Height of a round body of the given radius over a binary silhouette: a quarter circle in
    profile near the edge, flat beyond ``radius``."""
    mask = (subject > 0.5).astype(np.uint8)
    d = cv2.distanceTransform(mask, cv2.DIST_L2, cv2.DIST_MASK_PRECISE).astype(np.float32)
    d = np.minimum(d, radius)
    return np.sqrt(np.maximum(2 * radius * d - d * d, 0.0)).astype(np.float32)


def normals_from_depth(depth: np.ndarray) -> np.ndarray:
    """Unit normals (x right, y up, z toward camera) of a height field in pixel units."""
    dx = cv2.Sobel(depth, cv2.CV_32F, 1, 0, ksize=3, scale=1 / 8)
    dy = cv2.Sobel(depth, cv2.CV_32F, 0, 1, ksize=3, scale=1 / 8)
    # Surface z = h(x, y_img); y up = -y_img, so n ∝ (-dh/dx, dh/dy_img, 1).
    n = np.stack([-dx, dy, np.ones_like(depth)], axis=-1)
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    return n.astype(np.float32)


def build(pixels: np.ndarray, face: Face, matte: Matte) -> Geometry:
    """Depth and normals of the subject of a photo.

    Parameters
    ----------
    pixels : ndarray, shape (H, W, 3), float32, linear RGB
        The photo.
    face : Face
        Its face, landmarks in photo pixels.
    matte : Matte
        Its matte.

    Returns
    -------
    Geometry
    """
    H, W = pixels.shape[:2]
    box = _box(face, (W, H))
    x0, y0, x1, y1 = box
    g = FACE_WIDTH / max(face.width, 1.0)
    size = (max(8, round((x1 - x0) * g)), max(8, round((y1 - y0) * g)))
    sx, sy = size[0] / (x1 - x0), size[1] / (y1 - y0)
    shape = (size[1], size[0])

    rgb = _resample(pixels, 1.0, box, size)
    lum = (rgb @ np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)).astype(np.float32)
    subject = np.clip(_resample(matte.alpha, matte.scale, box, size), 0.0, 1.0).astype(np.float32)

    lm = np.asarray(face.landmarks, dtype=np.float64).copy()
    lm[:, 0] = (lm[:, 0] + 0.5 - x0) * sx - 0.5
    lm[:, 1] = (lm[:, 1] + 0.5 - y0) * sy - 0.5
    lm[:, 2] *= (sx + sy) / 2 * RELIEF
    fw = face.width * (sx + sy) / 2

    h_face, n_face, inside, mirror = _face_surface(lm, shape)
    # The face is part of the subject whatever the matte says.
    subject = np.maximum(subject, inside.astype(np.float32))

    h_sil = _inflate(subject, _INFLATE_RADIUS * fw)
    # The distance transform has creases along the silhouette's medial axis: round them off.
    h_sil = cv2.GaussianBlur(h_sil, (0, 0), _SIL_SIGMA * fw) * (subject > 0.5)
    n_body = normals_from_depth(h_sil)
    # Neck and body recede behind the chin (measured along the face's own up direction). The step
    # hides under the jaw, out of the camera's sight: it moves the depth (so the chin casts its
    # shadow onto the neck) but not the normals (the front of the neck faces the camera).
    gface = dataclasses.replace(face, landmarks=lm)
    up = gface.up
    vv, uu = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    below = -((uu - lm[CHIN, 0]) * up[0] + (vv - lm[CHIN, 1]) * up[1])  # px below the chin
    a, b = _RECESSION_BAND
    h_body = h_sil * (1.0 - (_BODY_RECESSION / _INFLATE_RADIUS) * _smoothstep(below, a * fw, b * fw))

    m8 = inside.astype(np.uint8)
    k = max(1, round(_BLEND_ERODE * fw))
    core = cv2.erode(m8, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1)))
    ring = inside & ~core.astype(bool)
    offset = float(np.median((h_body - h_face)[ring])) if np.any(ring) else 0.0
    wface = cv2.GaussianBlur(core.astype(np.float32), (0, 0), _BLEND_SIGMA * fw)
    wface = np.clip(np.where(inside, wface, 0.0), 0.0, 1.0).astype(np.float32)
    depth = wface * (h_face + offset) + (1.0 - wface) * h_body
    depth = cv2.GaussianBlur(depth.astype(np.float32), (0, 0), max(0.6, _SMOOTH_SIGMA * fw))
    # Inside the face the mesh's own smooth normals, outside the inflated body's, blended softly.
    normals = wface[..., None] * n_face + (1.0 - wface[..., None]) * n_body
    normals /= np.maximum(np.linalg.norm(normals, axis=-1, keepdims=True), 1e-6)
    bg = subject < 0.02
    normals[bg] = (0.0, 0.0, 1.0)

    skin = region_mask(gface, "skin", shape)
    return Geometry(
        depth=depth.astype(np.float32),
        normals=normals,
        subject=subject,
        face=wface,
        skin=skin,
        luminance=lum,
        rgb=rgb.astype(np.float32, copy=False),
        landmarks=lm,
        box=box,
        scale=(sx, sy),
        face_width=fw,
        mirror=mirror,
    )
