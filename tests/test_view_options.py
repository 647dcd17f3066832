"""rendering/view_options: how a report looks, declared and checked once."""

from __future__ import annotations

import pytest

from reportgen.choices import GRANULARITIES, SCALES
from reportgen.errors import OptionError
from reportgen.option_spec import declared
from reportgen.rendering.view_options import ViewOptions


def test_the_choices_shown_are_the_choices_checked():
    assert {d.keyword: d.spec.choices for d in declared(ViewOptions)} == {"scale": SCALES,
                                                                          "granularity": GRANULARITIES}
    for scale in SCALES:
        for granularity in GRANULARITIES:
            ViewOptions(scale, granularity).check()


@pytest.mark.parametrize("changes, keyword, flag", [
    ({"scale": "huge"}, "scale=: unknown scale 'huge'", "--scale: unknown scale 'huge'"),
    ({"granularity": "line"}, "granularity=: unknown granularity 'line'", "--granularity: unknown granularity"),
])
def test_a_mistake_names_the_option_as_the_caller_gave_it(changes, keyword, flag):
    with pytest.raises(OptionError) as caught:
        ViewOptions(**changes).check()
    assert str(caught.value).startswith(keyword) and caught.value.for_cli().startswith(flag)
