"""How alike a team's headshots are: the spread of each measure, and who stands out.

The measures come from each written headshot (:func:`headshot.team.task.measure`); this module
only does the arithmetic on them, so the report and the benchmark agree by construction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Targets", "TeamStats", "team_stats", "outliers", "delta_e2000"]


@dataclass(frozen=True)
class Targets:
    """The team figures a run must reach (issue 8): population standard deviations across people,
    and the largest backdrop colour difference between any person and the team's median."""

    eye_line_std: float = 0.005  # of the frame's height
    face_height_std: float = 0.02  # relative: std / mean
    skin_lightness_std: float = 2.0  # CIE L*
    backdrop_delta_e: float = 1.0  # CIEDE2000


@dataclass(frozen=True)
class TeamStats:
    """The team's spread.

    Attributes
    ----------
    people : int
        How many headshots were measured.
    eye_line_std, face_height_std, skin_lightness_std : float or None
        ``face_height_std`` is relative (std / mean). None with fewer than two measured people.
    backdrop_delta_e_max : float or None
        Largest CIEDE2000 between a person's backdrop and the team's median backdrop colour.
    medians : dict
        The team's median of each measure (backdrop: L*a*b*).
    """

    people: int
    eye_line_std: float | None
    face_height_std: float | None
    skin_lightness_std: float | None
    backdrop_delta_e_max: float | None
    medians: dict[str, object]

    def checks(self, targets: Targets = Targets()) -> dict[str, dict[str, object]]:
        """Each figure with its target and whether it is met (None: not measured)."""
        rows = {
            "eye_line_std": (self.eye_line_std, targets.eye_line_std),
            "face_height_std": (self.face_height_std, targets.face_height_std),
            "skin_lightness_std": (self.skin_lightness_std, targets.skin_lightness_std),
            "backdrop_delta_e_max": (self.backdrop_delta_e_max, targets.backdrop_delta_e),
        }
        return {k: {"value": None if v is None else round(v, 5), "target": t,
                    "met": None if v is None else bool(v <= t)} for k, (v, t) in rows.items()}


def delta_e2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 between L*a*b* colours (scikit-image's implementation)."""
    from skimage.color import deltaE_ciede2000

    return np.asarray(deltaE_ciede2000(np.asarray(lab1, dtype=np.float64), np.asarray(lab2, dtype=np.float64)))


def _values(measures: list[dict[str, object]], key: str) -> np.ndarray:
    return np.array([float(m[key]) for m in measures if m.get(key) is not None])  # type: ignore[arg-type]


def team_stats(measures: list[dict[str, object]]) -> TeamStats:
    """The spread of a team's measures (one dict per person, as :func:`measure` returns)."""
    eye = _values(measures, "eye_line")
    face = _values(measures, "face_height")
    skin = _values(measures, "skin_lightness")
    labs = np.array([m["backdrop_lab"] for m in measures if m.get("backdrop_lab") is not None], dtype=np.float64)
    medians: dict[str, object] = {}
    if len(eye):
        medians["eye_line"] = round(float(np.median(eye)), 5)
    if len(face):
        medians["face_height"] = round(float(np.median(face)), 5)
    if len(skin):
        medians["skin_lightness"] = round(float(np.median(skin)), 3)
    de_max = None
    if len(labs):
        med = np.median(labs, axis=0)
        medians["backdrop_lab"] = [round(float(v), 3) for v in med]
        if len(labs) >= 2:
            de_max = float(delta_e2000(labs, np.broadcast_to(med, labs.shape)).max())
    return TeamStats(
        people=len(measures),
        eye_line_std=float(np.std(eye)) if len(eye) >= 2 else None,
        face_height_std=float(np.std(face) / np.mean(face)) if len(face) >= 2 else None,
        skin_lightness_std=float(np.std(skin)) if len(skin) >= 2 else None,
        backdrop_delta_e_max=de_max,
        medians=medians,
    )


def outliers(m: dict[str, object], stats: TeamStats, targets: Targets = Targets()) -> list[str]:
    """Why one person's headshot does not match the rest (for the retake list); [] when it does.

    A person stands out when a measure is further from the team's median than twice the team's
    target spread (so a team that meets its figures has very few, and each is worth a look).
    """
    out: list[str] = []
    med = stats.medians
    if not m.get("face_found"):
        out.append("the face could not be found again in the headshot; check it by eye")
        return out
    if "eye_line" in med and m.get("eye_line") is not None:
        d = float(m["eye_line"]) - float(med["eye_line"])  # type: ignore[arg-type]
        if abs(d) > 2 * targets.eye_line_std:
            out.append(f"the eyes sit {abs(d) * 100:.1f}% of the height {'lower' if d > 0 else 'higher'} than the "
                       "team's (a tilted or turned head); a photo looking straight into the lens fixes it")
    if "face_height" in med and m.get("face_height") is not None:
        r = float(m["face_height"]) / float(med["face_height"]) - 1  # type: ignore[arg-type]
        if abs(r) > 2 * targets.face_height_std:
            out.append(f"the face is {abs(r) * 100:.0f}% {'larger' if r > 0 else 'smaller'} than the team's "
                       "(chin raised or lowered, or the head turned); look straight into the lens")
    if "backdrop_lab" in med and m.get("backdrop_lab") is not None:
        de = float(delta_e2000(np.array(m["backdrop_lab"]), np.array(med["backdrop_lab"])))
        if de > targets.backdrop_delta_e:
            out.append(f"the backdrop differs from the team's by ΔE {de:.1f} (hair or shoulders fill the corners)")
    return out
