"""View pieces that the report (`rendering.views.report`) and the corpus page (`rendering.views.corpus`) share, so
both say and show them the same way: role titles (from `choices`), verdict marks, colour legends and shades, model
and version lines, integrated gradients' fixed steps."""

from __future__ import annotations

from dataclasses import dataclass

from reportgen.choices import ESTIMATOR, ScoreErrorEstimator, convergence_rule
from reportgen.choices import role_title as role_title  # their home: messages outside rendering name roles too
from reportgen.methods import REGISTRY
from reportgen.rendering.colors import LEVELS, Shade, css_class, shades
from reportgen.rendering.sentences import mid_sentence
from reportgen.results import BOUNDS_STAGE, FAITHFULNESS_STAGE, FLIP_STAGE, PREDICTION_STAGE, ModelInfo


def mark(predicted: int, label: int | None) -> str:
    """✓ when the prediction is the label, ✗ when not, "" without a label."""
    if label is None:
        return ""
    return "✓" if predicted == label else "✗"


@dataclass
class LegendView:
    caption: str
    low: str
    high: str
    low_word: str  # "against", "less in fine-tuned", ""
    high_word: str
    swatches: list[str]


@dataclass
class PageView:
    """What `_base.html.j2` shows around any page: its title and lede, the models and header facts,
    the colour shades it uses, and the footer's generator."""

    title: str
    lede: str
    models: list[tuple[str, str]]  # (role title, description)
    header: list[tuple[str, str]]  # (fact, value)
    shades: list[Shade]
    generator: str


def legend(caption: str, kind: str, low: str, high: str, words: tuple[str, str] = ("against", "for")) -> LegendView:
    """A colour scale's legend: unsigned from 0 to `high`; signed and difference from `low` to `high`,
    with `words` (low end, high end; e.g. "toward negative", "toward positive") at the ends."""
    if kind == "unsigned":
        return LegendView(caption, "0", high, "", "", [css_class(level, kind) for level in range(0, LEVELS + 1)])
    return LegendView(caption, low, high, words[0], words[1],
                      [css_class(level, kind) for level in range(-LEVELS, LEVELS + 1)])


def toward_words(class_names: list[str], explained: int) -> tuple[str, str]:
    """What the two signs of a score for class `explained` mean, in words: ("toward negative",
    "toward positive") with two classes, ("against c", "toward c") with more."""
    name = class_names[explained]
    if len(class_names) == 2:
        return f"toward {class_names[1 - explained]}", f"toward {name}"
    return f"against {name}", f"toward {name}"


def moved_words(signed: bool, toward: tuple[str, str]) -> tuple[str, str]:
    """The difference's two directions (low end, high end): a signed method's share moved `toward`
    one class or the other ("moved toward negative", "moved toward positive"); an unsigned method's
    share is a magnitude, so it was gained or lost."""
    if not signed:
        return "lost share", "gained share"
    return f"moved {toward[0]}", f"moved {toward[1]}"


def colour_meaning(signed: bool, class_names: list[str], explained: int) -> str:
    """What a shade means in a column that explains class `explained`, as a sentence."""
    if not signed:
        return (f"Darker: a larger share of the model's |attribution| for {class_names[explained]} "
                "(the method gives no direction).")
    against, toward = toward_words(class_names, explained)
    return f"Blue: {toward}; red: {against}."


SHARES = ("Each model's scores are divided by its total Σ|score| over the text's tokens, so they are signed "
          "shares of that model's attribution toward the explained class, and a model with larger logits "
          "cannot dominate.")
"""The normalisation behind the report's share scale and difference view and the corpus page's statistics."""

DIFFERENCE = ("Fine-tuned − base is the change of a word's signed share toward the class, in percentage points "
              "(pp): + means the word moved toward the class, − against it. It is not a change of reliance: a word "
              "the fine-tuned model leans on harder against the class (−1.6 % → −6.7 %) moves against it (−5.1 pp), "
              "so each listed word shows both models' shares too.")
"""What the difference of signed shares measures, on the report and on the corpus page."""

UNSIGNED_SHARES = ("Each model's scores are divided by its total Σ|score| over the text's tokens, so they are "
                   "shares of that model's attribution (magnitudes: the method gives no direction), and a model "
                   "with larger logits cannot dominate.")
UNSIGNED_DIFFERENCE = ("Fine-tuned − base is the change of a word's share, in percentage points (pp): + means the "
                       "fine-tuned model gives the word more of its attribution (it gained share), − less (it lost "
                       "share). It says how much each model relies on the word, not for which class.")


