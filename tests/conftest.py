"""Shared fixtures and helpers.

Tiers (see ../shared/DESIGN.md): contract tests run everywhere; numeric goldens use small synthetic
images; end-to-end tests use the astronaut (always) and ../shared/faces (skipped when absent).
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest

# Content credentials sign with the local keys, created on first use in $HEADSHOT_KEYS: the suite
# (and every process it starts: CLI runs, team workers, web workers) uses a folder of its own and
# never touches the user's ~/.config/headshot/keys.
if not os.environ.get("HEADSHOT_TEST_KEEP_KEYS"):
    import tempfile

    os.environ["HEADSHOT_KEYS"] = os.path.join(tempfile.mkdtemp(prefix="headshot-test-keys-"), "keys")

ROOT = Path(__file__).resolve().parents[1]
SHARED_FACES = ROOT.parent / "shared" / "faces"
ARTIFACTS = ROOT / "test-artifacts"
ASTRONAUT = ROOT / "examples" / "astronaut.jpg"


def dev_photos() -> list[Path]:
    """The single-person dev photos of ../shared/faces (empty when absent)."""
    manifest = SHARED_FACES / "manifest.csv"
    if not manifest.is_file():
        return []
    with manifest.open(newline="") as f:
        rows = list(csv.DictReader(f))
    return [SHARED_FACES / r["file"] for r in rows if r["identity"] != "group" and (SHARED_FACES / r["file"]).is_file()]


needs_shared = pytest.mark.skipif(not dev_photos(), reason="../shared/faces is absent")


def write_artifact(name: str, image: np.ndarray) -> Path:
    """Write a linear float image (or uint8 sRGB) to test-artifacts/ for a person to look at."""
    from headshot.imageio import save

    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    if image.dtype == np.uint8:
        from PIL import Image

        Image.fromarray(image).save(path)
    else:
        save(np.clip(image, 0, 1).astype(np.float32), path)
    return path


def assert_image_similar(actual: np.ndarray, expected: np.ndarray, epsilon: float, name: str) -> None:
    """Mean absolute difference (linear units) at most `epsilon`; on failure both images are written."""
    assert actual.shape == expected.shape, f"{name}: shape {actual.shape} != {expected.shape}"
    diff = float(np.mean(np.abs(actual.astype(np.float64) - expected.astype(np.float64))))
    if diff > epsilon:
        a = write_artifact(f"{name}-actual", actual)
        write_artifact(f"{name}-expected", expected)
        pytest.fail(f"{name}: mean abs difference {diff:.4f} > {epsilon}; images written beside {a}")


@pytest.fixture(scope="session")
def astronaut_path() -> Path:
    return ASTRONAUT


@pytest.fixture(scope="session")
def astronaut_subject():
    import headshot

    return headshot.analyse(ASTRONAUT)


@pytest.fixture(scope="session", autouse=True)
def _quiet_tf() -> None:
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
