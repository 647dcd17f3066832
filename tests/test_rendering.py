"""The HTML report, parsed back with the standard library: one shaded element per token with the JSON's
score, escaped text, nothing loaded from anywhere, small files, readable shades, exact legends."""

from __future__ import annotations

import json
import math
import random
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest

from reportgen.choices import DEFAULT_METHODS, ESTIMATOR, ESTIMATORS, FIXED_STEPS_DELTA
from reportgen.comparison import difference
from reportgen.errors import ReportgenError
from reportgen.faithfulness import CURVE_FRACTIONS, KS
from reportgen.methods import is_signed, method_title
from reportgen.rendering.html import render_html
from reportgen.rendering.reading import describe
from reportgen.results import (
    SCHEMA_VERSION,
    Curve,
    Difference,
    Faithfulness,
    FaithfulnessMeta,
    MethodResult,
    ModelAttribution,
    ModelInfo,
    Report,
    ReportMeta,
    SampleResult,
    Score,
    Word,
    stored,
    words_from_wordpieces,
)

ROLES = ("base", "finetuned")
VOID = {"meta", "link", "br", "img", "input", "hr", "wbr", "source", "col", "area", "base", "embed", "track"}


# ---- a tiny DOM from html.parser ------------------------------------------------------------------

@dataclass
class Node:
    tag: str
    attrs: dict[str, str | None]
    children: list[Node | str] = field(default_factory=list)

    @property
    def classes(self) -> list[str]:
        return (self.attrs.get("class") or "").split()

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def find_all(self, tag: str | None = None, cls: str | None = None, **attrs: str | bool) -> list[Node]:
        """Descendants by tag, class and attributes (True: present, False: absent, str: equal)."""
        found = []
        for child in self.children:
            if isinstance(child, str):
                continue
            ok = (tag is None or child.tag == tag) and (cls is None or cls in child.classes)
            for name, want in attrs.items():
                name = name.replace("_", "-")
                ok = ok and ((name in child.attrs) == want if isinstance(want, bool) else child.attrs.get(name) == want)
            if ok:
                found.append(child)
            found.extend(child.find_all(tag, cls, **attrs))
        return found


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs))
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>: malformed HTML"
        self.stack.pop()

    def handle_data(self, data):
        self.stack[-1].children.append(data)