def shares_and_difference(signed: set[bool]) -> str:
    """The share normalisation and what the difference measures, for the methods shown: signed
    (toward or against the class), unsigned (gained or lost share), or both kinds, each said."""
    if signed == {False}:
        return f"{UNSIGNED_SHARES} {UNSIGNED_DIFFERENCE}"
    if signed == {True}:
        return f"{SHARES} {DIFFERENCE}"
    return (f"{SHARES} {DIFFERENCE} For an unsigned method the shares are magnitudes and the change is one of "
            "reliance (gained or lost share).")


def auto_steps(quadrature: str, tolerance: float, max_steps: int, taken: str | None = None,
               on_scores: bool = True, estimator: ScoreErrorEstimator = ESTIMATOR) -> str:
    """Integrated gradients' adaptive path: "16–64 steps per text (riemann-trapezoid, halving the intervals
    whose error is large, at most 257) until it has converged: a sample has converged when …" (the rule in
    `choices.convergence_rule`'s words, with the guard of the `estimator` the file names); without `taken`, "steps
    chosen per text …". `on_scores` False: the rows were judged by the rule of their day, the delta alone (files
    from before the score error), and it says that."""
    steps = f"{taken} steps per text" if taken else "steps chosen per text"
    if not on_scores:
        return (f"{steps} ({quadrature}, halving the intervals whose error is large) until its convergence delta is "
                f"within {100 * tolerance:g} % of F(x)−F(x′), at most {max_steps}")
    return (f"{steps} ({quadrature}, halving the intervals whose error is large, at most {max_steps}) until it has "
            f"converged: {convergence_rule(tolerance, max_steps, estimator)}")


def all_shades() -> list[Shade]:
    """Every shade a page may use: signed, unsigned (white shared with signed) and difference."""
    return shades("signed") + shades("unsigned")[1:] + shades("difference")


def describe_model(info: ModelInfo, precision: str) -> str:
    """A model as the header names it: file name, SHA-256, format; the precision of weights not stored in
    float32 and of the computation (`precision`: the run's fp32, bf16 or fp16), e.g. "weights bfloat16,
    computed in fp32"; how it was read (its note)."""
    parts = [info.name]
    if info.sha256:
        parts.append(f"sha256 {info.sha256}")
    if info.format == "checkpoint":
        parts.append(f"state dict on encoder {info.encoder}, pooling {info.pooling}")
    else:
        parts.append("Hugging Face model")
    if info.weights_dtype not in (None, "float32"):
        autocast = "" if precision == "fp32" else f" with {precision} autocast"
        parts.append(f"weights {info.weights_dtype}, computed in fp32{autocast}")
    if info.note:
        parts.append(info.note)
    return " · ".join(parts)


STAGE_TITLES = {PREDICTION_STAGE: "prediction", FAITHFULNESS_STAGE: "faithfulness metrics",
                FLIP_STAGE: "flip test", BOUNDS_STAGE: "normalised-AOPC bounds"}


def duration(seconds: float) -> str:
    """'0.4 s', '12 s', '4 min 12 s', '1 h 2 min'."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    return f"{whole // 3600} h {whole % 3600 // 60} min"


def time_line(seconds: dict[str, float]) -> str:
    """The header's "Time": the computation's whole (loading the models and data is not in it), then the
    prediction, each method's attributions, and the measures that serve every method."""
    order = [PREDICTION_STAGE, *(s for s in seconds if s not in STAGE_TITLES), FAITHFULNESS_STAGE, FLIP_STAGE,
             BOUNDS_STAGE]
    titles = {**STAGE_TITLES, **{name: mid_sentence(info.title) for name, info in REGISTRY.items()}}
    parts = [f"{titles.get(stage, stage)} {duration(seconds[stage])}" for stage in order if stage in seconds]
    return f"{duration(sum(seconds.values()))} of computation: " + ", ".join(parts)


def versions_line(versions: dict[str, str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in versions.items())


def generator(versions: dict[str, str]) -> str:
    """The footer's "reportgen 0.2.0"."""
    return f"reportgen {versions.get('reportgen', '')}"


def fixed_steps(steps: int | str, quadrature: str | None) -> str:
    """Integrated gradients' fixed path: "16 steps (gauss-legendre)"."""
    return f"{steps} steps ({quadrature})"
