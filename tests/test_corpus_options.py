"""corpus/options: what a corpus's attributions are, --method declared once and checked once."""

from __future__ import annotations

import pytest

from reportgen.attribution.options import MethodOptions
from reportgen.choices import CORPUS_METHOD
from reportgen.corpus.options import CorpusOptions
from reportgen.errors import OptionError
from reportgen.methods import METHODS
from reportgen.option_spec import declared


def test_method_is_declared_with_every_method_named_in_its_help():
    method = declared(CorpusOptions)[0]
    assert (method.keyword, method.default) == ("method", CORPUS_METHOD)
    assert all(name in method.spec.help for name in METHODS)
    assert [d.keyword for d in declared(CorpusOptions)][1:] == list(MethodOptions.keywords())


@pytest.mark.parametrize("method, keyword, flag", [
    ("anchors", "method=: unknown method 'anchors'", "--method: unknown method 'anchors'"),
    ("gradient,occlusion", "method=: a corpus uses one method", "--method: a corpus uses one method"),
])
def test_a_wrong_method_names_the_option_as_the_caller_gave_it(method, keyword, flag):
    with pytest.raises(OptionError) as caught:
        CorpusOptions(method=method).check()
    assert str(caught.value).startswith(keyword) and caught.value.for_cli().startswith(flag)
