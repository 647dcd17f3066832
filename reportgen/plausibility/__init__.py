"""Plausibility: do a method's top tokens sit where people marked the reason for a text's label?

Human rationales (character spans or evidence strings, `spans.rationale_spans`) become masks on the tokens
and words the model saw (`masks.marks`), and each method's scores for the true label are measured against
them as ERASER does (`measures`: AUPRC with its random reference, top-k F1; `score.plausibility`). Numbers
only: nothing here renders.
"""

from reportgen.plausibility.masks import Marks, cut_share, marks
from reportgen.plausibility.measures import auprc, evidence, top_k_f1
from reportgen.plausibility.score import plausibility
from reportgen.plausibility.spans import FORMS, Span, rationale_spans

__all__ = ["FORMS", "Marks", "Span", "auprc", "cut_share", "evidence", "marks", "plausibility", "rationale_spans",
           "top_k_f1"]
