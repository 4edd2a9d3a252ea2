"""Evaluation measures: independent checks of what the pipeline produces.

Nothing here is imported by the runtime code; the measures need the ``eval`` extra
(``pip install -e .[eval]``), and import their models lazily, on first use.
"""

from __future__ import annotations

from .identity import NoFaceForIdentity, distance, embedding, identity_distance

__all__ = ["embedding", "distance", "identity_distance", "NoFaceForIdentity"]
