"""Depth and normals for relighting: contracts on the astronaut, numeric checks on synthetic height fields."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from headshot import face as face_mod, geometry
from headshot._mesh_mirror import MIDLINE, MIRROR
from headshot.geometry import FACE_WIDTH, normals_from_depth
from tests.conftest import write_artifact


def _normal_image(n: np.ndarray) -> np.ndarray:
    return np.clip((n + 1) / 2, 0, 1).astype(np.float32)


# ------------------------------------------------------------------------------------ contracts


def test_geometry_contract(astronaut_subject) -> None:
    g = astronaut_subject.geometry
    assert isinstance(g, geometry.Geometry)
    h, w = g.shape
    assert g.depth.shape == (h, w) and g.depth.dtype == np.float32
    assert g.normals.shape == (h, w, 3) and g.normals.dtype == np.float32
    for name in ("subject", "face", "skin", "luminance"):
        a = getattr(g, name)
        assert a.shape == (h, w) and a.dtype == np.float32, name
        assert np.isfinite(a).all(), name
    assert 0 <= g.subject.min() and g.subject.max() <= 1
    assert 0 <= g.face.min() and g.face.max() <= 1
    assert set(np.unique(g.skin)) <= {0.0, 1.0}
    assert g.landmarks.shape == (478, 3)
    assert np.isfinite(g.depth).all() and g.depth.min() >= -1e-3
    assert g.face_width == pytest.approx(FACE_WIDTH, rel=0.02)
    # The face and its skin lie inside the subject.
    assert np.all(g.subject[g.face > 0.5] > 0.5)
    assert np.all(g.face[g.skin > 0.5] > 0)


def test_normals_are_unit_and_face_the_camera(astronaut_subject) -> None:
    g = astronaut_subject.geometry
    norm = np.linalg.norm(g.normals, axis=-1)
    assert np.abs(norm - 1).max() < 1e-4
    # Background: straight at the camera.
    bg = g.subject < 0.02
    assert bg.any() and np.allclose(g.normals[bg], (0.0, 0.0, 1.0))
    # The face: every normal toward the camera, most of them squarely.
    nz = g.normals[g.face > 0.5][:, 2]
    assert nz.min() > 0.0
    assert np.median(nz) > 0.85
    # Cheeks face outward: the image-left cheek's normal points left (x < 0), the right one right.
    lm = g.landmarks
    left_cheek = lm[list(face_mod.RIGHT_EYE)].mean(axis=0)[:2] + [0, 0.35 * g.face_width]
    right_cheek = lm[list(face_mod.LEFT_EYE)].mean(axis=0)[:2] + [0, 0.35 * g.face_width]
    nl = g.normals[round(left_cheek[1]), round(left_cheek[0])]
    nr = g.normals[round(right_cheek[1]), round(right_cheek[0])]
    if not (nl[0] < -0.1 and nr[0] > 0.1):
        p = write_artifact("geometry-normals", _normal_image(g.normals))
        pytest.fail(f"cheek normals {nl} (image left), {nr} (image right) do not face outward; see {p}")


def test_nose_tip_is_the_highest_point_of_the_face(astronaut_subject) -> None:
    g = astronaut_subject.geometry
    face = g.face > 0.5
    d = np.where(face, g.depth, -np.inf)
    y, x = np.unravel_index(int(np.argmax(d)), d.shape)
    nose = g.landmarks[face_mod.NOSE_TIP, :2]
    assert math.hypot(x - nose[0], y - nose[1]) < 0.1 * g.face_width
    at_nose = g.depth[round(nose[1]), round(nose[0])]
    assert at_nose >= np.percentile(g.depth[face], 98)
    # ... and the face stands in front of the body around it.
    assert at_nose > g.depth[g.subject > 0.5].mean()


def test_neck_recedes_behind_the_chin(astronaut_subject) -> None:
    g = astronaut_subject.geometry
    chin = g.landmarks[face_mod.CHIN, :2]
    up = astronaut_subject.face.up
    below = chin - up * 0.2 * g.face_width
    d_chin = g.depth[round(chin[1]), round(chin[0])]
    d_neck = g.depth[round(below[1]), round(below[0])]
    assert d_chin - d_neck > 0.1 * g.face_width, (d_chin, d_neck)


def test_to_photo_maps_back_to_the_photo(astronaut_subject) -> None:
    g = astronaut_subject.geometry
    m = g.to_photo()
    back = g.landmarks[:, :2] @ m[:, :2].T + m[:, 2]
    assert np.abs(back - astronaut_subject.face.landmarks[:, :2]).max() < 1e-6
    x0, y0, x1, y1 = g.box
    assert 0 <= x0 < x1 <= astronaut_subject.photo.width and 0 <= y0 < y1 <= astronaut_subject.photo.height


def test_no_seam_along_the_face_outline(astronaut_subject) -> None:
    """Face mesh and inflated silhouette are joined without a crease (the DESIGN's warning)."""
    g = astronaut_subject.geometry
    n = g.normals
    a = np.degrees(np.arccos(np.clip((n[1:, :-1] * n[:-1, :-1]).sum(-1), -1, 1)))
    b = np.degrees(np.arccos(np.clip((n[:-1, 1:] * n[:-1, :-1]).sum(-1), -1, 1)))
    jump = np.maximum(a, b)
    oval = np.zeros(g.shape, np.uint8)
    cv2.fillPoly(oval, [np.round(g.landmarks[list(face_mod.FACE_OVAL), :2]).astype(np.int32)], 1)
    k = max(1, round(0.08 * g.face_width))
    ker = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1))
    ring = (cv2.dilate(oval, ker) - cv2.erode(oval, ker)).astype(bool) & (g.subject > 0.98)
    skin = g.skin > 0.5
    ring, skin = ring[:-1, :-1], skin[:-1, :-1]
    p_ring, p_skin = np.percentile(jump[ring], 99), np.percentile(jump[skin], 99)
    if p_ring > 12.0 or p_ring > p_skin:
        p = write_artifact("geometry-seam", _normal_image(g.normals))
        pytest.fail(f"normals jump {p_ring:.1f}° (99th pct.) along the face outline vs {p_skin:.1f}° on the "
                    f"skin; see {p}")


