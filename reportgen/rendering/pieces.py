"""View pieces that the report and the corpus page share, so both say and show them the same way."""

from __future__ import annotations

ROLE_TITLES = {"base": "Base", "finetuned": "Fine-tuned"}


def role_title(role: str) -> str:
    return ROLE_TITLES.get(role, role)
