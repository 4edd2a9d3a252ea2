"""Team runs (``headshot team``): one style for a whole company, provably consistent, resumable.

- :mod:`.roster`: who is in the team (a folder or a CSV).
- :mod:`.task`: one person's work, a pure function run by a worker (choose the best photo,
  analyse, render with the team's look, measure the written headshot).
- :mod:`.ledger`: the SQLite ledger in the output folder, the source of truth for resuming.
- :mod:`.engines`: where tasks run (a local process pool, or Ray).
- :mod:`.run`: the coordinator; :mod:`.report`: the contact sheet, CSV and JSON;
  :mod:`.consistency`: the team's figures.
"""

from .consistency import Targets, TeamStats, team_stats
from .roster import Person, Roster, load_roster
from .run import TeamProgress, TeamResult, run_team
from .task import PersonOutcome, PersonTask, measure, run_person

__all__ = [
    "run_team",
    "TeamResult",
    "TeamProgress",
    "load_roster",
    "Roster",
    "Person",
    "PersonTask",
    "PersonOutcome",
    "run_person",
    "measure",
    "team_stats",
    "TeamStats",
    "Targets",
]
