"""The closing table of plausibility (each method's mean AUPRC and token F1 per model over the samples with a
human rationale) and the note that says what the numbers are."""

from __future__ import annotations

import math
from dataclasses import dataclass

from reportgen.methods import method_title
from reportgen.rendering.pieces import role_title
from reportgen.rendering.plausible import value
from reportgen.results import Report

NOTE = (
    "Plausibility: how well each method's ranking matches the words people marked as the reason for the true label "
    "(human rationales; ERASER, DeYoung et al. 2020), scored on evidence for the true label (a signed method's "
    "positive scores, an unsigned method's magnitudes) on the tokens the models saw, [CLS]/[SEP] left out. AUPRC: "
    "the area under the precision-recall curve of the scores against the marked tokens (1: every marked token "
    "ranked first); random: what a random ranking expects, the marked share of the tokens. Token F1: the overlap "
    "of the k top-ranked tokens with the k marked ones. Both read on one scale for both models. Plausibility is "
    "not faithfulness: a method can follow the model faithfully to words no person would mark.")


@dataclass
class PlausibilityRow:
    method: str
    model: str  # the role's title, "Fine-tuned"
    samples: str  # how many samples the means are over
    auprc: str
    auprc_random: str
    token_f1: str
    word_auprc: str
    word_f1: str


def plausibility_rows(report: Report) -> list[PlausibilityRow]:
    """Per method and model, the means over the samples that have plausibility; [] where none has."""
    rows = []
    for method in report.meta.methods:
        for info in report.meta.models:
            found = [p for s in report.samples if (m := s.models.get(info.role)) is not None
                     and (r := m.methods.get(method)) is not None and (p := r.plausibility) is not None]
            if not found:
                continue

            def mean(field: str, found=found) -> str:
                return value(math.fsum(getattr(p, field) for p in found) / len(found))

            rows.append(PlausibilityRow(method_title(method), role_title(info.role), str(len(found)), mean("auprc"),
                                        mean("auprc_random"), mean("token_f1"), mean("word_auprc"),
                                        mean("word_f1")))
    return rows
