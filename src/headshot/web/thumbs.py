"""Style thumbnails for the page's picker: each style rendered on the bundled sample portrait.

Rendered once per version of the styles by the first worker (in the worker process: the server's
event loop never does image work) and kept in the data dir's cache.
"""

from __future__ import annotations

import hashlib
import io
import os
from functools import lru_cache
from importlib import resources
from pathlib import Path

from .. import __version__
from ..presets import style_names

__all__ = ["thumbs_dir", "render_thumbnails", "THUMB_SIZE"]

THUMB_SIZE = 240


@lru_cache(maxsize=1)
def _key() -> str:
    """Changes whenever the package version or a built-in style file changes."""
    h = hashlib.sha256(__version__.encode())
    folder = resources.files("headshot") / "styles"
    for name in sorted(p.name for p in folder.iterdir() if p.name.endswith(".toml")):
        h.update(name.encode())
        h.update((folder / name).read_bytes())
    h.update(str(THUMB_SIZE).encode())
    return h.hexdigest()[:16]


def thumbs_dir(cache_dir: Path) -> Path:
    """Where the current styles' thumbnails are (``<style>.webp``)."""
    return Path(cache_dir) / "thumbs" / _key()


def render_thumbnails(cache_dir: Path) -> Path:
    """Render the missing thumbnails (the sample is scikit-image's public-domain astronaut portrait)."""
    out = thumbs_dir(cache_dir)
    names = style_names()
    if all((out / f"{n}.webp").exists() for n in names):
        return out
    out.mkdir(parents=True, exist_ok=True)
    from PIL import Image
    from skimage import data

    from ..imageio import encode
    from ..pipeline import analyse, render

    buf = io.BytesIO()
    Image.fromarray(data.astronaut()).save(buf, format="PNG")
    subject = analyse(buf.getvalue())
    for n in names:
        path = out / f"{n}.webp"
        if path.exists():
            continue
        hs = render(subject, n, "square-avatar", size=THUMB_SIZE)
        tmp = out / f".{n}.{os.getpid()}.tmp"
        tmp.write_bytes(encode(hs.image, format="webp", quality=82))
        os.replace(tmp, path)
    return out
