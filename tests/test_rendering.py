"""The HTML report, parsed back with the standard library: one shaded element per token with the JSON's
score, escaped text, nothing loaded from anywhere, small files, readable shades, exact legends."""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser

import pytest

from reportgen.rendering.html import render_html
from reportgen.results import ModelAttribution, ModelInfo, Report, ReportMeta, SampleResult

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
    """(sample anchor, column label) → the token elements in that column, in order."""
    out = {}
    for section in document.find_all("section", "sample"):
        for article in section.find_all("article", "column"):
            out[(section.attrs["id"], article.attrs["aria-label"])] = article.find_all("span", "t", data_score=True)
    return out


def assert_scores_match(html: str, report_json: dict) -> None:
    """Exactly one `span.t[data-score]` per token per model column, each holding the JSON's score."""
    document = parse_html(html)
    spans = token_spans(document)
    titles = {"base": "Base model", "finetuned": "Fine-tuned model"}
    expected_count = 0
    for number, sample in enumerate(report_json["samples"], start=1):
        for role, model in sample["models"].items():
            column = spans[(f"sample-{number}", titles[role])]
            assert len(column) == len(sample["tokens"]) == len(model["scores"])
            assert [float(s.attrs["data-score"]) for s in column] == model["scores"]
            assert [s.text() for s in column] == [t[2:] if t.startswith("##") else t for t in sample["tokens"]]
            expected_count += len(column)
    assert len(document.find_all("span", data_score=True)) == expected_count  # none anywhere else


# ---- synthetic reports ----------------------------------------------------------------------------

def model_info(role: str, name: str | None = None) -> ModelInfo:
    return ModelInfo(role=role, name=name or f"{role}.pth", source=f"/models/{role}.pth", format="checkpoint",
                     sha256="0123456789ab", encoder="bert-base-uncased", pooling="mean-all", num_classes=2,
                     pads_to_max_length=True)


def attribution(scores: list[float], predicted: int = 1, method: str = "integrated-gradients",
                delta: float = 1e-3) -> ModelAttribution:
    ig = method == "integrated-gradients"
    return ModelAttribution(probabilities=[0.2, 0.8] if predicted else [0.8, 0.2], predicted=predicted,
                            target=predicted, scores=scores, pad_share=0.125,
                            convergence_delta=delta if ig else None, target_logit_change=1.5 if ig else None)


def sample(tokens: list[str], text: str | None = None, *, scores: dict[str, list[float]] | None = None,
           label: int | None = 1, index: int | None = 0, truncated: bool = False, seed: int = 0,
           method: str = "integrated-gradients") -> SampleResult:
    rng = random.Random(seed)
    scores = scores or {role: [rng.uniform(-1, 1) if method != "gradient" else rng.uniform(0, 1) for _ in tokens]
                        for role in ROLES}
    return SampleResult(index=index, label=label, text=" ".join(tokens[1:-1]) if text is None else text,
                        tokens=tokens, truncated=truncated,
                        models={role: attribution(scores[role], predicted=i, method=method)
                                for i, role in enumerate(ROLES)})


def report(samples: list[SampleResult], method: str = "integrated-gradients", *, dataset: str | None = "imdb",
           names: tuple[str, str] = ("base.pth", "finetuned.pth")) -> Report:
    ig = method == "integrated-gradients"
    meta = ReportMeta(method=method, steps=50 if ig else None, quadrature="gauss-legendre" if ig else None,
                      target="predicted", device="cpu (x86_64)", max_length=512, class_names=["negative", "positive"],
                      dataset=dataset, split="test" if dataset else None, created="2024-01-01 00:00 UTC",
                      versions={"reportgen": "0.1.0", "torch": "2"},
                      models=[model_info(role, name) for role, name in zip(ROLES, names)])
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

@pytest.mark.parametrize("method", ["integrated-gradients", "gradient-x-input", "gradient"])
def test_one_token_element_per_token_with_the_json_score(method):
    built = report([sample(long_tokens(30, seed), seed=seed, method=method, index=seed) for seed in range(3)],
                   method)
    html = render_html(built)
    assert_scores_match(html, json.loads(built.to_json()))
    document = parse_html(html)
    swatches = document.find_all("span", "sw")
    assert swatches and not any("data-score" in s.attrs for s in swatches)


def test_special_tokens_and_continuations_are_marked(mixed_report):
    first = token_spans(parse_html(render_html(mixed_report)))[("sample-1", "Base model")]
    assert [s.text() for s in first] == ["[CLS]", "the", "act", "ing", "was", "great", "[SEP]"]
    assert ["special" in s.classes for s in first] == [True] + [False] * 5 + [True]
    assert ["cont" in s.classes for s in first] == [False, False, False, True, False, False, False]