# ------------------------------------------------------------------------ numeric: height fields


def _sphere(n: int = 161, r: float = 60.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    c = (n - 1) / 2
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float64)
    x, y_up = (xx - c) / r, -(yy - c) / r
    rr = x * x + y_up * y_up
    inside = rr < 1
    z = np.sqrt(np.clip(1 - rr, 0, None))
    depth = (z * r * inside).astype(np.float32)
    normals = np.stack([x, y_up, z], -1)
    return depth, normals, inside


def test_normals_from_depth_of_a_sphere() -> None:
    depth, truth, inside = _sphere()
    n = normals_from_depth(depth)
    assert n.shape == depth.shape + (3,) and n.dtype == np.float32
    assert np.abs(np.linalg.norm(n, axis=-1) - 1).max() < 1e-5
    # Well inside the rim (where the height field is smooth) the normals are the sphere's.
    core = inside & (truth[..., 2] > 0.5)
    ang = np.degrees(np.arccos(np.clip((n[core] * truth[core]).sum(-1), -1, 1)))
    assert np.percentile(ang, 95) < 3.0 and ang.max() < 8.0


@pytest.mark.parametrize("gx, gy", [(0.5, 0.0), (-0.5, 0.0), (0.0, 0.5), (0.0, -0.5)])
def test_normals_from_depth_of_a_tilted_plane(gx: float, gy: float) -> None:
    """Height rising to the image's right tilts the normal left; rising downward tilts it up (y up)."""
    yy, xx = np.mgrid[0:40, 0:40].astype(np.float32)
    depth = 50 + gx * xx + gy * yy
    n = normals_from_depth(depth)[5:-5, 5:-5].reshape(-1, 3)
    expected = np.array([-gx, gy, 1.0]) / math.sqrt(gx * gx + gy * gy + 1)
    assert np.abs(n - expected).max() < 1e-4


def test_inflated_silhouette() -> None:
    mask = np.zeros((200, 200), np.float32)
    cv2.circle(mask, (100, 100), 80, 1.0, -1)
    h = geometry._inflate(mask, 30.0)
    assert h.dtype == np.float32 and h.shape == mask.shape
    assert h[mask < 0.5].max() == 0.0
    assert h[100, 100] == pytest.approx(30.0, abs=1e-3)  # flat beyond the radius
    # A quarter circle in profile from the edge inward: monotone, steep at the edge.
    profile = h[100, 20:60]
    assert np.all(np.diff(profile) >= -1e-4)
    assert profile[1] > 5 and profile[-1] == pytest.approx(30.0, abs=1e-3)


def test_eye_openings_and_mouth_are_part_of_the_face(astronaut_subject) -> None:
    """The tesselation leaves the eyes and the mouth open; the geometry closes them at the rims'
    height, so a relight neither casts a shadow into the eyes nor lights the teeth as the body."""
    g = astronaut_subject.geometry
    lm = g.landmarks
    for centre, rim in ((face_mod.RIGHT_IRIS_CENTER, geometry._HOLES[0]), (face_mod.LEFT_IRIS_CENTER, geometry._HOLES[1])):
        x, y = np.round(lm[centre, :2]).astype(int)
        assert g.face[y, x] > 0.99
        rim_depth = np.mean([g.depth[int(round(lm[j, 1])), int(round(lm[j, 0]))] for j in rim])
        assert abs(g.depth[y, x] - rim_depth) < 0.03 * g.face_width
    mx, my = np.round((lm[13, :2] + lm[14, :2]) / 2).astype(int)
    assert g.face[my, mx] > 0.99


