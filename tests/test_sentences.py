"""Titles inside a sentence (`rendering.sentences.mid_sentence`): a plain title starts lower-case, a name with
capitals inside its first word keeps them, wherever the page or the notes name a method or a model mid-sentence."""

from __future__ import annotations

import pytest

from reportgen.methods import REGISTRY
from reportgen.rendering.pieces import time_line
from reportgen.rendering.sentences import mid_sentence


@pytest.mark.parametrize(("title", "expected"), [
    ("Fine-tuned", "fine-tuned"),
    ("Base", "base"),
    ("Integrated gradients", "integrated gradients"),
    ("Gradient-weighted attention", "gradient-weighted attention"),
    ("KernelSHAP", "KernelSHAP"),
    ("LIME (linear surrogate)", "LIME (linear surrogate)"),
    ("BERT", "BERT"),
    ("X", "X"),
    ("", ""),
])
def test_a_title_inside_a_sentence(title, expected):
    assert mid_sentence(title) == expected


def test_the_time_line_keeps_each_method_name_as_written():
    line = time_line({"kernel-shap": 1.0, "lime": 2.0, "integrated-gradients": 3.0})
    assert REGISTRY["kernel-shap"].title in line
    assert "kernelSHAP" not in line
    assert "integrated gradients" in line