def test_hostile_text_is_escaped():
    text = "<script>alert('x')</script> {{ 7*7 }} & \"quotes\" <img src=x onerror=alert(1)>"
    tokens = ["[CLS]", "<", "script", ">", "{", "{", "7", "*", "7", "}", "}", "&", "[SEP]"]
    built = report([sample(tokens, text)], dataset="<b>data</b>", names=("<i>base</i>.pth", "{{ 6*6 }}.pth"))
    html = render_html(built)
    lowered = html.lower()
    assert "<script" not in lowered and "<img" not in lowered and "<b>" not in lowered and "<i>" not in lowered
    assert "&lt;script&gt;" in html and "&amp;" in html
    assert "{{ 7*7 }}" in html and "{{ 6*6 }}" in html  # shown literally, not evaluated to 49 / 36
    document = parse_html(html)
    originals = [d.find_all("p")[0].text() for d in document.find_all("details", "original")]
    assert originals == [text]  # the exact text comes back from the escaped HTML
    assert [s.text() for s in token_spans(document)[("sample-1", "Base model")]] == tokens
    assert not document.find_all("script") and not document.find_all("img")
    assert "<b>data</b>" in document.text() and "<i>base</i>.pth" in document.text()


def test_nothing_is_loaded_from_anywhere(mixed_report):
    for method in ("integrated-gradients", "gradient"):
        html = render_html(replace(mixed_report, meta=replace(mixed_report.meta, method=method)))
        lowered = html.lower()
        for needle in ("http:", "https:", "//", "src=", "@import", "url("):
            assert needle not in lowered, needle
        tags = {node.tag for node in parse_html(html).find_all()}
        assert not tags & {"script", "link", "img", "iframe", "object", "embed", "video", "audio", "source"}


def test_four_long_samples_stay_under_two_megabytes():
    built = report([sample(long_tokens(512, seed), " ".join(long_tokens(512, seed)[1:-1]) * 2, seed=seed, index=seed)
                    for seed in range(4)])
    html = render_html(built)
    size = len(html.encode("utf-8"))
    assert len(parse_html(html).find_all("span", data_score=True)) == 4 * 2 * 512
    assert size < 2_000_000, f"{size / 1e6:.2f} MB"


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
    assert legends(section) == [("Shared scale", "-1 against", "+1 for")]
    spans = token_spans(shared)
    assert [s.classes[1] for s in spans[("sample-1", "Base model")]] == ["z", "p8", "n4", "p2", "z"]
    assert {s.classes[1] for s in spans[("sample-1", "Fine-tuned model")]} == {"z"}

    per_column = parse_html(render_html(built, scale="per-column"))
    section = per_column.find_all("section", "sample")[0]
    assert legends(section) == [("Base scale", "-1 against", "+1 for"), ("Fine-tuned scale", "-0.05 against",
                                                                           "+0.05 for")]
    spans = token_spans(per_column)
    assert [s.classes[1] for s in spans[("sample-1", "Fine-tuned model")]] == ["z", "n8", "p3", "p2", "z"]
    assert "Each column has its own colour scale" in per_column.text()
    assert "shared by both columns" in shared.text()


def test_shade_sign_follows_score_sign(mixed_report):
    for column in token_spans(parse_html(render_html(mixed_report))).values():
        for span in column:
            score, shade = float(span.attrs["data-score"]), span.classes[1]
            assert shade == "z" or (shade[0] == "p") == (score > 0), (score, shade)


def test_unsigned_gradient_report_uses_one_hue():
    built = report([sample(long_tokens(20, 1), method="gradient")], method="gradient")
    document = parse_html(render_html(built))
    classes = {s.classes[1] for column in token_spans(document).values() for s in column}
    assert classes and all(c == "z" or c.startswith("p") for c in classes)
    section = document.find_all("section", "sample")[0]
    (caption, low, high), = legends(section)
    assert low == "0" and "against" not in low and "for" not in high
    assert not any(s for s in document.find_all("span", "sw") if s.classes[-1].startswith("n"))


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
    flagged.models["finetuned"].convergence_delta = 0.3  # 20 % of the logit change 1.5
    document = parse_html(render_html(report([flagged])))
    columns = document.find_all("article", "column")
    assert [bool(c.find_all("p", "warning")) for c in columns] == [False, True]
    assert "Raise --steps" in columns[1].text() and "20.0%" in columns[1].text()
    assert "IG delta high" in document.find_all("table", "summary")[0].text()


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
    built = report([sample(long_tokens(60, 4), method=method)], method)
    document = parse_html(render_html(built))
    css = "".join(style.text() for style in document.find_all("style"))
    rules = {name: (background, colour) for name, background, colour in
             re.findall(r"\.t\.(\w+)\{background:(#[0-9a-f]{6});color:(#[0-9a-f]{6})\}", css)}
    used = {s.classes[1] for column in token_spans(document).values() for s in column}
    used |= {s.classes[-1] for s in document.find_all("span", "sw")}
    assert used <= set(rules), f"classes without a colour rule: {used - set(rules)}"
    assert len(rules) == (17 if method != "gradient" else 9)
    for name, (background, colour) in rules.items():
        light, dark = sorted((_luminance(background), _luminance(colour)), reverse=True)
        assert (light + 0.05) / (dark + 0.05) >= 4.5, (name, background, colour)


def test_json_round_trip(mixed_report):
    for built in (mixed_report, report([sample(long_tokens(9, 5), method="gradient")], "gradient", dataset=None)):
        text = built.to_json()
        assert json.loads(text)["meta"]["schema_version"] == 1
        again = Report.from_json(text)
        assert again == built
        assert render_html(again) == render_html(built)
