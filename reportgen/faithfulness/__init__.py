"""Faithfulness: do the tokens an attribution ranks highest really drive the prediction?

`eraser`: the ERASER metrics against random orders (needs torch); `agreement`: do two methods rank
alike (numpy only, used when rendering). The eraser names load on first use, so rendering a
report never imports torch.
"""

from __future__ import annotations

from reportgen.results import Faithfulness

_ERASER = ("CURVE_FRACTIONS", "KS", "FaithfulnessSettings", "RandomReference", "forward_rows", "measure_faithfulness",
           "random_reference")
__all__ = ["Faithfulness", *_ERASER]


def __getattr__(name: str):
    if name in _ERASER:
        from reportgen.faithfulness import eraser

        return getattr(eraser, name)
    raise AttributeError(f"module 'reportgen.faithfulness' has no attribute {name!r}")
