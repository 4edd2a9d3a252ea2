"""Presets are data: every built-in loads, user files work, mistakes are named."""

from __future__ import annotations

from pathlib import Path

import pytest

from headshot import PresetError, load_platform, load_style, platform_names, style_names
from headshot.presets import DEFAULT_PLATFORMS, DEFAULT_STYLES, parse_colour


def test_builtin_presets_load() -> None:
    assert set(DEFAULT_STYLES) <= set(style_names())
    assert {"linkedin", "website", "speaker", "press", "square-avatar", "passport"} <= set(platform_names())
    assert set(DEFAULT_PLATFORMS) <= set(platform_names())
    for n in style_names():
        s = load_style(n)
        assert s.name == n and s.description
    for n in platform_names():
        p = load_platform(n)
        assert p.name == n and p.description
        assert 0 < p.eye_line < 1 and 0 < p.head_height < 1
        assert p.min_head_height <= p.head_height


def test_default_styles_are_distinct() -> None:
    looks = {(load_style(n).backdrop, load_style(n).tone) for n in DEFAULT_STYLES}
    assert len(looks) == len(DEFAULT_STYLES) >= 4


def test_platform_aspects() -> None:
    aspect = {n: load_platform(n).width / load_platform(n).height for n in platform_names()}
    assert aspect["linkedin"] == 1.0
    assert aspect["website"] == pytest.approx(4 / 5)
    assert aspect["speaker"] == pytest.approx(3 / 4)
    assert aspect["press"] == pytest.approx(4 / 5)
    p = load_platform("passport")
    # ICAO 9303: 35 x 45 mm at 600 dpi.
    assert (p.width, p.height, p.dpi) == (round(35 / 25.4 * 600), round(45 / 25.4 * 600), 600)
    assert 0.70 <= p.min_head_height <= p.head_height <= 0.80
    assert p.plain_backdrop is not None and min(p.plain_backdrop) > 0.85


def test_user_style_file(tmp_path: Path) -> None:
    f = tmp_path / "brand.toml"
    f.write_text('name = "brand"\ndescription = "ours"\n[backdrop]\nkind = "solid"\ncolour = "#112233"\n')
    s = load_style(f)
    assert s.name == "brand" and s.backdrop.kind == "solid"
    assert s.backdrop.colour == pytest.approx((0x11 / 255, 0x22 / 255, 0x33 / 255))
    assert load_style(str(f)).source == str(f)


@pytest.mark.parametrize(
    "text, words",
    [
        ('[backdrop]\ncolour = "#12345"\n', ["colour", "#rrggbb"]),
        ('[backdrop]\ncolor = "#123456"\n', ["unknown key", "color"]),
        ('[backdrop]\nkind = "neon"\n', ["kind", "solid"]),
        ('[tone]\nexposure_ev = 7\n', ["exposure_ev", "outside"]),
        ('[tone]\nauto_exposure = "yes"\n', ["auto_exposure", "bool"]),
        ("[backdrop\n", ["cannot be read"]),
        ('[backdrop]\ncenter = [2, 0]\n', ["center"]),
    ],
)
def test_bad_style_files_are_named(tmp_path: Path, text: str, words: list[str]) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(PresetError) as e:
        load_style(f)
    msg = str(e.value)
    assert str(f) in msg
    for w in words:
        assert w in msg


def test_unknown_names() -> None:
    with pytest.raises(PresetError, match="unknown style 'nope'.*corporate"):
        load_style("nope")
    with pytest.raises(PresetError, match="unknown platform 'nope'.*linkedin"):
        load_platform("nope")
    with pytest.raises(PresetError, match="does not exist"):
        load_style("missing-file.toml")


def test_colours() -> None:
    assert parse_colour("#ffffff", where="x") == (1.0, 1.0, 1.0)
    assert parse_colour("white", where="x")[0] > 0.9
    with pytest.raises(PresetError, match="where: 12"):
        parse_colour(12, where="where")
