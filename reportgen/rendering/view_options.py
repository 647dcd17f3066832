"""How a report looks (`ViewOptions`): options declared once (`option_spec.option`), from which the CLI's
--scale and --granularity on `report` and `render` and `reportgen.explain`'s keywords are made; checked here
only. Torch-free and light, so the command line builds its options from it before anything heavy loads."""

from __future__ import annotations

from dataclasses import dataclass

from reportgen.choices import DEFAULT_SCALE, GRANULARITIES, SCALES
from reportgen.errors import OptionError
from reportgen.option_spec import option


@dataclass
class ViewOptions:
    """How a report looks; changing these never needs the models (`reportgen render`)."""

    scale: str = option(
        DEFAULT_SCALE, choices=SCALES,
        help="share: each model's signed share of its own total |attribution| (%), one colour scale for both "
             "columns; shared: raw scores on one scale for both; per-column: raw scores, one scale per column.")
    granularity: str = option(
        "word", choices=GRANULARITIES,
        help="Shade whole words (wordpieces merged, scores summed; hover shows the pieces) or every wordpiece.")

    def check(self) -> None:
        """An unknown scale or granularity: OptionError naming the option."""
        if self.scale not in SCALES:
            raise OptionError(f"{{scale}}: unknown scale '{self.scale}'; choose one of {', '.join(SCALES)}", "scale")
        if self.granularity not in GRANULARITIES:
            raise OptionError(f"{{granularity}}: unknown granularity '{self.granularity}'; choose one of "
                              f"{', '.join(GRANULARITIES)}", "granularity")
