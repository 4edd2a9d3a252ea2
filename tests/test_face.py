"""The MediaPipe adapter: landmarks, pose, several/no faces, region masks."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from headshot import NoFaceError, SeveralFacesError, load
from headshot import face as F


@pytest.fixture(scope="module")
def astro():
    return load(F.__file__.rsplit("/src/", 1)[0] + "/examples/astronaut.jpg").pixels


def _polygon_edges(poly):
    return {tuple(sorted((poly[i], poly[(i + 1) % len(poly)]))) for i in range(len(poly))}


def test_polygons_follow_mediapipe_topology() -> None:
    import mediapipe as mp

    c = mp.solutions.face_mesh_connections
    for poly, conn, closed in (
        (F.FACE_OVAL, c.FACEMESH_FACE_OVAL, True),
        (F.RIGHT_EYE, c.FACEMESH_RIGHT_EYE, True),
        (F.LEFT_EYE, c.FACEMESH_LEFT_EYE, True),
        (F.RIGHT_BROW, c.FACEMESH_RIGHT_EYEBROW, False),
        (F.LEFT_BROW, c.FACEMESH_LEFT_EYEBROW, False),
    ):
        edges = {tuple(sorted(e)) for e in conn}
        mine = _polygon_edges(poly)
        assert edges <= mine and len(mine - edges) == (0 if closed else 2)
    lips = {tuple(sorted(e)) for e in c.FACEMESH_LIPS}
    assert _polygon_edges(F.LIPS_OUTER) | _polygon_edges(F.LIPS_INNER) <= lips | {(61, 78), (291, 308)} or \
        _polygon_edges(F.LIPS_OUTER) <= lips
    assert set(F.RIGHT_IRIS) == {i for e in c.FACEMESH_RIGHT_IRIS for i in e}
    assert set(F.LEFT_IRIS) == {i for e in c.FACEMESH_LEFT_IRIS for i in e}


def test_astronaut_landmarks(astronaut_subject) -> None:
    f = astronaut_subject.face
    assert f.landmarks.shape == (478, 3) and f.landmarks.dtype == np.float32
    assert f.faces_found == 1
    assert f.right_eye[0] < f.left_eye[0]  # subject's right eye on the image's left
    assert 180 < f.eye_mid[0] < 270 and 70 < f.eye_mid[1] < 130
    assert abs(f.pose.yaw) < 10 and abs(f.pose.pitch) < 12 and abs(f.pose.roll) < 6
    assert f.chin[1] > f.eye_mid[1] > f.crown[1]
    assert f.head_height == pytest.approx(2 * f.chin_to_eyes)


def _rotate(img: np.ndarray, deg: float) -> np.ndarray:
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), deg, 1.0)
    return cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


@pytest.mark.parametrize("deg", [-20.0, 12.0])
def test_roll_follows_rotation(astro, astronaut_subject, deg: float) -> None:
    f = F.detect(_rotate(astro, deg))
    # cv2's positive angle turns the picture counter-clockwise, which lifts the image-right eye.
    assert f.pose.roll == pytest.approx(astronaut_subject.face.pose.roll - deg, abs=1.5)


def test_yaw_flips_with_mirror(astronaut_subject, astro) -> None:
    flipped = np.ascontiguousarray(astro[:, ::-1])
    f = F.detect(flipped)
    assert f.pose.yaw == pytest.approx(-astronaut_subject.face.pose.yaw, abs=3.0)
    assert f.pose.roll == pytest.approx(-astronaut_subject.face.pose.roll, abs=1.0)


def test_large_photo_maps_back(astro, astronaut_subject) -> None:
    big = cv2.resize(astro, (4096, 4096), interpolation=cv2.INTER_CUBIC)
    f = F.detect(np.clip(big, 0, 1))
    np.testing.assert_allclose(f.eye_mid, astronaut_subject.face.eye_mid * 8, atol=8 * 2.0)
    assert f.width == pytest.approx(astronaut_subject.face.width * 8, rel=0.05)


def _two_faces(astro: np.ndarray) -> np.ndarray:
    canvas = np.full((512, 900, 3), 0.3, dtype=np.float32)
    canvas[:, 388:900] = astro
    small = cv2.resize(astro, (300, 300), interpolation=cv2.INTER_AREA)
    canvas[100:400, 40:340] = small
    return canvas


def test_several_faces_uses_largest(astro, astronaut_subject) -> None:
    f = F.detect(_two_faces(astro))
    assert f.faces_found == 2 and len(f.other_boxes) == 1
    assert f.eye_mid[0] > 388  # the full-size astronaut on the right
    assert f.width == pytest.approx(astronaut_subject.face.width, rel=0.06)


def test_several_faces_error_on_request(astro) -> None:
    with pytest.raises(SeveralFacesError) as e:
        F.detect(_two_faces(astro), several="error")
    assert e.value.count == 2 and "only you" in str(e.value)


def test_no_face() -> None:
    rng = np.random.default_rng(0)
    img = cv2.GaussianBlur(rng.random((300, 400, 3), dtype=np.float32), (0, 0), 6)
    with pytest.raises(NoFaceError, match="face"):
        F.detect(img)


def test_bad_argument() -> None:
    with pytest.raises(ValueError, match="float32"):
        F.detect(np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(ValueError, match="several"):
        F.detect(np.zeros((10, 10, 3), np.float32), several="all")


def test_region_masks(astronaut_subject) -> None:
    f = astronaut_subject.face
    shape = (512, 512)
    m = {r: F.region_mask(f, r, shape) > 0 for r in F.REGIONS}
    for r, mask in m.items():
        assert mask.any(), r
    assert not (m["skin"] & (m["eyes"] | m["brows"] | m["lips"] | m["mouth"])).any()
    assert (m["irises"] <= m["eyes"]).all()
    assert (m["skin"] <= m["face"]).all()
    half = F.region_mask(f, "face", (256, 256), scale=0.5)
    assert half.sum() == pytest.approx(m["face"].sum() / 4, rel=0.05)
    with pytest.raises(ValueError, match="region"):
        F.region_mask(f, "nose", shape)
