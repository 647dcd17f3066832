"""Class names: what makes a list of them usable, and --label-names read from the command line or the API.

Torch-free, so the command line checks --label-names before anything heavy is imported. Which names a
report uses (--label-names, the dataset's, the models' own) is decided in `checks.resolve_class_names`.
"""

from __future__ import annotations

from collections.abc import Sequence

from reportgen.errors import OptionError

GIVEN = "--label-names"
"""Where class names come from when they are given (--label-names, `label_names=`): they override the models'."""
DATASET = "the dataset"
"""Where class names come from when the dataset's label feature names its classes (a ClassLabel)."""


GIVEN_ADVICE = "give each class a name of its own, in index order, e.g. {label_names} negative,positive"


def check_label_names(names: Sequence[object], source: str, advice: str = GIVEN_ADVICE) -> list[str]:
    """`names` as a list of class names in index order, or a one-line error naming `source` ("--label-names",
    "the base model's id2label") when one is not text, is empty, or repeats another, case aside ("Pos", "pos"): a
    repeated name would make `--target NAME` (which takes a name case aside) or a label written as a name mean
    either class, and an empty one reads as nothing in every sentence."""
    names = list(names)
    shown = ",".join(str(name) for name in names)
    source = "{label_names}" if source == GIVEN else source  # named as the caller gave it: OptionError below
    if not names:
        raise OptionError(f"{source} names no class; {advice}", "label_names")
    for position, name in enumerate(names):
        if not isinstance(name, str):
            raise OptionError(f"{source}: class {position} is named {name!r}, not a text; {advice}", "label_names")
        if not name.strip():
            raise OptionError(f"{source}: class {position} has an empty name (in '{shown}'); {advice}", "label_names")
    folded = [name.casefold() for name in names]
    repeated = next((name for position, name in enumerate(folded) if name in folded[:position]), None)
    if repeated is not None:
        same = [i for i, name in enumerate(folded) if name == repeated]
        where, spelt = " and ".join(str(i) for i in same), [names[i] for i in same]
        what = f"the same name '{spelt[0]}'" if len(set(spelt)) == 1 else \
            "names that differ only in case (" + ", ".join(f"'{name}'" for name in spelt) + ")"
        raise OptionError(f"{source} gives classes {where} {what} (in '{shown}'), so '{spelt[-1]}' could mean "
                          f"either; {advice}", "label_names")
    return names


def parse_label_names(value: str | Sequence[str] | None) -> list[str] | None:
    """--label-names as given on the command line ("negative,positive") or to `reportgen.explain` (that string,
    or a list): the class names in index order, each stripped of surrounding spaces; None when not given.

    Raises ReportgenError (one line, before any model loads) for an empty, repeated or non-text name."""
    if value is None:
        return None
    names = [name.strip() for name in value.split(",")] if isinstance(value, str) else \
        [name.strip() if isinstance(name, str) else name for name in value]
    return check_label_names(names, GIVEN)
