"""What a scan found: outcome counts, and which rows are worth a report."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

from reportgen.choices import ROLES, role_word
from reportgen.errors import OptionError, ReportgenError
from reportgen.scan.layout import ScanRow

SELECTIONS: dict[str, str] = {
    "base-wrong": "base model wrong, fine-tuned model right",
    "finetuned-wrong": "fine-tuned model wrong, base model right",
    "disagree": "the two models predict different classes",
    "all": "every row",
}
ORDERS = ("confidence", "gap")
NEEDS_LABELS = ("base-wrong", "finetuned-wrong")
DEFAULT_TOP = 10

_FILTERS: dict[str, Callable[[ScanRow], bool]] = {
    "base-wrong": lambda r: r.wrong("base") is True and r.wrong("finetuned") is False,
    "finetuned-wrong": lambda r: r.wrong("finetuned") is True and r.wrong("base") is False,
    "disagree": lambda r: r.disagree,
    "all": lambda r: True,
}


@dataclass
class Outcomes:
    """The 2×2 table of right/wrong over labelled rows, plus disagreements over all rows."""

    rows: int
    labelled: int
    both_right: int
    both_wrong: int
    base_wrong_finetuned_right: int
    base_right_finetuned_wrong: int
    disagree: int

    def accuracy(self, role: str) -> float | None:
        if not self.labelled:
            return None
        right = self.both_right + (self.base_right_finetuned_wrong if role == "base"
                                   else self.base_wrong_finetuned_right)
        return right / self.labelled

    def cells(self) -> list[list[str]]:
        """The 2×2 table as text, "count (share)": rows base right/wrong, columns fine-tuned right/wrong."""
        n = self.labelled
        return [[count_share(self.both_right, n), count_share(self.base_right_finetuned_wrong, n)],
                [count_share(self.base_wrong_finetuned_right, n), count_share(self.both_wrong, n)]]

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "accuracy": {role: self.accuracy(role) for role in ("base", "finetuned")}}


def count_outcomes(rows: list[ScanRow]) -> Outcomes:
    labelled = [r for r in rows if r.label is not None]

    def count(base_wrong: bool, finetuned_wrong: bool) -> int:
        return sum(1 for r in labelled if r.wrong("base") == base_wrong and r.wrong("finetuned") == finetuned_wrong)

    return Outcomes(rows=len(rows), labelled=len(labelled), both_right=count(False, False),
                    both_wrong=count(True, True), base_wrong_finetuned_right=count(True, False),
                    base_right_finetuned_wrong=count(False, True), disagree=sum(1 for r in rows if r.disagree))


def count_share(count: int, total: int) -> str:
    return f"{count} ({100 * count / total:.1f}%)" if total else str(count)


def format_outcomes(outcomes: Outcomes, done: str = "scanned") -> str:
    """A few lines for the terminal: accuracies, the 2×2 table, disagreements."""
    lines = [f"Rows {done}: {outcomes.rows}; with a label: {outcomes.labelled}"]
    if outcomes.labelled:
        for role in ROLES:
            title = role_word(role)
            accuracy = outcomes.accuracy(role)
            right = round(accuracy * outcomes.labelled)
            lines.append(f"Accuracy, {title:<10} {accuracy:.4f} ({right}/{outcomes.labelled})")
        cells = outcomes.cells()
        width = max(16, *(len(c) for row in cells for c in row))
        lines += ["", f"{'':<12}{'fine-tuned right':>{width}}  {'fine-tuned wrong':>{width}}",
                  f"{'base right':<12}{cells[0][0]:>{width}}  {cells[0][1]:>{width}}",
                  f"{'base wrong':<12}{cells[1][0]:>{width}}  {cells[1][1]:>{width}}", ""]
    else:
        lines.append("No labels, so no accuracy and no right/wrong table; --select disagree still works.")
    lines.append(f"The models disagree on {count_share(outcomes.disagree, outcomes.rows)} rows.")
    return "\n".join(lines)


def _wrong_confidence(row: ScanRow) -> float:
    """How sure the model(s) known to be wrong were; -1 when no model is known to be wrong."""
    probs = [getattr(row, f"{role}_prob") for role in ("base", "finetuned") if row.wrong(role)]
    return max(probs, default=-1.0)


def check_selection(select: str, top: int | None, order: str) -> None:
    if select not in SELECTIONS:
        raise OptionError(f"{{select}} '{select}': choose one of {', '.join(SELECTIONS)}", "select")
    if order not in ORDERS:
        raise OptionError(f"{{order}} '{order}': choose one of {', '.join(ORDERS)}", "order")
    if top is not None and top < 1:
        raise OptionError(f"{{top}} must be at least 1 (got {top})", "top")


def labels_needed(select: str, source: str) -> ReportgenError:
    return OptionError(f"{{select}} {select} needs labels, but {source} has none (no label column was found: "
                       "name it with {label_column}); use {select} disagree or all", "select", "label_column")


def select_rows(rows: list[ScanRow], select: str, top: int | None = DEFAULT_TOP,
                order: str = "confidence", source: str = "the scan") -> list[ScanRow]:
    """The `top` rows of a selection, most telling first.

    confidence: the wrong model's probability for its wrong class, highest first (rows where no
    model is known to be wrong come after, by gap); gap: how far apart the two models' probability
    vectors are. Ties go to the lower row index, so the choice is reproducible.
    """
    check_selection(select, top, order)
    if select in NEEDS_LABELS and not any(r.label is not None for r in rows):
        raise labels_needed(select, source)
    chosen = [r for r in rows if _FILTERS[select](r)]
    if order == "confidence":
        chosen.sort(key=lambda r: (-_wrong_confidence(r), -r.gap, r.index))
    else:
        chosen.sort(key=lambda r: (-r.gap, -_wrong_confidence(r), r.index))
    return chosen if top is None else chosen[:top]


def format_indices(rows: list[ScanRow]) -> str:
    """The form `reportgen report --indices` accepts."""
    return ",".join(str(r.index) for r in rows)


def format_selection(rows: list[ScanRow], class_names: list[str]) -> str:
    """A small table of the chosen rows for the terminal."""
    def verdict(pred: int, prob: float) -> str:
        name = class_names[pred] if pred < len(class_names) else str(pred)
        return f"{name} ({prob:.3f})"

    lines = [f"{'row':>8}  {'label':<12}{'base (p)':<22}{'fine-tuned (p)':<22}{'gap':>6}"]
    for r in rows:
        label = "—" if r.label is None else (class_names[r.label] if r.label < len(class_names) else str(r.label))
        lines.append(f"{r.index:>8}  {label:<12}{verdict(r.base_pred, r.base_prob):<22}"
                     f"{verdict(r.finetuned_pred, r.finetuned_prob):<22}{r.gap:>6.3f}")
    return "\n".join(lines)
