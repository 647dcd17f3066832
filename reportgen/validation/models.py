"""The two models a report or a corpus file describes: one of each role, each with at least one class."""

from __future__ import annotations

from typing import Any

from reportgen.choices import ROLES
from reportgen.validation.place import Place


def check_models(place: Place, models: list[dict[str, Any]], document: str) -> None:
    """`meta.models` (already typed): exactly one model per role in `ROLES`, each with `num_classes` ≥ 1.

    document: what the file is ("a report", "a corpus"), for the message."""
    roles = [model["role"] for model in models]
    if sorted(roles) != sorted(ROLES):
        raise place.fail("meta.models", f"has the roles {', '.join(map(repr, roles)) or 'none'}; {document} has one "
                                        f"model of each role: {', '.join(ROLES)}")
    for position, model in enumerate(models):
        place.integer(model["num_classes"], f"meta.models[{position}].num_classes", least=1)
