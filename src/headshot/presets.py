"""Styles and platforms are data: TOML files loaded into frozen dataclasses.

The built-in presets live in ``headshot/styles/*.toml`` and ``headshot/platforms/*.toml``. A user can
copy one, change it and pass the file's path wherever a preset name is accepted. Unknown keys are
refused (a typo must not be silently ignored) and every error names the file and the key.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .composite import Finish
from .errors import PresetError

__all__ = [
    "Backdrop",
    "BACKDROP_KINDS",
    "Tone",
    "TeamLook",
    "Style",
    "Platform",
    "Light",
    "Rig",
    "load_rig",
    "rig_names",
    "load_style",
    "load_platform",
    "style_names",
    "platform_names",
    "DEFAULT_STYLES",
    "DEFAULT_PLATFORMS",
    "parse_colour",
]

DEFAULT_STYLES = ("corporate", "warm", "charcoal", "high-key")
DEFAULT_PLATFORMS = ("linkedin",)

_HEX = re.compile(r"^#?([0-9a-fA-F]{6})$")
_NAMED = {
    "white": "#f4f4f2",
    "light-grey": "#c8cacc",
    "grey": "#8e9194",
    "mid-grey": "#8e9194",
    "dark-grey": "#4a4c4f",
    "charcoal": "#2e3033",
    "black": "#141516",
    "beige": "#d8cbb6",
    # Further studio paper and canvas colours.
    "cream": "#e9e1cf",
    "taupe": "#9d9286",
    "slate": "#5f6b78",
    "blue-grey": "#7b8794",
    "navy": "#1f3a5f",
    "olive": "#5e6450",
    "umber": "#5b4a3c",
}


def parse_colour(value: Any, *, where: str) -> tuple[float, float, float]:
    """An sRGB colour from ``"#rrggbb"`` or a named studio colour, as three floats in [0, 1]."""
    if isinstance(value, str):
        v = _NAMED.get(value.strip().lower(), value.strip())
        m = _HEX.match(v)
        if m:
            h = m.group(1)
            return (int(h[0:2], 16) / 255.0, int(h[2:4], 16) / 255.0, int(h[4:6], 16) / 255.0)
    raise PresetError(
        f"{where}: {value!r} is not a colour; use '#rrggbb' or one of {', '.join(sorted(_NAMED))}"
    )


BACKDROP_KINDS = ("solid", "gradient", "canvas", "bokeh", "image")
DEFAULT_SEED = 1


@dataclass(frozen=True)
class Backdrop:
    """A studio backdrop (see ``docs/backdrops.md`` for pictures in words and every style-file key).

    Attributes
    ----------
    kind : {"solid", "gradient", "canvas", "bokeh", "image"}
        ``solid``: one flat colour. ``gradient``: seamless paper lit by a background light, brightest
        at ``center`` and falling off toward the edges. ``canvas``: a mottled, hand-painted muslin
        (the classic portrait canvas) under the same background light. ``bokeh``: an out-of-focus
        office interior with soft round highlights. ``image``: a photo of an environment supplied
        by the user, blurred as if by depth of field and matched to the subject.
    colour : (r, g, b) sRGB in [0, 1]
        The colour where the background light is brightest (all over for ``solid``); the base paint
        of ``canvas``; the overall tone of ``bokeh``. Not used by ``image``.
    edge_colour : (r, g, b) sRGB in [0, 1] or None
        The colour at the frame's corners for ``gradient`` and ``canvas``; ``None`` = ``colour``
        darkened by ``falloff``.
    falloff : float in [0, 1]
        How much darker the corners are than the centre, in stops/2 (0 = flat).
    center : (x, y) in [0, 1]
        Where the background light is centred, as fractions of the frame.
    spread : float > 0
        Radius of the lit area relative to the frame's diagonal.
    grain : float in [0, 0.05]
        Amplitude of a fixed, seeded paper grain that also dithers away banding (every kind).
    mottle_colour : (r, g, b) sRGB in [0, 1] or None
        ``canvas``: the second paint dabbed over ``colour``; ``None`` = ``colour`` darkened.
    mottle : float in [0, 1]
        ``canvas``: how strongly the paint is mottled (0 = plain painted cloth).
    scale : float in [0.05, 2]
        ``canvas``: size of the largest blotches relative to the frame's long side.
    seed : int >= 0
        ``canvas`` and ``bokeh``: which pattern; a team keeps it to share the very same backdrop.
    lights : int in [0, 200]
        ``bokeh``: how many out-of-focus lights (discs) are scattered through the room.
    blur : float in [0, 0.2] or None
        ``bokeh`` and ``image``: depth of field, as a Gaussian sigma in fractions of the frame's
        height; ``None`` = the kind's default (0.02 for ``image``, 0.035 for ``bokeh``).
    path : str or None
        ``image``: absolute path of the environment photo (a style file's relative path is resolved
        against the file's folder when the style is loaded).
    match : float in [0, 1]
        ``image``: how strongly the environment's brightness and colour cast are matched to the
        subject (0 = used as shot).
    darken_ev : float in [-1, 4]
        ``image``: with a subject to match, how many stops the environment's mean luminance sits
        below the lit face (1 = one stop, so the subject stands out).
    exposure_ev : float in [-4, 4]
        ``image``: exposure bias of the environment as loaded (what ``match`` starts from).
    """

    kind: str = "gradient"
    colour: tuple[float, float, float] = (0.78, 0.79, 0.80)
    edge_colour: tuple[float, float, float] | None = None
    falloff: float = 0.35
    center: tuple[float, float] = (0.5, 0.35)
    spread: float = 0.55
    grain: float = 0.006
    mottle_colour: tuple[float, float, float] | None = None
    mottle: float = 0.5
    scale: float = 0.35
    seed: int = DEFAULT_SEED
    lights: int = 18
    blur: float | None = None
    path: str | None = None
    match: float = 0.7
    darken_ev: float = 1.0
    exposure_ev: float = 0.0


@dataclass(frozen=True)
class Tone:
    """Colour and exposure of the subject (see :mod:`headshot.colour`).

    Attributes
    ----------
    exposure_ev : float in [-2, 2]
        A deliberate exposure bias of the style (high-key styles sit a little brighter).
    auto_exposure : bool
        Correct a clearly under- or over-exposed face back into a normal range. A face already in
        range is left alone: a complexion is never pushed toward a norm.
    white_balance : float in [0, 1]
        How much of the photo's colour cast is removed (0 = the camera's colours as they are).
    contrast : float in [-0.5, 0.5]
        The style's contrast curve about the face's level (0 = none, 0.1 = a gentle studio curve).
    """

    exposure_ev: float = 0.0
    auto_exposure: bool = True
    white_balance: float = 1.0
    contrast: float = 0.0


@dataclass(frozen=True)
class TeamLook:
    """How a team run (``headshot team``) normalises everybody to one look (``[team]`` in the style).

    Framing (eye line, head size, output size) and the backdrop are fixed by the style and platform
    for everyone; these settings fix the face's exposure.

    Attributes
    ----------
    face_lightness : float in [30, 85]
        CIE L* that the median of every person's skin is brought to (after the light rig), so the
        whole team is exposed alike.
    keep_lightness : float in [0, 1]
        Fraction of each person's own difference from ``face_lightness`` that is kept. A single photo
        cannot tell a darker complexion from a darker exposure: 0 treats every difference as exposure
        (the most uniform team page, and a darker complexion is brought toward the team's level); 0.5
        keeps half of it (less uniform, closer to each photo). See docs/team.md.
    max_exposure_ev : float in [0.25, 3]
        The largest exposure change a team run makes; a face further off stops there. (A person
        whose face needs 1.5 EV or more is listed for a retake either way: such a photo is noisy
        or burnt out.)
    """

    face_lightness: float = 62.0
    keep_lightness: float = 0.0
    max_exposure_ev: float = 2.5


@dataclass(frozen=True)
class Retouch:
    """How much retouching a style asks for; every strength is in [0, 1] (see :mod:`headshot.retouch`).

    The defaults are the ``natural`` level (``retouching/natural.toml``): what a retoucher would
    deliver for a LinkedIn portrait, with the person's texture, marks and features kept.

    Attributes
    ----------
    skin : float
        Evening of blotches and redness (frequency separation on the skin; pores are kept).
    blemishes : float
        Temporary spots (small, isolated, red) healed with the surrounding texture; 1 removes each
        spot's whole difference from the skin around it.
    shine : float
        Specular hot spots on forehead, nose and cheeks reduced (without greying the skin).
    under_eye : float
        Dark circles lifted toward the cheek's level (the lines are kept).
    eyes : float
        Clarity and contrast in the iris (the whites are left as they are).
    teeth : float
        Yellow taken out of the teeth (0 by default; shape and brightness never changed).
    stray_hairs : float
        Fine hairs standing out from the silhouette made fainter (never removed).
    marks : bool
        Also remove permanent marks (moles, freckles) that are small and isolated; off by default.
    """

    skin: float = 0.4
    blemishes: float = 1.0
    shine: float = 0.4
    under_eye: float = 0.3
    eyes: float = 0.3
    teeth: float = 0.0
    stray_hairs: float = 0.3
    marks: bool = False
    name: str = "natural"

    def __post_init__(self) -> None:
        for k in RETOUCH_STRENGTHS:
            v = getattr(self, k)
            if not (isinstance(v, (int, float)) and 0.0 <= float(v) <= 1.0):
                raise ValueError(f"retouch {k} must be between 0 and 1, got {v!r}")

    @property
    def active(self) -> bool:
        """Whether anything is done at all."""
        return any(getattr(self, k) > 0 for k in RETOUCH_STRENGTHS) or self.marks

    def as_dict(self) -> dict[str, object]:
        d: dict[str, object] = {"level": self.name}
        d.update({k: round(float(getattr(self, k)), 3) for k in RETOUCH_STRENGTHS})
        d["marks"] = self.marks
        return d


RETOUCH_STRENGTHS = ("skin", "blemishes", "shine", "under_eye", "eyes", "teeth", "stray_hairs")


MODIFIERS = ("softbox", "octabox", "stripbox", "umbrella", "ring", "bare")
SIDES = ("left", "right", "broad", "short")


@dataclass(frozen=True)
class Light:
    """One studio light, placed relative to the camera.

    Attributes
    ----------
    azimuth : float, degrees in [-180, 180]
        Around the subject, from the camera axis: 0 = beside the camera, 90 = at the side, 180 =
        behind. Positive is the rig's key side, negative the opposite side.
    elevation : float, degrees in [-90, 90]
        Above (positive) or below (negative) the subject's eye height.
    intensity : float >= 0
        Relative to the key (the key's own is 1; a fill's is normally set by the rig's ratio).
    size : float in [0, 1]
        Apparent size of the source: 0 = bare bulb (hard shadows), 1 = very large soft source.
    temperature : float, kelvin in [2000, 12000]
        Colour temperature; 5600 K is neutral (the camera is balanced for studio flash).
    modifier : str
        Shape of the source as it shows in the eyes: one of :data:`MODIFIERS`.
    """

    azimuth: float = 0.0
    elevation: float = 0.0
    intensity: float = 1.0
    size: float = 0.5
    temperature: float = 5600.0
    modifier: str = "softbox"


@dataclass(frozen=True)
class Rig:
    """A studio light rig: key, optional fill, rim and background light.

    Attributes
    ----------
    name, description : str
    key : Light
    fill : Light or None
        Its intensity is used as given when ``ratio`` is 1; otherwise it is metered (see ``ratio``).
    rim : Light or None
        A hair/rim light from behind (azimuth beyond 90).
    ratio : float >= 1
        The lighting ratio (key + fill) : fill, as a photographer meters it on the two cheeks. The
        fill's intensity is set for each face so that the cheeks read this ratio.
    side : {"left", "right", "broad", "short"}
        Image side of the key. ``broad`` lights the side of the face turned toward the camera,
        ``short`` the side turned away; both follow the head's yaw.
    background_ev : float in [-3, 3]
        Background light: brightens (darkens) the backdrop by this many stops.
    sheen : float in [0, 0.3]
        Strength of the skin's specular sheen from the key (subtle: 0.03).
    catchlights : bool
        Paint the key's catchlight in each eye (and tone down stray ones).
    source : str
    """

    name: str
    description: str
    key: Light
    fill: Light | None
    rim: Light | None
    ratio: float
    side: str
    background_ev: float
    sheen: float
    catchlights: bool
    source: str


@dataclass(frozen=True)
class Style:
    """A look: backdrop, light rig and tone.

    Attributes
    ----------
    rig : Rig or None
        The studio light (``None``: the photo's own light is kept).
    strength : float in [0, 1]
        How much of the relighting is applied (0 = the photo's own light).
    finish : Finish
        How the subject is set on the backdrop: light wrap and the soft shadow on the paper
        (``[finish]`` in the style file; see :class:`headshot.composite.Finish`).
    retouch : Retouch
        The retouching (``[retouch]`` in the style file: a ``level`` and any strengths to override).
    team : TeamLook
        How a team run normalises everybody's exposure (``[team]`` in the style file).
    """

    name: str
    description: str
    backdrop: Backdrop
    tone: Tone
    source: str
    rig: Rig | None = None
    strength: float = 1.0
    finish: Finish = field(default_factory=Finish)
    retouch: Retouch = field(default_factory=Retouch)
    team: TeamLook = field(default_factory=TeamLook)


@dataclass(frozen=True)
class Platform:
    """Where a headshot will be used: its frame, size and framing rules.

    Attributes
    ----------
    width, height : int
        Output size in pixels.
    eye_line : float in (0, 1)
        Height of the eye line, as a fraction of the frame's height from the top.
    head_height : float in (0, 1)
        Chin-to-crown (hair excluded) as a fraction of the frame's height.
    dpi : int or None
        Print resolution written into the file (passport prints).
    circle : bool
        The platform shows the picture in a circle (LinkedIn): the face must stay inside it.
    min_side : int
        When the photo has too few pixels for the default size, the output is made smaller, down to
        this, rather than upscaling the face more than 2x (never when the user asks for a size).
    fixed_size : bool
        The size is a standard (a passport) and is never changed automatically.
    plain_backdrop : (r, g, b) or None
        Forces a plain backdrop of this sRGB colour whatever the style says (ID photos).
    max_zoom : float >= 1
        How much the head may be enlarged beyond ``head_height`` to keep a photo's cut-off bottom
        edge out of the frame.
    min_head_height : float
        How far ``head_height`` may be reduced so that voluminous hair stays inside the frame
        (ID photos; equal to ``head_height`` elsewhere).
    hair_margin : float
        Room to keep above the hair, as a fraction of the frame's height.
    retouch : str or None
        A retouching level this platform requires whatever the style asks (``"none"`` for ID photos).
    """

    name: str
    description: str
    width: int
    height: int
    eye_line: float
    head_height: float
    dpi: int | None
    circle: bool
    min_side: int
    fixed_size: bool
    plain_backdrop: tuple[float, float, float] | None
    max_zoom: float
    min_head_height: float
    hair_margin: float
    source: str
    retouch: str | None = None


# Built-in presets of each kind live in this folder of the package.
_FOLDERS = {"retouch": "retouching"}


def _read(kind: str, name_or_path: str | Path) -> tuple[dict[str, Any], str, str]:
    """Read a preset by built-in name or by file path: (data, name, source)."""
    text = str(name_or_path)
    path = Path(text)
    if text.endswith(".toml") or path.is_file():
        if not path.is_file():
            raise PresetError(f"{kind} file {text} does not exist")
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
            raise PresetError(f"{kind} file {text} cannot be read: {e}") from None
        return data, str(data.get("name", path.stem)), str(path)
    folder = resources.files("headshot") / _FOLDERS.get(kind, f"{kind}s")
    res = folder / f"{text}.toml"
    if not res.is_file():
        names = _names(kind)
        raise PresetError(f"unknown {kind} {text!r}; choose one of {', '.join(names)} or give a .toml file")
    return tomllib.loads(res.read_text(encoding="utf-8")), text, f"builtin:{text}"


def _names(kind: str) -> list[str]:
    folder = resources.files("headshot") / _FOLDERS.get(kind, f"{kind}s")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def style_names() -> list[str]:
    """Names of the built-in styles."""
    return _names("style")


def rig_names() -> list[str]:
    """Names of the built-in light rigs."""
    return _names("light")


def _light(f: _Fields, key_light: bool) -> Light:
    modifier = f.get("modifier", str, "softbox")
    if modifier not in MODIFIERS:
        raise PresetError(f"{f.where}.modifier must be one of {', '.join(MODIFIERS)}, got {modifier!r}")
    light = Light(
        azimuth=f.get("azimuth", float, 0.0, lo=-180.0, hi=180.0),
        elevation=f.get("elevation", float, 0.0, lo=-90.0, hi=90.0),
        intensity=1.0 if key_light else f.get("intensity", float, 0.3, lo=0.0, hi=4.0),
        size=f.get("size", float, 0.5, lo=0.0, hi=1.0),
        temperature=f.get("temperature", float, 5600.0, lo=2000.0, hi=12000.0),
        modifier=modifier,
    )
    f.done()
    return light


def load_rig(name_or_path: str | Path) -> Rig:
    """Load a light rig by built-in name (``loop``) or from a TOML file.

    Raises
    ------
    PresetError
        Unknown name, unreadable file, unknown key or a value out of range.
    """
    data, name, source = _read("light", name_or_path)
    top = _Fields(data, source)
    top.get("name", str, name)
    side = top.get("side", str, "left")
    if side not in SIDES:
        raise PresetError(f"{source}: side must be one of {', '.join(SIDES)}, got {side!r}")
    if "key" not in data:
        raise PresetError(f"{source}: a rig needs a [key] light")
    key = _light(_Fields(top.get("key", dict, {}), f"{source}: [key]"), True)
    fill = _light(_Fields(top.get("fill", dict, {}), f"{source}: [fill]"), False) if "fill" in data else None
    rim = _light(_Fields(top.get("rim", dict, {}), f"{source}: [rim]"), False) if "rim" in data else None
    if rim is not None and abs(rim.azimuth) <= 90:
        raise PresetError(f"{source}: [rim].azimuth must be beyond 90 degrees (behind the subject)")
    rig = Rig(
        name=name,
        description=top.get("description", str, ""),
        key=key,
        fill=fill,
        rim=rim,
        ratio=top.get("ratio", float, 1.0, lo=1.0, hi=16.0),
        side=side,
        background_ev=top.get("background_ev", float, 0.0, lo=-3.0, hi=3.0),
        sheen=top.get("sheen", float, 0.03, lo=0.0, hi=0.3),
        catchlights=top.get("catchlights", bool, True),
        source=source,
    )
    if rig.ratio > 1.0 and fill is None:
        raise PresetError(f"{source}: a ratio above 1 needs a [fill] light to meter")
    top.done()
    return rig


def platform_names() -> list[str]:
    """Names of the built-in platforms."""
    return _names("platform")


class _Fields:
    """Typed access to a TOML table that refuses unknown keys and names the file and key in errors."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, dict):
            raise PresetError(f"{where} must be a table")
        self.data = data
        self.where = where
        self.used: set[str] = set()

    def get(self, key: str, kind: type, default: Any, *, lo: float | None = None, hi: float | None = None) -> Any:
        self.used.add(key)
        if key not in self.data:
            return default
        v = self.data[key]
        if kind is float and isinstance(v, int) and not isinstance(v, bool):
            v = float(v)
        if not isinstance(v, kind) or (kind is not bool and isinstance(v, bool)):
            raise PresetError(f"{self.where}.{key} must be {kind.__name__}, got {v!r}")
        if lo is not None and v < lo or hi is not None and v > hi:
            raise PresetError(f"{self.where}.{key} = {v!r} is outside [{lo}, {hi}]")
        return v

    def done(self) -> None:
        extra = sorted(set(self.data) - self.used)
        if extra:
            raise PresetError(f"{self.where}: unknown key(s) {', '.join(extra)}")


# Keys of [backdrop] each kind reads. ``solid`` also accepts the gradient's keys (and ignores them), as it
# always has, so that switching a file from gradient to solid needs no other edit.
_PAPER_KEYS = frozenset({"kind", "colour", "edge_colour", "falloff", "center", "spread", "grain"})
_BACKDROP_KEYS = {
    "solid": _PAPER_KEYS,
    "gradient": _PAPER_KEYS,
    "canvas": _PAPER_KEYS | {"mottle_colour", "mottle", "scale", "seed"},
    "bokeh": frozenset({"kind", "colour", "seed", "lights", "blur", "grain"}),
    "image": frozenset({"kind", "path", "blur", "match", "darken_ev", "exposure_ev", "grain"}),
}
# Default colour of each kind when the file names none.
_KIND_COLOUR = {"solid": "light-grey", "gradient": "light-grey", "canvas": "#66717d", "bokeh": "#9a958d"}


def _style_folder(source: str) -> Path:
    """The folder a style's relative paths are resolved against (the built-ins' own folder for those)."""
    if source.startswith("builtin:"):
        return Path(str(resources.files("headshot") / "styles"))
    return Path(source).resolve().parent


def _backdrop(b: _Fields, source: str) -> Backdrop:
    """Parse a style's ``[backdrop]`` table (keys as documented in ``docs/backdrops.md``)."""
    where = b.where
    kind = b.get("kind", str, "gradient")
    if kind not in BACKDROP_KINDS:
        raise PresetError(f"{where}.kind must be one of {', '.join(BACKDROP_KINDS)}, got {kind!r}")
    allowed = _BACKDROP_KEYS[kind]
    every = frozenset().union(*_BACKDROP_KEYS.values())
    for k in sorted(set(b.data) & (every - allowed)):
        users = [n for n in BACKDROP_KINDS if k in _BACKDROP_KEYS[n] and n != "solid"]
        raise PresetError(f"{where}.{k} is not used by kind {kind!r} (only by {', '.join(users)}); remove it")
    center = b.get("center", list, [0.5, 0.35])
    if len(center) != 2 or not all(
        isinstance(c, (int, float)) and not isinstance(c, bool) and 0 <= c <= 1 for c in center
    ):
        raise PresetError(f"{where}.center must be two numbers in [0, 1], got {center!r}")
    colour = (0.78, 0.79, 0.80)
    if kind != "image":
        colour = parse_colour(b.get("colour", str, _KIND_COLOUR[kind]), where=f"{where}.colour")
    edge = b.get("edge_colour", str, None)
    mottle_colour = b.get("mottle_colour", str, None)
    path = b.get("path", str, None)
    if kind == "image":
        path = _image_path(path, source, where)
    backdrop = Backdrop(
        kind=kind,
        colour=colour,
        edge_colour=parse_colour(edge, where=f"{where}.edge_colour") if edge is not None else None,
        falloff=b.get("falloff", float, 0.35, lo=0.0, hi=1.0),
        center=(float(center[0]), float(center[1])),
        spread=b.get("spread", float, 0.55, lo=0.05, hi=3.0),
        grain=b.get("grain", float, 0.006, lo=0.0, hi=0.05),
        mottle_colour=(
            parse_colour(mottle_colour, where=f"{where}.mottle_colour") if mottle_colour is not None else None
        ),
        mottle=b.get("mottle", float, 0.5, lo=0.0, hi=1.0),
        scale=b.get("scale", float, 0.35, lo=0.05, hi=2.0),
        seed=b.get("seed", int, DEFAULT_SEED, lo=0, hi=2**31 - 1),
        lights=b.get("lights", int, 18, lo=0, hi=200),
        blur=b.get("blur", float, None, lo=0.0 if kind == "image" else 0.005, hi=0.2),
        path=path,
        match=b.get("match", float, 0.7, lo=0.0, hi=1.0),
        darken_ev=b.get("darken_ev", float, 1.0, lo=-1.0, hi=4.0),
        exposure_ev=b.get("exposure_ev", float, 0.0, lo=-4.0, hi=4.0),
    )
    b.done()
    return backdrop


def _image_path(value: str | None, source: str, where: str) -> str:
    """Resolve and check an ``image`` backdrop's ``path``; the decoded image is cached for rendering."""
    if value is None or not value.strip():
        raise PresetError(f"{where}.path is required for kind 'image': name the environment photo "
                          "(JPEG, PNG, WebP or HEIC), relative to the style file's folder or absolute")
    p = Path(value.strip()).expanduser()
    if not p.is_absolute():
        p = _style_folder(source) / p
    p = p.resolve()
    if not p.is_file():
        raise PresetError(f"{where}.path: the environment image {p} does not exist; check the name "
                          f"(a relative path is read from the style file's folder, {_style_folder(source)})")
    from .backdrop import load_environment  # (backdrop imports this module)

    try:
        load_environment(str(p))
    except PresetError as e:
        raise PresetError(f"{where}.path: {e}") from None
    return str(p)


def retouch_names() -> list[str]:
    """Names of the built-in retouching levels."""
    return _names("retouch")


def retouch_description(name: str) -> str:
    """The one-line description of a built-in retouching level."""
    data, _, _ = _read("retouch", name)
    return str(data.get("description", ""))


def _retouch_fields(f: _Fields, base: Retouch, name: str) -> Retouch:
    vals: dict[str, Any] = {k: f.get(k, float, getattr(base, k), lo=0.0, hi=1.0) for k in RETOUCH_STRENGTHS}
    vals["marks"] = f.get("marks", bool, base.marks)
    return Retouch(name=name, **vals)


def load_retouch(name_or_path: str | Path | Retouch) -> Retouch:
    """Load a retouching level by built-in name (``natural``, ``none``, ``strong``, ``maximum``) or
    from a TOML file of strengths (any not given keep the ``natural`` value).

    Raises
    ------
    PresetError
        Unknown name, unreadable file, unknown key or a value out of range.
    """
    if isinstance(name_or_path, Retouch):
        return name_or_path
    data, name, source = _read("retouch", name_or_path)
    f = _Fields(data, source)
    f.get("name", str, name)
    f.get("description", str, "")
    r = _retouch_fields(f, Retouch(), name)
    f.done()
    return r


def _style_retouch(f: _Fields, source: str) -> Retouch:
    level = f.get("level", str, "natural")
    try:
        base = load_retouch(level)
    except PresetError as e:
        raise PresetError(f"{source}: [retouch].level: {e}") from None
    overridden = any(k in f.data for k in (*RETOUCH_STRENGTHS, "marks"))
    r = _retouch_fields(f, base, f"{base.name}+" if overridden else base.name)
    f.done()
    return r


def load_style(name_or_path: str | Path) -> Style:
    """Load a style by built-in name (``corporate``) or from a TOML file.

    Raises
    ------
    PresetError
        Unknown name, unreadable file, unknown key or a value out of range.
    """
    data, name, source = _read("style", name_or_path)
    top = _Fields(data, source)
    top.get("name", str, name)
    description = top.get("description", str, "")
    backdrop = _backdrop(_Fields(top.get("backdrop", dict, {}), f"{source}: [backdrop]"), source)
    t = _Fields(top.get("tone", dict, {}), f"{source}: [tone]")
    tone = Tone(
        exposure_ev=t.get("exposure_ev", float, 0.0, lo=-2.0, hi=2.0),
        auto_exposure=t.get("auto_exposure", bool, True),
        white_balance=t.get("white_balance", float, 1.0, lo=0.0, hi=1.0),
        contrast=t.get("contrast", float, 0.0, lo=-0.5, hi=0.5),
    )
    t.done()
    lt = _Fields(top.get("light", dict, {}), f"{source}: [light]")
    rig_name = lt.get("rig", str, "none")
    strength = lt.get("strength", float, 1.0, lo=0.0, hi=1.0)
    lt.done()
    rig = None
    if rig_name != "none":
        try:
            rig = load_rig(rig_name)
        except PresetError as e:
            raise PresetError(f"{source}: [light].rig: {e}") from None
    fi = _Fields(top.get("finish", dict, {}), f"{source}: [finish]")
    try:
        finish = Finish(
            light_wrap=fi.get("light_wrap", float, 0.0, lo=0.0, hi=1.0),
            wrap_width=fi.get("wrap_width", float, 0.02, lo=0.001, hi=0.25),
            shadow=fi.get("shadow", float, 0.0, lo=0.0, hi=1.0),
            shadow_softness=fi.get("shadow_softness", float, 0.04, lo=0.001, hi=0.5),
        )
    except ValueError as e:
        raise PresetError(f"{source}: [finish]: {e}") from None
    fi.done()
    retouch = _style_retouch(_Fields(top.get("retouch", dict, {}), f"{source}: [retouch]"), source)
    tm = _Fields(top.get("team", dict, {}), f"{source}: [team]")
    team = TeamLook(
        face_lightness=tm.get("face_lightness", float, 62.0, lo=30.0, hi=85.0),
        keep_lightness=tm.get("keep_lightness", float, 0.0, lo=0.0, hi=1.0),
        max_exposure_ev=tm.get("max_exposure_ev", float, 2.5, lo=0.25, hi=3.0),
    )
    tm.done()
    top.done()
    return Style(name=name, description=description, backdrop=backdrop, tone=tone, source=source, rig=rig, finish=finish,
                 strength=strength, retouch=retouch, team=team)


def load_platform(name_or_path: str | Path) -> Platform:
    """Load a platform by built-in name (``linkedin``) or from a TOML file.

    Raises
    ------
    PresetError
        Unknown name, unreadable file, unknown key or a value out of range.
    """
    data, name, source = _read("platform", name_or_path)
    f = _Fields(data, source)
    f.get("name", str, name)
    plain = f.get("plain_backdrop", str, None)
    head_height = f.get("head_height", float, 0.45, lo=0.1, hi=0.95)
    p = Platform(
        name=name,
        description=f.get("description", str, ""),
        width=f.get("width", int, 1200, lo=64, hi=12000),
        height=f.get("height", int, 1200, lo=64, hi=12000),
        eye_line=f.get("eye_line", float, 0.38, lo=0.15, hi=0.7),
        head_height=head_height,
        dpi=f.get("dpi", int, None, lo=72, hi=2400),
        circle=f.get("circle", bool, False),
        min_side=f.get("min_side", int, 400, lo=64, hi=12000),
        fixed_size=f.get("fixed_size", bool, False),
        plain_backdrop=parse_colour(plain, where=f"{source}: plain_backdrop") if plain is not None else None,
        max_zoom=f.get("max_zoom", float, 1.3, lo=1.0, hi=2.0),
        min_head_height=f.get("min_head_height", float, head_height, lo=0.1, hi=head_height),
        hair_margin=f.get("hair_margin", float, 0.02, lo=0.0, hi=0.3),
        source=source,
        retouch=f.get("retouch", str, None),
    )
    if p.retouch is not None:
        try:
            load_retouch(p.retouch)
        except PresetError as e:
            raise PresetError(f"{source}: retouch: {e}") from None
    f.done()
    return p
