"""Task functions with injected faults for the team-run tests (tests/test_team.py).

They must be module-level functions importable by name: the local engine starts its workers with
``spawn`` and looks the task function up by its qualified name; Ray pickles it (by value, when the
test registers this module with ``ray.cloudpickle.register_pickle_by_value``). Each one wraps the
real :func:`headshot.team.task.run_person`, so the people they do not sabotage are rendered exactly
as in a normal run.

Who is sabotaged is decided by the person's name, so one run can mix healthy and faulty people:

- ``crash-once ...``: the worker process SIGKILLs itself on the person's first attempt only;
- ``crash-always ...``: it SIGKILLs itself on every attempt;
- ``bug ...``: the task raises a plain exception (a programming error, not a bad photo).

When the environment variable ``HEADSHOT_TEST_TASK_LOG`` names a file, every execution appends one
line to it (``person<TAB>attempt<TAB>pid``) before anything else, so a test can count how many times
a task really ran, retries by an engine behind the ledger's back included. Worker processes inherit
the variable (local workers when they are spawned, Ray's when Ray is started).
"""

from __future__ import annotations

import os
import signal

from headshot.team.task import PersonOutcome, PersonTask, run_person

BUG_MESSAGE = "synthetic bug in the task function"
LOG_ENV = "HEADSHOT_TEST_TASK_LOG"


def _log(task: PersonTask) -> None:
    """Record this execution (one short O_APPEND write, on disk before the process can die)."""
    path = os.environ.get(LOG_ENV)
    if path:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{task.person}\t{task.attempt}\t{os.getpid()}\n".encode())
        finally:
            os.close(fd)


def executions(path: str | os.PathLike[str]) -> dict[str, list[int]]:
    """The attempts each person's task really ran with, in order, read from the log."""
    out: dict[str, list[int]] = {}
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                person, attempt, _ = line.rstrip("\n").split("\t")
                out.setdefault(person, []).append(int(attempt))
    except FileNotFoundError:
        pass
    return out


def _die() -> None:
    """End this process at once, as the kernel's OOM killer would (no clean-up, no exception)."""
    os.kill(os.getpid(), signal.SIGKILL)


def faulty(task: PersonTask) -> PersonOutcome:
    """run_person, with the faults the person's name asks for (see the module's docstring)."""
    _log(task)
    name = task.person.casefold()
    if name.startswith("crash-always") or (name.startswith("crash-once") and task.attempt == 1):
        _die()
    if name.startswith("bug"):
        raise ValueError(f"{BUG_MESSAGE} ({task.person}, attempt {task.attempt})")
    return run_person(task)


def crash_bob_once(task: PersonTask) -> PersonOutcome:
    """run_person, but the worker dies on Bob's first attempt (for the Ray engine's test, whose team
    keeps the same names as the local run it is compared with)."""
    _log(task)
    if task.person == "Bob" and task.attempt == 1:
        _die()
    return run_person(task)