# ------------------------------------------------------------------------------------ mirror symmetry


def _symmetry_plane(lm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(point, unit normal) of the plane through the midline points (z in x's units)."""
    p = lm[list(MIDLINE), :3].astype(np.float64)
    c = p.mean(axis=0)
    return c, np.linalg.svd(p - c)[2][2]


def test_mesh_mirror_table() -> None:
    """The mirror table pairs each side's point with the other side's and keeps the midline."""
    m = np.array(MIRROR)
    assert m.shape == (468,) and sorted(m) == list(range(468))
    assert np.all(m[m] == np.arange(468))  # an involution
    assert len(MIDLINE) == 28 and {1, 4, 10, 152, 0, 17, 168} <= set(MIDLINE)
    for a, b in ((33, 263), (133, 362), (61, 291), (234, 454), (105, 334), (50, 280)):
        assert m[a] == b and m[b] == a


def test_mesh_mirror_table_matches_a_real_face(astronaut_subject) -> None:
    """Each point reflected in 3D across the face's plane of symmetry lands on its partner."""
    lm = astronaut_subject.face.landmarks[:468, :3].astype(np.float64)
    c, n = _symmetry_plane(lm)
    q = lm - 2 * ((lm - c) @ n)[:, None] * n[None, :]
    d = np.linalg.norm(q - lm[np.array(MIRROR)], axis=1) / astronaut_subject.face.width
    assert np.mean(d) < 0.02 and np.max(d) < 0.06, (np.mean(d), np.max(d))


def test_mirror_map_on_the_astronaut(astronaut_subject) -> None:
    g = astronaut_subject.geometry
    m = geometry.mirror_map(g.landmarks, g.shape)
    assert m.shape == g.shape + (2,) and m.dtype == np.float32
    assert np.array_equal(m, g.mirror)  # build() keeps the same map, from its own raster
    mx, my = m[..., 0], m[..., 1]
    inside = mx >= 0
    # It covers the face mesh (the face weight is 1 inside it) and nothing far outside it.
    assert np.all(g.face[inside] > 0.1)
    assert np.mean(inside[g.face > 0.99]) > 0.97
    # A landmark maps onto its partner, the midline onto itself.
    for a, b in ((33, 263), (61, 291), (50, 280), (1, 1), (152, 152)):
        x, y = np.round(g.landmarks[a, :2]).astype(int)
        got = np.array([mx[y, x], my[y, x]])
        assert np.linalg.norm(got - g.landmarks[b, :2]) < 0.02 * g.face_width, (a, b, got)
    # Mirrored twice, a pixel comes back (where its mirror is on the face).
    yy, xx = np.nonzero(inside)
    back_x = cv2.remap(mx, mx, my, cv2.INTER_LINEAR, borderValue=-1)[yy, xx]
    back_y = cv2.remap(my, mx, my, cv2.INTER_LINEAR, borderValue=-1)[yy, xx]
    ok = back_x >= 0
    err = np.hypot(back_x[ok] - xx[ok], back_y[ok] - yy[ok])
    assert np.mean(ok) > 0.95 and np.median(err) < 0.5 and np.percentile(err, 95) < 1.5


def test_mirror_map_follows_a_turned_head(astronaut_subject) -> None:
    """Turned 30 degrees, the near cheek maps onto the foreshortened far cheek, not onto the
    point's reflection across the image's vertical (which would land on the background)."""
    lm = astronaut_subject.face.landmarks[:, :3].astype(np.float64)
    c = lm[:468].mean(axis=0)
    a = math.radians(30)
    rot = np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
    turned = (lm - c) @ rot.T + c
    s = 2.0  # a finer grid than the photo's
    turned[:, :2] = (turned[:, :2] - turned[:468, :2].min(axis=0) + 20) * s
    turned[:, 2] *= s
    shape = (int(turned[:468, 1].max()) + 20, int(turned[:468, 0].max()) + 20)
    m = geometry.mirror_map(turned, shape)
    mx, my = m[..., 0], m[..., 1]
    fw = np.linalg.norm(turned[234, :2] - turned[454, :2])
    for a_, b_ in ((50, 280), (280, 50), (33, 263), (263, 33), (1, 1)):
        x, y = np.round(turned[a_, :2]).astype(int)
        got = np.array([mx[y, x], my[y, x]])
        assert np.linalg.norm(got - turned[b_, :2]) < 0.03 * fw, (a_, b_)
    # The two cheeks' areas differ (foreshortening) and the map carries one onto the other.
    x, y = np.round(turned[50, :2]).astype(int)
    assert abs(mx[y, x] - turned[280, 0]) < abs(mx[y, x] - (2 * turned[1, 0] - x))
