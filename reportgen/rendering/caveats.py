"""What the difference view says beside numbers that would otherwise mislead: which class it explains,
a model whose attributions are all zero (its shares are zeros, so the difference is the other model's
shares), a difference that explains another class than its columns (a file from an older reportgen).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from reportgen.rendering.pieces import role_title

COMMON = "one common class for both models (the true label when known, else the fine-tuned model's prediction)"
DIFFERENCE_CLASS = {
    "common": f"The difference view explains {COMMON}.",
    "label": "The difference view explains the true label, the class both columns explain.",
    "predicted": ("The difference view explains the class both columns explain where the models predict one "
                  f"class, else {COMMON}."),
}
"""By --target: the class the difference view explains."""


def difference_class(target: str, multi_label: bool = False) -> str:
    """The sentence that says which class the difference view explains, for the report's --target (a
    class given by name or index: that class, the one every column explains). A multi-label report has
    one sample per label, and its difference explains that sample's label, as its columns do."""
    if multi_label:
        return "The difference view explains one common class for both models (the label its sample explains)."
    return DIFFERENCE_CLASS.get(target, "The difference view explains the class chosen as target, the one both "
                                        "columns explain.")


def zero_attributions(scores: Mapping[str, Sequence[float]], explained: str) -> list[str]:
    """A note when a model's scores toward the difference's class (`explained`) are all zero on this text.

    scores: role ("base", "finetuned") → the text's raw scores. Shares of all-zero scores are zeros
    (`comparison.normalise`), so fine-tuned − base is then the other model's shares (negated when the
    fine-tuned model's are zero): a page must say so, or they read as a change."""
    zero = [role for role in ("base", "finetuned") if role in scores and not any(scores[role])]
    if len(zero) == 2:
        return [f"Both models' attributions toward {explained} are all zero on this text: neither has shares, so "
                "there is nothing to compare and no word moved."]
    if not zero:
        return []
    other = "finetuned" if zero[0] == "base" else "base"
    what = "the fine-tuned model's shares" if other == "finetuned" else "the base model's shares, negated"
    return [f"The {role_title(zero[0]).lower()} model's attributions toward {explained} are all zero on this text "
            f"(Σ|score| = 0), so it has no shares: this difference is only {what}, not a change between "
            f"{role_title(other).lower()} and {role_title(zero[0]).lower()} shares."]


def other_class(difference_target: int, column_targets: set[int], class_names: Sequence[str]) -> list[str]:
    """A note when every column explains one class and the difference another (files written before the
    difference followed the columns' class); [] otherwise."""
    if len(column_targets) != 1 or difference_target in column_targets:
        return []
    columns = class_names[next(iter(column_targets))]
    return [f"This difference explains {class_names[difference_target]}, while both columns explain {columns} "
            "(a file written by an older reportgen): its colours speak of another class than theirs."]