def parse_html(html: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    assert builder.stack == [builder.root], "unclosed elements"
    return builder.root


def token_spans(document: Node) -> dict[tuple[str, str], list[Node]]:
    """(sample anchor, column label) → the token elements in that column, in order.

    Column labels are "Base model, Integrated gradients", "Difference, fine-tuned minus base, …"."""
    out = {}
    for section in document.find_all("section", "sample"):
        for article in section.find_all("article", "column"):
            out[(section.attrs["id"], article.attrs["aria-label"])] = article.find_all("span", "t", data_score=True)
    return out


TITLES = {"base": "Base model", "finetuned": "Fine-tuned model"}


def expected_units(sample: dict, scores: list[float], granularity: str) -> tuple[list[str], list[float]]:
    """What a column must show: every wordpiece with its score, or every word with the sum of its pieces'."""
    if granularity == "wordpiece":
        return [t[2:] if t.startswith("##") and len(t) > 2 else t for t in sample["tokens"]], scores
    return ([w["text"] for w in sample["words"]],
            [math.fsum(scores[w["first_token"]:w["last_token"]]) for w in sample["words"]])


def assert_scores_match(html: str, report_json: dict, granularity: str = "word") -> None:
    """Exactly one `span.t[data-score]` per unit, per model, method and difference column, each holding
    the JSON's score (a word: the sum of its wordpieces' scores)."""
    document = parse_html(html)
    spans = token_spans(document)
    expected_count = 0
    for number, sample in enumerate(report_json["samples"], start=1):
        for method in report_json["meta"]["methods"]:
            title = method_title(method)
            columns = [(TITLES[role], model["methods"][method]["scores"]) for role, model in sample["models"].items()]
            if sample["difference"]:
                columns.append(("Difference, fine-tuned minus base", sample["difference"]["difference"][method]))
            for label, scores in columns:
                column = spans[(f"sample-{number}", f"{label}, {title}")]
                texts, values = expected_units(sample, scores, granularity)
                assert len(scores) == len(sample["tokens"])
                assert [float(s.attrs["data-score"]) for s in column] == values
                assert [s.text() for s in column] == texts
                expected_count += len(column)
    assert len(document.find_all("span", data_score=True)) == expected_count  # none anywhere else


# ---- synthetic reports ----------------------------------------------------------------------------

def model_info(role: str, name: str | None = None) -> ModelInfo:
    return ModelInfo(role=role, name=name or f"{role}.pth", source=f"{role}.pth", format="checkpoint",
                     sha256="0123456789ab", encoder="bert-base-uncased", pooling="mean-all", num_classes=2,
                     pads_to_max_length=True)


def faithfulness(seed: int) -> Faithfulness:
    rng = random.Random(seed)
    by_k = [rng.uniform(0, 0.5) for _ in KS]
    random_by_k = [rng.uniform(0, 0.2) for _ in KS]
    curve = [0.9 - 0.1 * i * rng.random() for i in range(len(CURVE_FRACTIONS))]
    return Faithfulness(
        scores={"comprehensiveness": Score(sum(by_k) / len(KS), sum(random_by_k) / len(KS), by_k, random_by_k),
                "sufficiency": Score(0.1, 0.2, [0.1] * len(KS), [0.2] * len(KS))},
        curves={"deletion": Curve(curve, [0.9] * len(CURVE_FRACTIONS))})


def attribution(scores: dict[str, list[float]], predicted: int = 1, delta: float = 1e-3,
                faithful: bool = False) -> ModelAttribution:
    methods = {}
    for n, (method, values) in enumerate(scores.items()):
        ig = method == "integrated-gradients"
        methods[method] = MethodResult(scores=values, pad_share=0.125, convergence_delta=delta if ig else None,
                                       target_logit_change=1.5 if ig else None,
                                       converged=abs(delta) <= FIXED_STEPS_DELTA * 1.5 if ig else None,
                                       faithfulness=faithfulness(n) if faithful else None)
    return ModelAttribution(probabilities=[0.2, 0.8] if predicted else [0.8, 0.2], predicted=predicted,
                            target=predicted, methods=methods)


def sample(tokens: list[str], text: str | None = None, *, scores: dict[str, list[float]] | None = None,
           label: int | None = 1, index: int | None = 0, truncated: bool = False, seed: int = 0,
           methods: tuple[str, ...] = ("integrated-gradients",), faithful: bool = False) -> SampleResult:
    """`scores` (role → scores) are used for every method; otherwise random scores per method."""
    rng = random.Random(seed)

    def draw(method: str) -> list[float]:
        return stored([rng.uniform(-1, 1) if is_signed(method) else rng.uniform(0, 1) for _ in tokens])

    per_role = {role: {m: (scores[role] if scores else draw(m)) for m in methods} for role in ROLES}
    made = SampleResult(index=index, label=label, text=" ".join(tokens[1:-1]) if text is None else text,
                        tokens=tokens, truncated=truncated,
                        models={role: attribution(per_role[role], predicted=i, faithful=faithful)
                                for i, role in enumerate(ROLES)},
                        words=words_from_wordpieces(tokens), words_exact=False)
    made.difference = Difference(target=1, reason="the true label", normalisation="l1",
                                 scores={m: {r: per_role[r][m] for r in ROLES} for m in methods},
                                 difference={m: stored(difference(per_role["base"][m], per_role["finetuned"][m]))
                                             for m in methods})
    made.sentence = describe(made, ["negative", "positive"], methods[0])
    return made


def report(samples: list[SampleResult], methods: tuple[str, ...] | str = ("integrated-gradients",), *,
           dataset: str | None = "imdb", names: tuple[str, str] = ("base.pth", "finetuned.pth"),
           faithful: bool = False) -> Report:
    methods = (methods,) if isinstance(methods, str) else methods
    ig = "integrated-gradients" in methods
    meta = ReportMeta(methods=list(methods), steps=50 if ig else None, quadrature="gauss-legendre" if ig else None,
                      target="predicted", device="cpu (x86_64)", max_length=512, class_names=["negative", "positive"],
                      dataset=dataset, split="test" if dataset else None, created="2024-01-01 00:00 UTC",
                      versions={"reportgen": "0.1.0", "torch": "2"},
                      models=[model_info(role, name) for role, name in zip(ROLES, names)],
                      faithfulness=FaithfulnessMeta(list(KS), list(CURVE_FRACTIONS), 3, 0) if faithful else None)
    return Report(meta=meta, samples=samples)


WORDPIECES = ["the", "movie", "was", "great", "##ly", "bad", "acting", "!", "plot", "##s", "boring", ",", "a"]


def long_tokens(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["[CLS]"] + [rng.choice(WORDPIECES) for _ in range(count - 2)] + ["[SEP]"]


@pytest.fixture(scope="module")
def mixed_report() -> Report:
    return report([
        sample(["[CLS]", "the", "act", "##ing", "was", "great", "[SEP]"], "The acting was great", seed=1),
        sample(long_tokens(40, 2), index=13011, label=0, truncated=True, seed=2),
        sample(["[CLS]", "[SEP]"], "   ", label=None, index=None, seed=3),
    ])


# ---- tests -----------------------------------------------------------------------------------------

B, F, D = "Base model", "Fine-tuned model", "Difference, fine-tuned minus base"
IG = "Integrated gradients"


@pytest.mark.parametrize("granularity", ["word", "wordpiece"])
@pytest.mark.parametrize("methods", [("integrated-gradients",), ("gradient-x-input",), ("gradient",),
                                     ("integrated-gradients", "attention-rollout", "gradient")])
def test_one_element_per_unit_with_the_json_score(methods, granularity):
    built = report([sample(long_tokens(30, seed), seed=seed, methods=methods, index=seed) for seed in range(3)],
                   methods)
    html = render_html(built, granularity=granularity)
    assert_scores_match(html, json.loads(built.to_json()), granularity)
    document = parse_html(html)
    swatches = document.find_all("span", "sw")
    assert swatches and not any("data-score" in s.attrs for s in swatches)


def test_every_method_is_shown_without_javascript():
    methods = ("integrated-gradients", "gradient-x-input", "attention-rollout")
    document = parse_html(render_html(report([sample(long_tokens(12, 1), methods=methods)], methods)))
    blocks = document.find_all("details", "method")
    assert [b.find_all("h3")[0].text().split(" — ")[0] for b in blocks] == [
        "Integrated gradients", "Gradient × input", "Attention rollout"]
    assert ["open" in b.attrs for b in blocks] == [True, False, False]  # the others open with a click, no script
    for block in blocks:  # every method's columns are in the page, closed or not
        assert len(block.find_all("article", "column")) == 3
    agreement = document.find_all("table", "agree")
    assert [a.find_all("caption")[0].text() for a in agreement] == ["Base", "Fine-tuned"]
    assert len(agreement[0].find_all("tbody")[0].find_all("tr")) == 3


def test_words_merge_wordpieces_and_hover_shows_them(mixed_report):
    spans = token_spans(parse_html(render_html(mixed_report)))
    words = spans[("sample-1", f"{B}, {IG}")]
    assert [s.text() for s in words] == ["[CLS]", "the", "acting", "was", "great", "[SEP]"]
    pieces = mixed_report.samples[0].models["base"].methods["integrated-gradients"].scores
    acting = words[2]
    assert float(acting.attrs["data-score"]) == math.fsum(pieces[2:4])
    assert "act" in acting.attrs["title"] and "##ing" in acting.attrs["title"]
    assert ["special" in s.classes for s in words] == [True, False, False, False, False, True]


def test_wordpieces_mark_special_tokens_and_continuations(mixed_report):
    first = token_spans(parse_html(render_html(mixed_report, granularity="wordpiece")))[("sample-1", f"{B}, {IG}")]
    assert [s.text() for s in first] == ["[CLS]", "the", "act", "ing", "was", "great", "[SEP]"]
    assert ["special" in s.classes for s in first] == [True] + [False] * 5 + [True]
    assert ["cont" in s.classes for s in first] == [False, False, False, True, False, False, False]


def test_hostile_text_is_escaped():
    text = "<script>alert('x')</script> {{ 7*7 }} & \"quotes\" <img src=x onerror=alert(1)>"
    tokens = ["[CLS]", "<", "script", ">", "{", "{", "7", "*", "7", "}", "}", "&", "[SEP]"]
    built = report([sample(tokens, text, faithful=True)], dataset="<b>data</b>",
                   names=("<i>base</i>.pth", "{{ 6*6 }}.pth"), faithful=True)
    html = render_html(built, granularity="wordpiece")
    lowered = html.lower()
    assert "<script" not in lowered and "<img" not in lowered and "<b>" not in lowered and "<i>" not in lowered
    assert "&lt;script&gt;" in html and "&amp;" in html
    assert "{{ 7*7 }}" in html and "{{ 6*6 }}" in html  # shown literally, not evaluated to 49 / 36
    document = parse_html(html)
    originals = [d.find_all("p")[0].text() for d in document.find_all("details", "original")]
    assert originals == [text]  # the exact text comes back from the escaped HTML
    assert [s.text() for s in token_spans(document)[("sample-1", f"{B}, {IG}")]] == tokens
    assert not document.find_all("script") and not document.find_all("img")
    assert "<b>data</b>" in document.text() and "<i>base</i>.pth" in document.text()
    chart_labels = [t.text() for svg in document.find_all("svg") for t in svg.find_all("text")]
    assert "<" in chart_labels and "&" in chart_labels  # word labels in the SVG, escaped and shown as text


def test_nothing_is_loaded_from_anywhere(mixed_report):
    for methods in (("integrated-gradients",), ("gradient", "attention-rollout")):
        built = report([sample(long_tokens(20, 3), methods=methods, faithful=True)], methods, faithful=True)
        html = render_html(built)
        lowered = html.lower()
        for needle in ("http:", "https:", "//", "src=", "@import", "url("):
            assert needle not in lowered.replace('xmlns="http://www.w3.org/2000/svg"', ""), needle
        tags = {node.tag for node in parse_html(html).find_all()}
        assert not tags & {"script", "link", "img", "iframe", "object", "embed", "video", "audio", "source"}


def test_twenty_long_samples_stay_under_six_point_three_megabytes():
    """The README's bound: 20 samples of 512 tokens, each its own word (as in English reviews, where most
    words are one wordpiece), the default methods, faithfulness, charts and the difference view, at the
    default granularity. Real IMDB reviews at 512 tokens came to 5.4 MB (README)."""
    words = [w for w in WORDPIECES if not w.startswith("##")]
    samples = []
    for seed in range(20):
        rng = random.Random(seed)
        tokens = ["[CLS]"] + [rng.choice(words) for _ in range(510)] + ["[SEP]"]
        samples.append(sample(tokens, " ".join(tokens[1:-1]), seed=seed, index=seed, methods=DEFAULT_METHODS,
                              faithful=True))
    html = render_html(report(samples, DEFAULT_METHODS, faithful=True))
    size = len(html.encode("utf-8"))
    assert html.count(" data-score=") == 20 * len(DEFAULT_METHODS) * 3 * 512
    assert size < 6_300_000, f"{size / 1e6:.2f} MB"  # the model columns' hovers carry each word's share too


def legends(section: Node) -> list[tuple[str, str, str]]:
    """(caption, low end, high end) of each legend in a sample section."""
    out = []
    for figure in section.find_all("figure", "legend"):
        ends = [e.text() for e in figure.find_all("span", "end")]
        out.append((figure.find_all("figcaption")[0].text(), ends[0], ends[1]))
    return out


def test_shared_and_per_column_scales():
    """The fine-tuned column's scores are 20× smaller: a shared scale leaves them pale, a per-column
    scale gives its largest score the darkest shade and its own legend."""
    base = [0.0, 1.0, -0.5, 0.25, 0.0]
    small = [0.0, -0.05, 0.02, 0.01, 0.0]
    built = report([sample(["[CLS]", "a", "b", "c", "[SEP]"], scores={"base": base, "finetuned": small})])

    shared = parse_html(render_html(built, scale="shared"))
    section = shared.find_all("section", "sample")[0]
    caption, low, high = legends(section)[0]
    assert caption.startswith("Shared scale") and (low, high) == ("−1 against", "+1 for")
    assert "base explains negative; fine-tuned explains positive" in caption  # --target predicted: two classes
    spans = token_spans(shared)
    assert [s.classes[1] for s in spans[("sample-1", f"{B}, {IG}")]] == ["z", "p8", "n4", "p2", "z"]
    assert {s.classes[1] for s in spans[("sample-1", f"{F}, {IG}")]} == {"z"}

    per_column = parse_html(render_html(built, scale="per-column"))
    section = per_column.find_all("section", "sample")[0]
    assert legends(section)[:2] == [("Base scale", "−1 toward positive", "+1 toward negative"),
                                    ("Fine-tuned scale", "−0.05 toward negative", "+0.05 toward positive")]
    spans = token_spans(per_column)
    assert [s.classes[1] for s in spans[("sample-1", f"{F}, {IG}")]] == ["z", "n8", "p3", "p2", "z"]
    assert "Each column has its own colour scale" in per_column.text()
    assert "shared by both model columns" in shared.text()


def test_difference_view_has_its_own_scale_and_lists_changed_words():
    """Normalised by Σ|score|: base [0, 1, -1, 0] → [0, .5, -.5, 0]; fine-tuned [0, 0, -2, 2] → [0, 0, -.5, .5];
    difference [0, -.5, 0, +.5]: 'c' gained 50 percentage points, 'a' lost 50."""
    built = report([sample(["[CLS]", "a", "b", "c"], "a b c", scores={"base": [0.0, 1.0, -1.0, 0.0],
                                                                      "finetuned": [0.0, 0.0, -2.0, 2.0]})])
    document = parse_html(render_html(built))
    column = [c for c in document.find_all("article", "difference")][0]
    assert [float(s.attrs["data-score"]) for s in column.find_all("span", data_score=True)] == [0.0, -0.5, 0.0, 0.5]
    assert [s.classes[1] for s in column.find_all("span", data_score=True)] == ["z", "dn8", "z", "dp8"]
    (caption, low, high), = legends(column)
    assert caption.startswith("Change of the share")
    assert low == "−50 pp moved toward negative" and high == "+50 pp moved toward positive"
    toward, against = (table.find_all("tbody")[0].find_all("tr")[0].find_all("td")
                       for table in column.find_all("table", "top"))
    assert [c.text().strip() for c in toward] == ["c", "+50.0 pp", "+0.0 % → +50.0 %"]
    assert [c.text().strip() for c in against] == ["a", "−50.0 pp", "+50.0 % → +0.0 %"]
    assert "the true label" in column.text()


def test_a_repeated_word_in_the_difference_lists_says_which_occurrence_it_is():
    """'a' twice: the second moved toward the class, the first against it; the lists say 'a (2)' and
    'a (1)', as the chart labels them, not 'a' and 'a'."""
    built = report([sample(["[CLS]", "a", "b", "a"], "a b a", scores={"base": [0.0, 1.0, -1.0, 0.0],
                                                                      "finetuned": [0.0, 0.0, -2.0, 2.0]})])
    column = [c for c in parse_html(render_html(built)).find_all("article", "difference")][0]
    toward, against = (table.find_all("tbody")[0].find_all("tr")[0].find_all("td")
                       for table in column.find_all("table", "top"))
    assert [c.text().strip() for c in toward][:2] == ["a (2)", "+50.0 pp"]
    assert [c.text().strip() for c in against][:2] == ["a (1)", "−50.0 pp"]


def test_each_sample_has_a_sentence_and_a_bar_chart(mixed_report):
    document = parse_html(render_html(mixed_report))
    sections = document.find_all("section", "sample")
    first = sections[0]
    sentence = first.find_all("p", "sentence")[0]
    assert sentence.text().startswith("Base predicted negative (0.80)")
    assert "fine-tuned predicted positive" in sentence.text()
    assert sentence.find_all("em"), "the lead words are emphasised"
    charts = [svg for svg in first.find_all("svg") if "bar-chart" in svg.classes]
    assert len(charts) == 2 and all(c.attrs.get("role") == "img" for c in charts)  # one per model
    bars = [b for c in charts for b in c.find_all("rect")]
    assert bars and all("for" in b.classes or "against" in b.classes for b in bars)


def test_sample_facts_say_the_true_label_or_that_there_is_none(mixed_report):
    sections = parse_html(render_html(mixed_report)).find_all("section", "sample")
    facts = [section.find_all("p", "facts")[0].text() for section in sections]
    assert facts[0].startswith("True label: positive · base ✗ · fine-tuned ✓"), facts[0]
    assert facts[2].startswith("No true label"), facts[2]
    assert "unknown" not in facts[2]


def test_chart_labels_say_which_occurrence_of_a_repeated_word_a_bar_is():
    """'great' three times: three bars, told apart by their place in the text; 'plot' once, unnumbered;
    ',' twice, numbered by the same rule as the words."""
    built = report([sample(["[CLS]", "great", "plot", "great", "great", ",", ",", "[SEP]"], "great plot great great,,",
                           scores={"base": [0.0, 3.0, -1.0, 2.0, 1.0, 0.0, 0.0, 0.0],
                                   "finetuned": [0.0, 1.0, 2.0, -3.0, 0.5, 0.1, 0.0, 0.0]})])
    charts = [svg for svg in parse_html(render_html(built)).find_all("svg") if "bar-chart" in svg.classes]
    base, finetuned = ([t.text() for bar in chart.find_all("g") for t in bar.find_all("text") if t.classes == ["e"]]
                       for chart in charts)
    assert base == ["great (1)", "great (2)", "great (3)", "plot"]  # strongest for first, then the one against
    assert finetuned == ["plot", "great (1)", "great (3)", ", (1)", "great (2)"]
    assert "great" not in base + finetuned and "," not in finetuned


def test_a_pairs_repeated_punctuation_is_numbered_like_its_repeated_words():
    """A sentence pair with "A" and "." in each text: "A (1)", "A (2)", ". (1)", ". (2)" in the chart and
    in the difference lists alike, never two bars that both read "."."""
    tokens = ["[CLS]", "A", "man", ".", "[SEP]", "A", "dog", ".", "[SEP]"]
    scores = {"base": [0.0, 0.5, 0.1, -0.6, 0.0, 0.4, 0.2, -0.7, 0.0],
              "finetuned": [0.0, -0.3, 0.4, 0.9, 0.0, 0.6, -0.1, -0.8, 0.0]}
    one = sample(tokens, "A man.", scores=scores)
    one.text_pair = "A dog."
    for word in one.words[5:8]:
        word.segment = 1
    document = parse_html(render_html(report([one])))
    charts = [svg for svg in document.find_all("svg") if "bar-chart" in svg.classes]
    labels = {t.text() for chart in charts for bar in chart.find_all("g") for t in bar.find_all("text")
              if t.classes == ["e"]}
    assert {"A (1)", "A (2)", ". (1)", ". (2)"} <= labels and not labels & {"A", "."}, labels
    listed = {td.find_all("span")[0].text() for table in document.find_all("table", "changed")
              for td in table.find_all("td") if td.find_all("span")}
    assert listed and not listed & {"A", "."}, listed


def test_faithfulness_is_shown_per_column_in_the_summary_and_at_the_end():
    methods = ("integrated-gradients", "gradient-x-input")
    built = report([sample(long_tokens(12, s), methods=methods, seed=s, index=s, faithful=True) for s in range(2)],
                   methods, faithful=True)
    document = parse_html(render_html(built))
    header = [th.text() for th in document.find_all("table", "summary")[0].find_all("th")]
    assert "Base: integrated gradients comprehensiveness" in header
    assert "Fine-tuned: integrated gradients comprehensiveness" in header
    metrics = document.find_all("table", "metrics")
    assert len(metrics) == 2 * 2 * 2  # samples × methods × models
    curves = [svg for svg in document.find_all("svg") if "line-chart" in svg.classes]
    assert len(curves) == 8 and all(len(c.find_all("polyline")) == 2 for c in curves)
    closing = document.find_all("section", "closing")[0]
    rows = closing.find_all("tbody")[0].find_all("tr")
    assert len(rows) == 4  # 2 methods × 2 models
    ig = built.samples[0].models["base"].methods["integrated-gradients"].faithfulness
    mean = (ig.scores["comprehensiveness"].value + built.samples[1].models["base"].methods["integrated-gradients"]
            .faithfulness.scores["comprehensiveness"].value) / 2
    assert f"{mean:.3f}" in rows[0].text()
    assert "most faithful method" in closing.text()


def test_no_faithfulness_section_without_metrics(mixed_report):
    document = parse_html(render_html(mixed_report))
    assert not document.find_all("section", "closing") and not document.find_all("table", "metrics")


def test_shade_sign_follows_score_sign(mixed_report):
    for column in token_spans(parse_html(render_html(mixed_report))).values():
        for span in column:
            score, shade = float(span.attrs["data-score"]), span.classes[1]
            assert shade == "z" or (shade.lstrip("d")[0] == "p") == (score > 0), (score, shade)


def test_unsigned_methods_use_one_hue():
    built = report([sample(long_tokens(20, 1), methods=("gradient",))], "gradient")
    document = parse_html(render_html(built))
    model_columns = [c for (anchor, label), c in token_spans(document).items() if not label.startswith("Difference")]
    classes = {s.classes[1] for column in model_columns for s in column}
    assert classes and all(c == "z" or c.startswith("u") for c in classes)
    section = document.find_all("section", "sample")[0]
    caption, low, high = legends(section)[0]
    assert low == "0" and "against" not in low and "for" not in high


def test_empty_text_and_truncation_are_stated(mixed_report):
    document = parse_html(render_html(mixed_report))
    sections = document.find_all("section", "sample")
    warnings = [[w.text() for w in s.find_all("p", "warning")] for s in sections]
    assert warnings[0] == [] and warnings[1] == []
    assert any("empty or whitespace only" in w for w in warnings[2])
    badges = [[b.text() for b in s.find_all("span", "badge")] for s in sections]
    assert badges[0] == [] and badges[2] == [] and "truncated" in badges[1][0]
    summary_rows = document.find_all("table", "summary")[0].find_all("tbody")[0].find_all("tr")
    assert ["truncated" in row.text() for row in summary_rows] == [False, True, False]


def test_a_high_convergence_delta_is_flagged():
    flagged = sample(["[CLS]", "a", "[SEP]"], scores={"base": [0.0, 1.0, 0.0], "finetuned": [0.0, 1.0, 0.0]})
    result = flagged.models["finetuned"].methods["integrated-gradients"]
    result.convergence_delta, result.converged = 0.3, False  # 20 % of the change 1.5, as a run would store it
    document = parse_html(render_html(report([flagged])))
    columns = [c for c in document.find_all("article", "column") if "difference" not in c.classes]
    assert [bool(c.find_all("p", "warning")) for c in columns] == [False, True]
    assert "Raise --steps" in columns[1].text() and "20.0%" in columns[1].text()
    assert "IG not converged" in document.find_all("table", "summary")[0].text()


def test_verdicts_follow_the_label(mixed_report):
    columns = [parse_html(render_html(mixed_report)).find_all("section", "sample")[i].find_all("span", "verdict")
               for i in range(3)]
    # base predicts 0, fine-tuned predicts 1 in every synthetic sample
    assert [v.text() for v in columns[0]] == ["✗", "✓"]  # label 1
    assert [v.text() for v in columns[1]] == ["✓", "✗"]  # label 0
    assert [v.text() for v in columns[2]] == ["", ""]  # no label


def _luminance(hex_colour: str) -> float:
    """WCAG 2.x relative luminance, written out from the specification."""
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


@pytest.mark.parametrize("method", ["integrated-gradients", "gradient"])
def test_every_shade_meets_wcag_contrast(method):
    built = report([sample(long_tokens(60, 4), methods=(method,))], method)
    document = parse_html(render_html(built))
    css = "".join(style.text() for style in document.find_all("style"))
    rules = {name: (background, colour) for name, background, colour in
             re.findall(r"\.t\.(\w+)\{background:(#[0-9a-f]{6});color:(#[0-9a-f]{6})\}", css)}
    used = {s.classes[1] for column in token_spans(document).values() for s in column}
    used |= {s.classes[-1] for s in document.find_all("span", "sw")}
    assert used <= set(rules), f"classes without a colour rule: {used - set(rules)}"
    assert len(rules) == 17 + 8 + 16  # signed, unsigned and difference palettes share the white "z"
    for name, (background, colour) in rules.items():
        light, dark = sorted((_luminance(background), _luminance(colour)), reverse=True)
        assert (light + 0.05) / (dark + 0.05) >= 4.5, (name, background, colour)


def test_json_round_trip(mixed_report):
    methods = ("gradient", "attention-rollout")
    for built in (mixed_report, report([sample(long_tokens(9, 5), methods=methods, faithful=True)], methods,
                                       dataset=None, faithful=True)):
        text = built.to_json()
        assert json.loads(text)["meta"]["schema_version"] == SCHEMA_VERSION
        again = Report.from_json(text)
        assert again == built
        assert render_html(again) == render_html(built)


def as_schema_2(data: dict) -> dict:
    """A schema-3 report's dict as reportgen 0.2 wrote it: eleven flat faithfulness fields per method."""
    data = json.loads(json.dumps(data))
    data["meta"]["schema_version"] = 2
    for sample in data["samples"]:
        for model in sample["models"].values():
            for result in model["methods"].values():
                named = result["faithfulness"]
                if named is None:
                    continue
                flat = {}
                for name, score in named["scores"].items():
                    flat |= {name: score["value"], f"random_{name}": score["random"], f"{name}_by_k": score["by_k"],
                             f"random_{name}_by_k": score["random_by_k"]}
                deletion = named["curves"]["deletion"]
                result["faithfulness"] = {**flat, "curve": deletion["values"], "random_curve": deletion["random"],
                                          "probability": named["probability"]}
    return data


def test_schema_2_files_are_upgraded_to_named_measures():
    methods = ("integrated-gradients", "gradient")
    built = report([sample(long_tokens(9, 5), methods=methods, faithful=True)], methods, dataset=None, faithful=True)
    old = as_schema_2(built.to_dict())
    assert "comprehensiveness_by_k" in old["samples"][0]["models"]["base"]["methods"]["gradient"]["faithfulness"]
    again = Report.from_dict(old)
    assert again == built and again.meta.schema_version == SCHEMA_VERSION
    assert render_html(again) == render_html(built)


V1_REPORT = {
    "meta": {"method": "gradient-x-input", "steps": None, "quadrature": None, "target": "predicted", "device": "cpu",
             "max_length": 16, "class_names": ["neg", "pos"], "dataset": None, "split": None, "created": "then",
             "versions": {"reportgen": "0.1.0"}, "precision": "fp32", "schema_version": 1,
             "models": [{"role": r, "name": f"{r}.pth", "source": f"/home/u/{r}.pth", "format": "checkpoint",
                         "sha256": None, "encoder": "e", "pooling": "mean-all", "num_classes": 2,
                         "pads_to_max_length": True} for r in ROLES]},
    "samples": [{"index": 3, "label": 1, "text": "great acting", "truncated": False,
                 "tokens": ["[CLS]", "great", "act", "##ing", "[SEP]"],
                 "models": {r: {"probabilities": [0.3, 0.7], "predicted": 1, "target": 1,
                                "scores": [0.0, 0.5, 0.25, -0.125, 0.0], "pad_share": 0.0,
                                "convergence_delta": None, "target_logit_change": None} for r in ROLES}}],
}


def test_schema_1_files_are_read_and_rendered():
    old = Report.from_dict(json.loads(json.dumps(V1_REPORT)))
    assert old.meta.methods == ["gradient-x-input"] and old.meta.schema_version == SCHEMA_VERSION
    assert [w.text for w in old.samples[0].words] == ["[CLS]", "great", "acting", "[SEP]"]
    assert old.samples[0].models["base"].methods["gradient-x-input"].scores == [0.0, 0.5, 0.25, -0.125, 0.0]
    document = parse_html(render_html(old))
    words = token_spans(document)[("sample-1", f"{B}, Gradient × input")]
    assert [float(s.attrs["data-score"]) for s in words] == [0.0, 0.5, 0.125, 0.0]
    assert "reconstructed from '##'" in document.text()


def test_unknown_schema_says_which_versions_are_read():
    future = json.loads(json.dumps(V1_REPORT))
    future["meta"]["schema_version"] = 11
    with pytest.raises(ReportgenError, match="schema version 11; this reportgen reads versions 1, 2, 3, 4, 5, 6, 7, 8, "
                                             "9, 10:"):
        Report.from_dict(future)


def test_the_difference_note_fits_the_methods_shown():
    from reportgen.rendering.pieces import shares_and_difference

    signed, unsigned, both = (shares_and_difference(kinds) for kinds in ({True}, {False}, {True, False}))
    assert "toward the class" in signed and "not a change of reliance" in signed and "unsigned" not in signed
    assert "gained share" in unsigned and "toward the class" not in unsigned and "signed share" not in unsigned
    assert "not a change of reliance" in both and "For an unsigned method" in both


def test_the_ig_note_gives_the_score_error_and_the_delta_and_flags_only_what_did_not_converge():
    """A path whose scores cancel: the delta is 20 % of F(x) − F(x′) but the scores are accurate to 0.2 %, so the
    note says the sample converged on its scores, states both numbers in words and draws no warning; the same
    sample not converged is flagged."""
    accurate = sample(["[CLS]", "a", "b", "[SEP]"], scores={"base": [0.0, 30.0, -28.5, 0.0],
                                                            "finetuned": [0.0, 30.0, -28.5, 0.0]})
    for role, converged in (("base", True), ("finetuned", False)):
        result = accurate.models[role].methods["integrated-gradients"]
        result.convergence_delta, result.score_error, result.converged, result.steps = 0.3, 0.002, converged, 257
    built = report([accurate])
    built.meta.steps, built.meta.tolerance, built.meta.max_steps, built.meta.quadrature = "auto", 0.01, 257, None
    document = parse_html(render_html(built))
    columns = [c for c in document.find_all("article", "column") if "difference" not in c.classes]
    text = columns[0].text()
    assert "Converged after 257 path steps on its scores, within the 1 % tolerance: their estimated error is at " \
           "most about 0.2 % (an estimate that errs high" in text
    assert "0.513 % of Σ|score|" in text and "20 % of F(x)" in text
    assert [bool(c.find_all("p", "warning")) for c in columns] == [False, True]
    assert "Not converged after 257 steps" in columns[1].text() and "Converged" not in columns[1].text()
    note = text[text.index("Converged after"):text.index("F(x)−F(x′) =")]
    assert re.search(r"\d%", note) is None, note  # one way to write a percentage in the note: "20 %", not "20%"


PER_TOKEN = ESTIMATORS["per-token"]
GUARDS = [  # (estimator, an error within its guard, one above it, the guard as the note states it)
    ("interval-sum", 0.036, 0.08, "5 % guard (5 × the tolerance; an estimate that errs high: 2–14 × the true error on "
                                  "the models measured)"),
    ("per-token", 0.01 * (PER_TOKEN.guard - 0.4), 0.01 * (PER_TOKEN.guard + 1),
     f"{PER_TOKEN.guard} % guard ({PER_TOKEN.guard} × the tolerance; an estimate that errs high: "
     f"{PER_TOKEN.errs_high})"),
]


def delta_converged(name: str | None, within: float, above: float) -> Report:
    """An auto-steps report whose base column converged on its delta with its score error `within` the guard of the
    estimator `name` (None: the report names none), and whose fine-tuned column did not: its delta is within the
    tolerance but its error `above` the guard."""
    path = sample(["[CLS]", "a", "b", "[SEP]"], scores={role: [0.0, 1.0, 0.5, 0.0] for role in ROLES})
    for role, error, converged in (("base", within, True), ("finetuned", above, False)):
        result = path.models[role].methods["integrated-gradients"]
        result.target_logit_change, result.convergence_delta = 1.5, 0.006  # 0.4 % of F(x) − F(x′)
        result.score_error, result.converged, result.steps = error, converged, 33
    built = report([path])
    built.meta.steps, built.meta.tolerance, built.meta.max_steps, built.meta.quadrature = "auto", 0.01, 33, None
    built.meta.score_error_estimator = name
    return built


@pytest.mark.parametrize(("name", "within", "above", "guard"), GUARDS, ids=[g[0] for g in GUARDS])
def test_the_ig_note_says_which_condition_made_the_sample_converge(name, within, above, guard):
    """A sample that converged on its delta while its scores' estimated error is above the tolerance: the note says
    it converged on the delta and gives the error as the upper-side estimate it is, so the two do not read as a
    contradiction (the guard it passed is named: that of the estimator the report names, 5 tolerances for schemas
    7–9's, with how high that one errs); a delta within tolerance with the error above the guard is flagged, and
    says why."""
    estimator = ESTIMATORS[name]
    document = parse_html(render_html(delta_converged(name, within, above)))
    base, finetuned = [c for c in document.find_all("article", "column") if "difference" not in c.classes]
    assert "Converged after 33 path steps on its completeness delta, within the 1 % tolerance: +0.006 is 0.4 % of " \
           f"F(x)−F(x′) = +1.5 (0.4 % of Σ|score|); the scores' estimated error, at most about {100 * within:.3g} %, " \
           f"is within the {guard}" in base.text()
    assert not base.find_all("p", "warning") and "Converged" not in finetuned.text()
    warning = finetuned.find_all("p", "warning")[0].text()
    assert "the completeness delta is within the 1 % tolerance, but the scores' estimated error, " \
           f"{100 * above:.3g} % of Σ|score|, is above {estimator.guard} × it" in warning
    header = document.text()
    assert "a sample has converged when its scores' estimated error" in header and "at 33 steps" in header
    assert f"and that error within {estimator.guard} % — it is flagged" in header


def test_a_schema_9_report_keeps_the_guard_and_words_of_its_estimator():
    """A schema-9 file's score errors were estimated by the sum of the intervals' estimates and judged by its guard
    of 5 tolerances: read now, it names that estimator, its IG notes keep its guard and how high it errs, and its
    header (page and Markdown) its guard, while the same data written today names today's estimator and its words."""
    from reportgen.rendering.markdown_report import render_markdown

    within = 0.01 * (PER_TOKEN.guard - 0.4)  # within either guard
    new = delta_converged(ESTIMATOR.name, within, 0.08)
    data = json.loads(json.dumps(new.to_dict()))
    assert data["meta"]["schema_version"] == SCHEMA_VERSION == 10
    assert data["meta"]["score_error_estimator"] == ESTIMATOR.name == "per-token"
    data["meta"]["schema_version"] = 9
    del data["meta"]["score_error_estimator"]
    old = Report.from_dict(data)
    assert old.meta.score_error_estimator == "interval-sum" and old.meta.schema_version == SCHEMA_VERSION
    old_html = parse_html(render_html(old)).text()
    assert f"is within the {GUARDS[0][3]}" in old_html and PER_TOKEN.errs_high not in old_html
    for text in (old_html, render_markdown(old)):  # the header's rule (the Markdown has no column notes)
        assert "and that error within 5 % — it is flagged" in text
    new_html = parse_html(render_html(Report.from_dict(new.to_dict()))).text()
    assert f"is within the {GUARDS[1][3]}" in new_html and "2–14" not in new_html
    for text in (new_html, render_markdown(new)):
        assert f"and that error within {PER_TOKEN.guard} % — it is flagged" in text


def test_an_old_report_names_the_estimator_only_where_it_estimated_score_errors():
    """Upgrading to schema 10 names "interval-sum" on a file with auto steps and score errors, nothing on one with
    fixed steps or from before the score error (schema 6: the delta alone)."""
    auto = delta_converged(ESTIMATOR.name, 0.01, 0.08).to_dict()
    auto["meta"]["schema_version"] = 9
    del auto["meta"]["score_error_estimator"]
    fixed = report([sample(["[CLS]", "a", "[SEP]"])]).to_dict()  # 50 Gauss–Legendre steps
    fixed["meta"]["schema_version"] = 9
    del fixed["meta"]["score_error_estimator"]
    before = json.loads(json.dumps(auto))
    before["meta"]["schema_version"] = 6
    for model in before["samples"][0]["models"].values():
        for key in ("converged", "score_error", "surrogate_fit", "plausibility"):
            del model["methods"]["integrated-gradients"][key]
    for key in ("rationale", "rationale_cut"):
        del before["samples"][0][key]
    read = [Report.from_dict(json.loads(json.dumps(d))).meta.score_error_estimator for d in (auto, fixed, before)]
    assert read == ["interval-sum", None, None]


@pytest.mark.parametrize(("edit", "message"), [
    ({"score_error_estimator": "midpoint"}, "meta.score_error_estimator is 'midpoint' (a string); it must be one of "
                                            "'interval-sum', 'per-token'"),
    ({"steps": 50, "score_error_estimator": "per-token"}, "meta.score_error_estimator is 'per-token', but meta.steps "
                                                          "is 50; only --steps auto estimates score errors"),
])
def test_an_unknown_or_misplaced_estimator_is_refused_in_one_line(edit, message):
    data = json.loads(json.dumps(delta_converged(ESTIMATOR.name, 0.01, 0.08).to_dict()))
    data["meta"].update(edit)
    with pytest.raises(ReportgenError, match=re.escape(message)) as refused:
        Report.from_dict(data)
    assert "\n" not in str(refused.value)


def test_lime_states_its_fit_and_warns_when_the_surrogate_fits_badly():
    built = report([sample(["[CLS]", "a", "b", "[SEP]"], methods=("lime",))], "lime")
    built.samples[0].models["base"].methods["lime"].surrogate_fit = 0.83
    built.samples[0].models["finetuned"].methods["lime"].surrogate_fit = 0.31
    document = parse_html(render_html(built))
    columns = [c for c in document.find_all("article", "column") if "difference" not in c.classes]
    assert "Surrogate fit: adjusted R² 0.83" in columns[0].text()
    assert "Surrogate fit: adjusted R² 0.31" in columns[1].text()
    assert [bool(c.find_all("p", "warning")) for c in columns] == [False, True]
    assert "LIME fit poor" in document.find_all("table", "summary")[0].text()


def test_kernel_shap_with_fewer_samples_than_words_plus_two_warns_however_small_its_gap():
    """Under-determined: the two end coalitions' weight keeps the gap near zero whatever the values are, so the page
    says the values are not determined by the samples (not "gap high"); with enough samples the same gap is fine."""
    made = sample(["[CLS]", "good", "film", "[SEP]"], "good film", methods=("kernel-shap",))
    made.words = [Word("[CLS]", None, None, 0, 1), Word("good", 0, 4, 1, 2), Word("film", 5, 9, 2, 3),
                  Word("[SEP]", None, None, 3, 4)]
    for model in made.models.values():
        result = model.methods["kernel-shap"]
        result.target_logit_change, result.convergence_delta = 1.5, 1e-7
    built = report([made], "kernel-shap")
    for samples, warned in ((3, True), (4, False)):
        built.meta.surrogate_samples = samples
        document = parse_html(render_html(built))
        columns = [c for c in document.find_all("article", "column") if "difference" not in c.classes]
        warnings = [c.find_all("p", "warning") for c in columns]
        flags = document.find_all("table", "summary")[0].text()
        assert all(bool(w) == warned for w in warnings), samples
        assert ("KernelSHAP under-sampled" in flags) == warned and "Shapley gap high" not in flags
        if warned:
            text = warnings[0][0].text()
            assert "3 sampled coalitions of its 2 words are fewer than 4 (words + 2)" in text
            assert "Raise --surrogate-samples" in text


def test_a_lime_fit_that_cannot_be_measured_is_flagged_and_says_what_to_do():
    """Fewer samples than words + 2: no adjusted R² (null), and the page says why and what to do, flagged like a
    poor fit; a fit below 0 (no better than chance) is shown as it is."""
    made = sample(["[CLS]", "good", "film", "[SEP]"], "good film", methods=("lime",))
    made.words = [Word("[CLS]", None, None, 0, 1), Word("good", 0, 4, 1, 2), Word("film", 5, 9, 2, 3),
                  Word("[SEP]", None, None, 3, 4)]
    built = report([made], "lime")
    built.meta.surrogate_samples = 3
    made.models["base"].methods["lime"].surrogate_fit = None
    made.models["finetuned"].methods["lime"].surrogate_fit = -0.4
    document = parse_html(render_html(built))
    base, finetuned = [c for c in document.find_all("article", "column") if "difference" not in c.classes]
    assert "Surrogate fit not measurable: 3 sampled coalitions of its 2 words, fewer samples than words + 2" \
        in base.text()
    assert "Raise --surrogate-samples" in base.find_all("p", "warning")[0].text()
    assert "Surrogate fit: adjusted R² −0.40 (the share of the target logit's variation over 3 sampled coalitions of " \
           "its 2 words that the linear model reproduces, less what 2 coefficients would fit by chance)" \
        in finetuned.text()
    assert finetuned.find_all("p", "warning")
    flags = document.find_all("table", "summary")[0].text()
    assert "LIME fit not measurable" in flags and "LIME fit poor" in flags
