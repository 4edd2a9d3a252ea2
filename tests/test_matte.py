"""The matte: trimap contract, second people, determinism, and background independence on the
always-available astronaut (the full figures on the dev photos are benchmarks/bench_matte.py)."""

from __future__ import annotations

import numpy as np
import pytest

from headshot import matte as matte_mod
from headshot.face import region_mask, resize_max
from headshot.imageio import srgb_to_linear, to_srgb8

from .conftest import write_artifact


def test_trimap_contract(astronaut_subject) -> None:
    m = astronaut_subject.matte
    assert m.trimap is not None and m.trimap.shape == m.alpha.shape and m.trimap.dtype == np.uint8
    assert set(np.unique(m.trimap)) <= {0, 128, 255}
    assert (m.trimap == 128).mean() > 0.01  # there is a band to solve
    # Alpha obeys the trimap: sure regions are exactly 0 and 1.
    assert (m.alpha[m.trimap == 255] == 1).all()
    assert (m.alpha[m.trimap == 0] == 0).all()
    # The face oval is always subject.
    oval = region_mask(astronaut_subject.face, "face", m.alpha.shape, scale=m.scale) > 0
    assert (m.trimap[oval] == 255).mean() > 0.97
    assert not m.alpha.flags.writeable and not m.trimap.flags.writeable


def test_second_person_is_background(astronaut_subject) -> None:
    face = astronaut_subject.face
    s = astronaut_subject.matte.scale
    h, w = astronaut_subject.matte.alpha.shape
    coarse = np.zeros((h, w), np.float32)
    coarse[region_mask(face, "face", (h, w), scale=s) > 0] = 1.0
    # The subject's body below the face, and a separate person at the right edge.
    fy = int(face.chin[1] * s)
    coarse[fy:, int(w * 0.2): int(w * 0.7)] = 1.0
    coarse[int(h * 0.3):, int(w * 0.88):] = 1.0
    tri = matte_mod.trimap(coarse, face, s)
    assert (tri[int(h * 0.35):, int(w * 0.92):] == 0).all(), "the second person must be background"
    assert (tri[fy + 40:, int(w * 0.3): int(w * 0.6)] == 255).mean() > 0.9
    band = tri == 128
    assert band[:, int(w * 0.15): int(w * 0.75)].any()


def test_matte_is_deterministic(astronaut_subject) -> None:
    work, ws = resize_max(astronaut_subject.photo.pixels, matte_mod.WORK_SIDE)
    a = matte_mod.compute(work, astronaut_subject.face, photo_scale=ws)
    b = matte_mod.compute(work, astronaut_subject.face, photo_scale=ws)
    assert a.alpha.tobytes() == b.alpha.tobytes()
    assert a.decontaminate is not None and b.decontaminate is not None
    assert a.decontaminate.tobytes() == b.decontaminate.tobytes()


@pytest.mark.parametrize("background", ["green", "white"])
def test_background_independence_on_astronaut(astronaut_subject, background: str) -> None:
    """Composite the matted subject over a new background and matte it again: the same alpha comes
    back (band MAE, the benchmark's measure) and the new background's colour stays out of the
    foreground colours."""
    subject = astronaut_subject
    work, ws = resize_max(subject.photo.pixels, matte_mod.WORK_SIDE)
    m0 = subject.matte
    a0 = np.asarray(m0.alpha)
    f0 = np.clip(work + m0.decontaminate, 0.0, 1.0)
    colour = {"green": (0.0, 0.43, 0.05), "white": (1.0, 1.0, 1.0)}[background]
    bg = np.float32(colour)
    comp = f0 * a0[:, :, None] + bg * (1.0 - a0[:, :, None])
    comp = np.ascontiguousarray(srgb_to_linear(to_srgb8(comp.astype(np.float32)).astype(np.float32) / 255.0),
                                dtype=np.float32)
    m1 = matte_mod.compute(comp, subject.face, photo_scale=ws)
    band = m0.trimap == 128
    mae = float(np.abs(m1.alpha - a0)[band].mean())
    f1 = np.clip(comp + m1.decontaminate, 0.0, 1.0)
    grey = np.float32([0.214] * 3)
    d = bg - grey
    mixed = band & (a0 > 0.02) & (a0 < 0.98)
    spill = float((((m1.alpha[:, :, None] * (f1 - f0)) @ d) / (d @ d))[mixed].mean())
    # Regression guards, not the figures (those are measured on the dev photos by
    # benchmarks/bench_matte.py): the astronaut measured MAE 0.05 (green) / 0.084 (white) and spill
    # 0.032 (green) on 2026-11-23. Her white suit against a white wall is the hardest case here.
    if mae > MAE_GUARD or spill > SPILL_GUARD:
        write_artifact(f"matte-astronaut-{background}", comp)
    assert mae <= MAE_GUARD, f"band MAE {mae:.3f} on {background}"
    assert spill <= SPILL_GUARD, f"colour spill {spill:.3f} on {background}"


MAE_GUARD = 0.10
SPILL_GUARD = 0.04
