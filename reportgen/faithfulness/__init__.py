"""Faithfulness: do the tokens an attribution ranks highest really drive the prediction?

`eraser`: the ERASER metrics against random orders; `agreement`: do two methods rank alike.
"""

from __future__ import annotations

from reportgen.faithfulness.eraser import (CURVE_FRACTIONS, KS, FaithfulnessSettings, RandomReference, forward_rows,
                                           measure_faithfulness, random_reference)
from reportgen.results import Faithfulness

__all__ = ["CURVE_FRACTIONS", "KS", "Faithfulness", "FaithfulnessSettings", "RandomReference", "forward_rows",
           "measure_faithfulness", "random_reference"]
