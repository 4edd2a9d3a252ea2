"""The light contact sheet: one photo under each rig, cut to the head, labelled, in a grid."""

from __future__ import annotations

import numpy as np
import pytest

from headshot import PresetError, face as face_mod, sheet as sheet_mod
from headshot.imageio import from_srgb8
from headshot.presets import load_rig, rig_names
from headshot.sheet import TILE_EYE_LINE, TILE_FACE_WIDTHS, contact_sheet, resolve_lights
from tests.conftest import write_artifact


def test_sheet_grid_shape(astronaut_subject) -> None:
    s = contact_sheet(astronaut_subject, ["loop", "split"], tile=96)
    assert s.dtype == np.uint8 and s.shape == (96, 3 * 96, 3)  # none + 2 rigs in one row
    s = contact_sheet(astronaut_subject, ["all"], tile=64, columns=4)
    n = 1 + len(rig_names())
    rows = -(-n // 4)
    assert s.shape == (rows * 64, 4 * 64, 3)
    # Unused cells of the last row are plain dark grey.
    spare = 4 * rows - n
    if spare:
        assert np.all(s[-64:, -64 * spare :] == sheet_mod._EMPTY)


def test_sheet_tiles_differ_and_the_photo_comes_first(astronaut_subject) -> None:
    s = contact_sheet(astronaut_subject, ["none", "split", "loop", "split"], tile=128)
    assert s.shape == (128, 3 * 128, 3)  # "none" and the second "split" are not repeated
    tiles = [s[:, i * 128 : (i + 1) * 128] for i in range(3)]
    none = contact_sheet(astronaut_subject, [], tile=128)
    assert none.shape == (128, 128, 3) and np.array_equal(none, tiles[0])
    face = slice(30, 90), slice(30, 98)
    means = [float(t[face].mean()) for t in tiles]
    assert abs(means[1] - means[0]) > 1 and abs(means[2] - means[1]) > 1, means
    # Split lights one side of the face only: its two halves differ more than the photo's.
    half = [float(abs(t[30:90, 20:64].mean() - t[30:90, 64:108].mean())) for t in tiles]
    assert half[1] > half[0] + 5, half


def test_sheet_tiles_are_labelled(astronaut_subject) -> None:
    s = contact_sheet(astronaut_subject, ["loop"], tile=200)
    band = round(sheet_mod._LABEL_BAND * 200)
    for i in range(2):
        t = s[:, i * 200 : (i + 1) * 200]
        bottom = t[-band:]
        # A dark band with light text in it.
        assert np.median(bottom) < 90
        assert bottom.max() > 200


def test_sheet_face_fills_the_tile(astronaut_subject) -> None:
    tile = 360
    s = contact_sheet(astronaut_subject, ["butterfly"], tile=tile)
    t = s[:, :tile]
    f = face_mod.detect(from_srgb8(np.ascontiguousarray(t)))
    if not (abs(f.width / tile - 1 / TILE_FACE_WIDTHS) < 0.05 and abs(f.eye_mid[1] / tile - TILE_EYE_LINE) < 0.04
            and abs(f.eye_mid[0] / tile - 0.5) < 0.08):
        p = write_artifact("sheet-tile", t)
        pytest.fail(f"face {f.width:.0f} px wide, eyes at ({f.eye_mid[0]:.0f}, {f.eye_mid[1]:.0f}) in a {tile} px "
                    f"tile; see {p}")


def test_sheet_checks_before_rendering(astronaut_subject, monkeypatch) -> None:
    def boom(*a, **k):
        raise AssertionError("nothing may be rendered before the lights are checked")

    monkeypatch.setattr(sheet_mod, "render", boom)
    with pytest.raises(PresetError, match="unknown light 'nonexistent'.*loop"):
        contact_sheet(astronaut_subject, ["loop", "nonexistent"])
    with pytest.raises(PresetError, match="unknown style"):
        contact_sheet(astronaut_subject, ["loop"], style="nope")
    with pytest.raises(ValueError, match="tile"):
        contact_sheet(astronaut_subject, ["loop"], tile=10)
    with pytest.raises(ValueError, match="columns"):
        contact_sheet(astronaut_subject, ["loop"], columns=0)


def test_resolve_lights(tmp_path) -> None:
    assert resolve_lights(["none"]) == [None]
    everything = resolve_lights(None)
    assert [r.name for r in everything if r is not None] == rig_names()
    assert resolve_lights(["all", "loop", "none"])[-1] is None  # loop is already in "all"
    assert len(resolve_lights(["all", "loop", "none"])) == len(rig_names()) + 1
    loop = load_rig("loop")
    assert resolve_lights([loop, "loop"]) == [loop]
    f = tmp_path / "loop.toml"
    f.write_text('name = "loop"\n[key]\nazimuth = 10\n')
    with pytest.raises(PresetError, match="both named 'loop'"):
        resolve_lights(["loop", f])


def test_sheet_is_deterministic(astronaut_subject) -> None:
    a = contact_sheet(astronaut_subject, ["rembrandt"], tile=96)
    b = contact_sheet(astronaut_subject, ["rembrandt"], tile=96)
    assert np.array_equal(a, b)

