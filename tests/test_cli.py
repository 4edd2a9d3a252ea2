"""The CLI: commands, exit statuses, one-line reasons, progress."""

from __future__ import annotations

import io
import subprocess
import sys
import warnings
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


def test_no_native_log_noise(tmp_path: Path) -> None:
    """A fresh process's first headshot prints the result and the advice, not MediaPipe's native
    start-up notices (TFLite's delegate line, absl's W0000 warnings), which go straight to fd 2."""
    r = subprocess.run([sys.executable, "-m", "headshot.cli", "make", str(ASTRONAUT), "--style", "grey",
                        "--out", str(tmp_path)], capture_output=True, text=True)
    assert r.returncode == EXIT_OK, r.stderr
    assert "✓ astronaut.jpg" in r.stdout
    noise = [l for l in (r.stdout + r.stderr).splitlines()
             if l.startswith(("W0000", "I0000", "E0000", "INFO: Created TensorFlow", "WARNING: All log messages"))]
    assert noise == []


def test_native_logs_on_request(tmp_path: Path) -> None:
    """HEADSHOT_NATIVE_LOGS=1 keeps MediaPipe's notices, for debugging MediaPipe itself (which also
    shows that the test above checks something that is there)."""
    import os

    r = subprocess.run([sys.executable, "-m", "headshot.cli", "check", str(ASTRONAUT)], capture_output=True,
                       text=True, env={**os.environ, "HEADSHOT_NATIVE_LOGS": "1"})
    assert r.returncode == EXIT_OK, r.stderr
    assert "TensorFlow Lite" in r.stderr or "W0000" in r.stderr


def test_make_over_the_bad_input_corpus(tmp_path: Path) -> None:
    """Every file of the generated corpus: a headshot or a one-line typed reason; never a traceback."""
    from tests import badinput

    corpus = badinput.make_corpus(tmp_path / "corpus")
    code, out, err = run("make", *(str(p) for p, _ in corpus), "--style", "grey", "--out", str(tmp_path / "o"))
    assert code == EXIT_FAILED
    assert "Traceback" not in out + err
    ok_lines = {l.split(":")[0][2:] for l in out.splitlines() if l.startswith("✓ ")}
    bad_lines = {l.split(":")[0][2:]: l for l in err.splitlines() if l.startswith("✗ ")}
    names = [p.name for p, _ in corpus]
    assert len(set(names)) == len(names)
    for path, expected in corpus:
        if expected == "ok":
            # Decodable: a headshot, or (the small synthetic patterns of the orientation and 16-bit
            # cases, a bilevel picture) a clear no-face reason.
            assert path.name in ok_lines or "no face" in bad_lines.get(path.name, ""), path.name
        else:
            assert path.name in bad_lines and path.name not in ok_lines, path.name
    # Every full-size astronaut variant, whatever its encoding, becomes a headshot.
    from PIL import Image

    # (Not bilevel.png: one bit per pixel leaves no face. Not lossless_alpha.webp: its left half is
    # transparent and libwebp drops the colour under transparent pixels, so half the face is gone.)
    def size(p: Path) -> tuple[int, int]:
        with warnings.catch_warnings():  # broken_exif.jpg makes Pillow warn; the loader keeps quiet
            warnings.simplefilter("ignore")
            with Image.open(p) as im:
                return im.size

    portraits = {p.name for p, e in corpus if e == "ok" and size(p) == (256, 256)}
    portraits -= {"bilevel.png", "lossless_alpha.webp"}
    assert len(portraits) >= 15 and portraits <= ok_lines, sorted(portraits - ok_lines)


# ------------------------------------------------------------------------------------ light rigs


def test_lights_lists_the_rigs() -> None:
    from headshot.presets import load_rig, rig_names

    code, out, _ = run("lights")
    assert code == EXIT_OK
    lines = out.splitlines()
    assert [l.split()[0] for l in lines] == rig_names()
    assert {"loop", "rembrandt", "split", "butterfly"} <= set(rig_names())
    for line, name in zip(lines, rig_names()):
        assert load_rig(name).description in line


def test_make_with_lights(tmp_path: Path) -> None:
    import json

    code, out, err = run("make", str(ASTRONAUT), "--out", str(tmp_path), "--style", "grey", "--light", "loop,split",
                         "--light", "none", "--format", "png", "--size", "200", "-q")
    assert code == EXIT_OK, err
    files = sorted(f.name for f in (tmp_path / "astronaut").glob("*.png"))
    assert files == ["astronaut_grey_loop_linkedin.png", "astronaut_grey_none_linkedin.png",
                     "astronaut_grey_split_linkedin.png"]
    report = json.loads((tmp_path / "astronaut" / "report.json").read_text())
    entries = {e["file"]: e for e in report["outputs"]}
    loop = entries["astronaut_grey_loop_linkedin.png"]
    assert loop["light"] == "loop" and loop["lighting"]["rig"] == "loop"
    assert any(d.startswith("relit with the 'loop' light rig (key ") for d in loop["done"])
    none = entries["astronaut_grey_none_linkedin.png"]
    assert none["light"] == "none" and none["lighting"] is None
    assert not any("relit" in d for d in none["done"])


