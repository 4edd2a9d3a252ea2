"""The CLI: commands, exit statuses, one-line reasons, progress."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from PIL import Image

from headshot.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from tests.conftest import ASTRONAUT


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_styles_and_platforms() -> None:
    code, out, _ = run("styles")
    assert code == EXIT_OK and "corporate" in out and "charcoal" in out
    code, out, _ = run("platforms")
    assert code == EXIT_OK and "passport" in out and "827x1063" in out


def test_make_ok(tmp_path: Path) -> None:
    code, out, err = run("make", str(ASTRONAUT), "--out", str(tmp_path), "--style", "navy",
                         "--platform", "linkedin", "--platform", "speaker", "--format", "png", "--size", "400")
    assert code == EXIT_OK, err
    files = sorted((tmp_path / "astronaut").glob("*.png"))
    assert [f.name for f in files] == ["astronaut_navy_linkedin.png", "astronaut_navy_speaker.png"]
    with Image.open(files[1]) as im:
        assert max(im.size) == 400 and im.format == "PNG"
    assert "✓ astronaut.jpg: 2 headshot(s)" in out
    assert "px wide" in out  # the capture advice is shown


def test_make_partial_failure(tmp_path: Path) -> None:
    missing = tmp_path / "missing.jpg"
    code, out, err = run("make", str(missing), str(ASTRONAUT), "--out", str(tmp_path / "o"), "--style", "grey")
    assert code == EXIT_FAILED
    lines = [l for l in err.splitlines() if l.startswith("✗")]
    assert len(lines) == 1 and lines[0].startswith("✗ missing.jpg: ")
    assert (tmp_path / "o" / "astronaut" / "astronaut_grey_linkedin.jpg").is_file()
    assert "1 of 2 photo(s) failed" in err


def test_usage_errors(tmp_path: Path) -> None:
    code, _, err = run("make", str(ASTRONAUT), "--style", "nope", "--out", str(tmp_path))
    assert code == EXIT_USAGE and "unknown style 'nope'" in err
    code, _, err = run("make", str(ASTRONAUT), "--size", "3", "--out", str(tmp_path))
    assert code == EXIT_USAGE and "size" in err
    code, _, _ = run("make")
    assert code == EXIT_USAGE
    code, _, _ = run("frobnicate")
    assert code == EXIT_USAGE


def test_check(tmp_path: Path) -> None:
    code, out, _ = run("check", str(ASTRONAUT))
    assert code == EXIT_OK and "astronaut.jpg: retake advised" in out and "move closer" in out
    bad = tmp_path / "x.jpg"
    bad.write_bytes(b"")
    code, _, err = run("check", str(bad))
    assert code == EXIT_FAILED and "✗ x.jpg: " in err and "empty" in err


def test_console_script_version() -> None:
    r = subprocess.run([sys.executable, "-m", "headshot.cli", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("headshot ")
