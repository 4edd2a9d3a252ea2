"""Presets are data: every built-in loads, user files work, mistakes are named."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from headshot import PresetError, load_platform, load_style, platform_names, style_names
from headshot.presets import DEFAULT_PLATFORMS, DEFAULT_STYLES, parse_colour



def assert_refused(loader: Callable[[Path], object], tmp_path: Path, text: str, words: list[str]) -> None:
    """A preset file with `text` is refused with a PresetError naming the file and every one of `words`."""
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(PresetError) as e:
        loader(f)
    msg = str(e.value)
    assert str(f) in msg
    for w in words:
        assert w in msg, (w, msg)

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
    assert_refused(load_style, tmp_path, text, words)


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


# ------------------------------------------------------------------------------------ light rigs


def test_builtin_rigs_load() -> None:
    from headshot.presets import MODIFIERS, SIDES, load_rig, rig_names

    names = rig_names()
    assert {"loop", "rembrandt", "butterfly", "clamshell", "split", "broad", "short", "high-key"} <= set(names)
    for n in names:
        r = load_rig(n)
        assert r.name == n and r.description and r.source == f"builtin:{n}"
        assert r.side in SIDES and r.ratio >= 1
        assert r.key.intensity == 1.0 and r.key.modifier in MODIFIERS
        assert -90 <= r.key.azimuth <= 90 and r.key.elevation > -45
        if r.ratio > 1:
            assert r.fill is not None
        if r.rim is not None:
            assert abs(r.rim.azimuth) > 90
    # The patterns as a photographer knows them.
    assert load_rig("split").key.azimuth >= 80
    assert load_rig("butterfly").key.azimuth == 0 and load_rig("butterfly").key.elevation >= 30
    assert load_rig("broad").side == "broad" and load_rig("short").side == "short"
    assert 2.0 <= load_rig("loop").ratio <= 4.0 < load_rig("split").ratio


def test_builtin_styles_have_valid_light() -> None:
    from headshot.presets import rig_names

    for n in style_names():
        s = load_style(n)
        assert 0.0 <= s.strength <= 1.0
        if s.rig is not None:
            assert s.rig.name in rig_names()


def test_user_rig_file(tmp_path: Path) -> None:
    from headshot.presets import load_rig

    f = tmp_path / "window.toml"
    f.write_text('name = "window"\ndescription = "a big window"\nratio = 2.0\nside = "right"\n'
                 '[key]\nazimuth = 60\nelevation = 10\nsize = 1.0\ntemperature = 6500\n'
                 '[fill]\nazimuth = -30\nsize = 1.0\n')
    r = load_rig(f)
    assert r.name == "window" and r.side == "right" and r.ratio == 2.0 and r.source == str(f)
    assert r.key.azimuth == 60 and r.key.temperature == 6500 and r.fill is not None and r.rim is None
    # Defaults fill in the rest.
    assert r.sheen >= 0 and r.catchlights is True and r.background_ev == 0


@pytest.mark.parametrize(
    "text, words",
    [
        ('[key]\nazimth = 30\n', ["unknown key", "azimth", "[key]"]),
        ('colour = "red"\n[key]\n', ["unknown key", "colour"]),
        ('[key]\nazimuth = 200\n', ["azimuth", "outside", "[key]"]),
        ('[key]\nelevation = -120\n', ["elevation", "outside"]),
        ('[fill]\nazimuth = 10\nsize = 3\n[key]\n', ["[fill]", "size", "outside"]),
        ('ratio = 3.0\n[key]\nazimuth = 30\n', ["ratio", "[fill]"]),
        ('ratio = 0.5\n[key]\n', ["ratio", "outside"]),
        ('[key]\n[rim]\nazimuth = 60\n', ["[rim].azimuth", "90"]),
        ('side = "top"\n[key]\n', ["side", "broad", "short"]),
        ('[key]\nmodifier = "beauty-dish"\n', ["modifier", "softbox"]),
        ('[key]\ntemperature = 900\n', ["temperature", "outside"]),
        ('description = "no key"\n', ["[key]"]),
        ('[key]\nazimuth = "left"\n', ["azimuth", "float"]),
        ("[key\n", ["cannot be read"]),
    ],
)
def test_bad_rig_files_are_named(tmp_path: Path, text: str, words: list[str]) -> None:
    from headshot.presets import load_rig

    assert_refused(load_rig, tmp_path, text, words)


def test_unknown_rig_names() -> None:
    from headshot.presets import load_rig

    with pytest.raises(PresetError, match="unknown light 'nope'.*loop.*\\.toml"):
        load_rig("nope")


@pytest.mark.parametrize(
    "text, words",
    [
        ('[light]\nrig = "nonexistent"\n', ["[light].rig", "unknown light 'nonexistent'", "loop"]),
        ('[light]\nrig = "loop"\nstrength = 2\n', ["[light].strength", "outside"]),
        ('[light]\nrigg = "loop"\n', ["[light]", "unknown key", "rigg"]),
    ],
)
def test_bad_style_light(tmp_path: Path, text: str, words: list[str]) -> None:
    assert_refused(load_style, tmp_path, text, words)


def test_style_light(tmp_path: Path) -> None:
    f = tmp_path / "lit.toml"
    f.write_text('[light]\nrig = "rembrandt"\nstrength = 0.5\n')
    s = load_style(f)
    assert s.rig is not None and s.rig.name == "rembrandt" and s.strength == 0.5
    f.write_text('[light]\nrig = "none"\n')
    assert load_style(f).rig is None


# ------------------------------------------------------------------------------------ backdrops


def test_new_backdrop_styles_load() -> None:
    canvas = load_style("canvas").backdrop
    assert canvas.kind == "canvas" and 0 < canvas.mottle <= 1 and canvas.mottle_colour is not None
    office = load_style("office").backdrop
    assert office.kind == "bokeh" and office.lights > 0 and office.blur is not None
    assert load_style("canvas-brown").backdrop.seed != canvas.seed


def test_studio_colour_names() -> None:
    for name in ("cream", "navy", "slate", "blue-grey", "taupe", "olive", "umber", "mid-grey"):
        rgb = parse_colour(name, where="x")
        assert all(0 <= c <= 1 for c in rgb)
    assert parse_colour("navy", where="x")[2] > parse_colour("navy", where="x")[0]
    assert min(parse_colour("cream", where="x")) > 0.75


def test_backdrop_keys_and_defaults(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text('[backdrop]\nkind = "canvas"\ncolour = "slate"\nmottle_colour = "#202830"\nmottle = 0.4\n'
                 'scale = 0.5\nseed = 42\nfalloff = 0.6\n')
    bd = load_style(f).backdrop
    assert (bd.kind, bd.mottle, bd.scale, bd.seed, bd.falloff) == ("canvas", 0.4, 0.5, 42, 0.6)
    assert bd.colour == parse_colour("slate", where="x") and bd.mottle_colour == parse_colour("#202830", where="x")
    f.write_text('[backdrop]\nkind = "bokeh"\n')
    bd = load_style(f).backdrop
    assert bd.kind == "bokeh" and bd.blur is None and bd.lights == 18 and bd.seed == 1
    f.write_text('[backdrop]\nkind = "bokeh"\nlights = 0\nblur = 0.05\nseed = 2147483647\n')
    bd = load_style(f).backdrop
    assert (bd.lights, bd.blur, bd.seed) == (0, 0.05, 2**31 - 1)


@pytest.mark.parametrize(
    "text, words",
    [
        ('[backdrop]\nkind = "canvas"\nmottle = 1.5\n', ["[backdrop].mottle", "outside"]),
        ('[backdrop]\nkind = "canvas"\nmottel = 0.5\n', ["unknown key", "mottel"]),
        ('[backdrop]\nkind = "canvas"\nscale = 0\n', ["scale", "outside"]),
        ('[backdrop]\nkind = "canvas"\nmottle_colour = "mauve-ish"\n', ["mottle_colour", "#rrggbb"]),
        ('[backdrop]\nkind = "canvas"\npath = "x.jpg"\n', ["[backdrop].path", "not used by kind 'canvas'", "image"]),
        ('[backdrop]\nkind = "gradient"\nseed = 3\n', ["seed", "not used by kind 'gradient'", "canvas, bokeh"]),
        ('[backdrop]\nkind = "bokeh"\nfalloff = 0.3\n', ["falloff", "not used by kind 'bokeh'"]),
        ('[backdrop]\nkind = "bokeh"\nlights = 500\n', ["lights", "outside"]),
        ('[backdrop]\nkind = "bokeh"\nlights = 2.5\n', ["lights", "int"]),
        ('[backdrop]\nkind = "bokeh"\nseed = 1.5\n', ["seed", "int"]),
        ('[backdrop]\nkind = "bokeh"\nseed = -1\n', ["seed", "outside"]),
        ('[backdrop]\nkind = "bokeh"\nblur = 0.5\n', ["blur", "outside"]),
        ('[backdrop]\nkind = "bokeh"\nblur = 0\n', ["blur", "outside"]),
        ('[backdrop]\nkind = "image"\n', ["[backdrop].path", "required"]),
        (
            '[backdrop]\nkind = "image"\npath = "missing-env.jpg"\n',
            ["[backdrop].path", "missing-env.jpg", "does not exist"],
        ),
        ('[backdrop]\nkind = "image"\ncolour = "white"\npath = "a.jpg"\n', ["colour", "not used by kind 'image'"]),
        ('[backdrop]\nkind = "neon"\n', ["kind", "canvas", "bokeh", "image"]),
    ],
)
def test_bad_backdrops_are_named(tmp_path: Path, text: str, words: list[str]) -> None:
    assert_refused(load_style, tmp_path, text, words)


def _env_png(path: Path) -> Path:
    import numpy as np

    from headshot.imageio import save

    save(np.full((20, 30, 3), 0.3, np.float32), path)
    return path


def test_image_backdrop_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "styles" / "env").mkdir(parents=True)
    env = _env_png(tmp_path / "styles" / "env" / "lobby.png")
    f = tmp_path / "styles" / "lobby.toml"
    f.write_text('[backdrop]\nkind = "image"\npath = "env/lobby.png"\nblur = 0.01\nmatch = 0.3\n'
                 'darken_ev = 1.5\nexposure_ev = -0.5\n')
    monkeypatch.chdir(tmp_path)
    bd = load_style(f).backdrop
    assert bd.path == str(env.resolve())
    assert (bd.blur, bd.match, bd.darken_ev, bd.exposure_ev) == (0.01, 0.3, 1.5, -0.5)
    # A relative style path (from the working folder) still resolves against the style's own folder.
    assert load_style("styles/lobby.toml").backdrop.path == str(env.resolve())
    # Absolute paths and ~ work too.
    f.write_text(f'[backdrop]\nkind = "image"\npath = "{env}"\n')
    bd = load_style(f).backdrop
    assert bd.path == str(env.resolve()) and bd.blur is None and bd.match == 0.7 and bd.darken_ev == 1.0


@pytest.mark.parametrize(
    "extra, words",
    [
        ("match = 1.5\n", ["match", "outside"]),
        ("darken_ev = 9\n", ["darken_ev", "outside"]),
        ("exposure_ev = -5\n", ["exposure_ev", "outside"]),
        ("blur = 0.3\n", ["blur", "outside"]),
        ("mottle = 0.3\n", ["mottle", "not used by kind 'image'"]),
    ],
)
def test_bad_image_backdrops_are_named(tmp_path: Path, extra: str, words: list[str]) -> None:
    _env_png(tmp_path / "env.png")
    assert_refused(load_style, tmp_path, '[backdrop]\nkind = "image"\npath = "env.png"\n' + extra, words)


def test_unreadable_environment_image_is_named(tmp_path: Path) -> None:
    (tmp_path / "env.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    (tmp_path / "notes.jpg").write_text("not an image at all")
    for name in ("env.jpg", "notes.jpg"):
        f = tmp_path / "bad.toml"
        f.write_text(f'[backdrop]\nkind = "image"\npath = "{name}"\n')
        with pytest.raises(PresetError) as e:
            load_style(f)
        msg = str(e.value)
        assert str(f) in msg and "[backdrop].path" in msg and name in msg and "cannot be used" in msg