def test_make_with_all_lights_and_several_platforms(tmp_path: Path) -> None:
    from headshot.presets import rig_names

    code, _, err = run("make", str(ASTRONAUT), "--out", str(tmp_path), "--style", "grey", "--light", "all",
                       "--platform", "linkedin", "--platform", "website", "--size", "120", "-q")
    assert code == EXIT_OK, err
    files = {f.name for f in (tmp_path / "astronaut").glob("*.jpg")}
    assert files == {f"astronaut_grey_{r}_{p}.jpg" for r in rig_names() for p in ("linkedin", "website")}


def test_make_with_an_unknown_light(tmp_path: Path) -> None:
    code, out, err = run("make", str(ASTRONAUT), "--out", str(tmp_path / "o"), "--light", "loop,nonexistent")
    assert code == EXIT_USAGE
    assert "unknown light 'nonexistent'" in err
    for choice in ("loop", "split", "all", "none"):
        assert choice in err
    assert "Traceback" not in out + err
    assert not (tmp_path / "o").exists()  # checked before any photo was processed
    code, _, err = run("make", str(ASTRONAUT), "--out", str(tmp_path / "o"), "--light", ",")
    assert code == EXIT_USAGE and "--light needs a light rig" in err


def test_make_with_a_bad_light_file(tmp_path: Path) -> None:
    f = tmp_path / "mine.toml"
    f.write_text('[key]\nazimuth = 500\n')
    code, _, err = run("make", str(ASTRONAUT), "--out", str(tmp_path / "o"), "--light", str(f))
    assert code == EXIT_USAGE and str(f) in err and "azimuth" in err


def test_sheet(tmp_path: Path) -> None:
    target = tmp_path / "sheet.png"
    code, out, err = run("sheet", str(ASTRONAUT), "--lights", "loop,split", "--size", "120", "-o", str(target))
    assert code == EXIT_OK, err
    assert out.strip() == str(target)
    with Image.open(target) as im:
        assert im.format == "PNG" and im.size == (3 * 120, 120)  # the photo's own light, loop, split
    code, out, err = run("sheet", str(ASTRONAUT), "--lights", "all", "--size", "64", "--columns", "4",
                         "-o", str(target))
    assert code == EXIT_OK, err
    with Image.open(target) as im:
        assert im.size == (4 * 64, 3 * 64)  # 10 tiles: 4 + 4 + 2


def test_sheet_errors(tmp_path: Path) -> None:
    target = tmp_path / "sheet.png"
    code, _, err = run("sheet", str(ASTRONAUT), "--lights", "nonexistent", "-o", str(target))
    assert code == EXIT_USAGE and "unknown light 'nonexistent'" in err and "loop" in err
    code, _, err = run("sheet", str(tmp_path / "missing.jpg"), "-o", str(target))
    assert code == EXIT_FAILED and err.startswith("✗ missing.jpg: ")
    blank = tmp_path / "blank.png"
    Image.new("RGB", (300, 300), (128, 128, 128)).save(blank)
    code, _, err = run("sheet", str(blank), "-o", str(target))
    assert code == EXIT_FAILED and "✗ blank.png: " in err and "face" in err
    code, _, err = run("sheet", str(ASTRONAUT), "-o", str(tmp_path / "sheet.jpg"))
    assert code == EXIT_USAGE and ".png" in err
    code, _, err = run("sheet", str(ASTRONAUT), "-o", str(tmp_path / "no" / "such" / "sheet.png"), "--size", "64")
    assert code == EXIT_USAGE and "does not exist" in err
    assert not target.exists()


def test_retouch_levels_and_option(tmp_path: Path) -> None:
    import json

    code, out, _ = run("retouch-levels")
    assert code == EXIT_OK and "natural" in out and "maximum" in out and "none" in out
    code, _, err = run("make", str(ASTRONAUT), "--retouch", "glamour", "--out", str(tmp_path))
    assert code == EXIT_USAGE and "unknown retouch 'glamour'" in err
    code, _, err = run("make", str(ASTRONAUT), "--retouch", "none", "--style", "grey", "--size", "400",
                       "--out", str(tmp_path))
    assert code == EXIT_OK, err
    report = json.loads((tmp_path / "astronaut" / "report.json").read_text(encoding="utf-8"))
    entry = report["outputs"][0]
    assert entry["retouch"]["settings"]["level"] == "none"
    assert set(entry["correction"]) == {"gains", "exposure", "contrast", "pivot"}
    assert "log_r_g" in report["colour_cast"]
