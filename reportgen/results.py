"""The plain data model of a report: dataclasses that the HTML, the JSON and the Markdown are made from.

Nothing here computes attributions or formats HTML; it only holds numbers and says how they
turn into JSON and back, so that the outputs can never disagree. Schema 2 holds several methods
per model, faithfulness metrics, words and the difference between the models; schema 3 holds the
faithfulness metrics as a mapping of named measures; schema 4 adds the flip test (`Flip`) and the
normalised AOPC (`Score.normalised`, `AopcBounds`); schema 5 the seconds each stage took
(`ReportMeta.seconds`); schema 6 no longer stores each sample's rendered sentence (the renderings
make it from the numbers: `ExplainedReport.sentences`). Older files are upgraded on reading
(`upgrade_v1`: one method, wordpieces only; `upgrade_v2`: flat faithfulness fields; `upgrade_v3`: no
flip data and no normalised values, which the report then leaves out; `upgrade_v4`: no times;
`upgrade_v5`: the stored sentence dropped).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from reportgen.choices import FIXED_STEPS_DELTA, allowed_delta
from reportgen.errors import ReportgenError
from reportgen.validation import check_report_data, shown

SCHEMA_VERSION = 6
READABLE_SCHEMAS = (1, 2, 3, 4, 5, 6)
CORPUS_AGGREGATES_FORMAT = "reportgen-corpus-aggregates"
"""The "format" of a `reportgen corpus` NAME.json: not a report's data, so `reportgen render` names it."""


SIGNIFICANT_DIGITS = 8

PREDICTION_STAGE = "prediction"
FAITHFULNESS_STAGE = "faithfulness-metrics"
FLIP_STAGE = "flip-test"
BOUNDS_STAGE = "aopc-bounds"
"""`ReportMeta.seconds` keys besides the method names: the forward pass that predicts, the ERASER metrics
with their random orders, the flip test (and the agreement flips), the normalised AOPC's bounds."""


def stored(values: list[float]) -> list[float]:
    """Scores as stored: 8 significant digits, all that fp32 arithmetic can vouch for (smaller files)."""
    return [float(f"{v:.{SIGNIFICANT_DIGITS}g}") for v in values]


@dataclass
class ModelInfo:
    """Where a model came from, so a report can be traced back to exact weights."""

    role: str  # "base" or "finetuned"
    name: str  # file or directory name, or hub id
    source: str  # the path or hub id as given (the name only, unless the report includes paths)
    format: str  # "checkpoint" (a mean-pooled BERT state dict) or "huggingface"
    sha256: str | None  # first 12 hex digits of the weights' SHA-256, when they are local files
    encoder: str | None  # config/tokenizer source for checkpoints (its name, unless paths are included)
    pooling: str | None  # mean-all, masked-mean, cls; None for Hugging Face heads
    num_classes: int
    pads_to_max_length: bool
    note: str | None = None  # how the weights were read, when it is worth saying (a stripped DataParallel prefix)
    # The floating dtype the weights were stored in ("float32", "bfloat16", "float16"); reportgen computes in fp32
    # whatever it is (`loading.precision`). None in reports written before it was recorded (float32 weights).
    weights_dtype: str | None = None


@dataclass
class Score:
    """One faithfulness measure of a method's ranking, beside the same measure for random rankings."""

    value: float  # the mean over FaithfulnessMeta.ks (AOPC)
    random: float  # the same for random rankings (chance level)
    by_k: list[float]  # one per FaithfulnessMeta.ks
    random_by_k: list[float]
    # NAOPC (Edin et al. 2024): (value − lower) / (upper − lower) with the model's `AopcBounds` for this
    # sample; None where the bounds coincide (every ordering scores alike) or were not computed.
    normalised: float | None = None
    random_normalised: float | None = None


@dataclass
class AopcBounds:
    """The lowest and highest AOPC of one measure that any ordering of one text's tokens reaches for
    one model (the best and worst orderings found: exact when `exact`, else a beam search's, widened
    by every method's and random order's own AOPC, so they bound the true extremes from inside)."""

    lower: float
    upper: float
    exact: bool
    rows: int  # forward rows the search of both measures' bounds took for this text


@dataclass
class Flip:
    """The flip test of one ranking: the fewest top-ranked words whose removal changes the verdict.

    `k`: that count, or None when the verdict does not change within `searched` words (the cap).
    `words`: indices into SampleResult.words in removal order (the first k, or all `searched` when
    it does not flip), `texts` their spelling; the probabilities are the model's softmax before and
    after removing them; `predicted_after` its class then.
    """

    k: int | None
    searched: int
    words: list[int]
    texts: list[str]
    probabilities_before: list[float]
    probabilities_after: list[float]
    predicted_after: int


@dataclass
class RandomFlips:
    """The flip counts of the seeded random word orders (one per order; None: no flip within `searched`)."""

    ks: list[int | None]
    searched: int

    @property
    def median(self) -> int | None:
        """The lower median (None sorts last): at least half the random orders flip within this many
        words; None when fewer than half flip within `searched`."""
        if not self.ks:
            return None
        ordered = sorted(self.ks, key=lambda k: (k is None, k or 0))
        return ordered[(len(ordered) - 1) // 2]


@dataclass
class Curve:
    """p_target as a ranking's top tokens are perturbed step by step (FaithfulnessMeta.curve_fractions)."""

    values: list[float]
    random: list[float]  # the same for random rankings


@dataclass
class Faithfulness:
    """Faithfulness measures of one method's ranking for one model and sample, by name.

    `scores`: "comprehensiveness" (how much p_target drops when the top-k % tokens are removed) and
    "sufficiency" (how much it drops when only they are kept; lower is better), the ERASER metrics
    (DeYoung et al. 2020). `curves`: "deletion" (p_target after removing the top fraction of tokens).
    """

    scores: dict[str, Score]
    curves: dict[str, Curve]
    probability: float | None = None  # p_target(x) of the unperturbed input, where the curves start


@dataclass
class MethodResult:
    """One method's per-token scores for one model and sample."""

    scores: list[float]  # one per non-padding token, aligned with SampleResult.tokens
    pad_share: float  # share of total |attribution| that fell on [PAD] positions
    # Methods whose scores add up: sum(scores) - (F(x) - F(x')), with F(x) - F(x') the target logit change
    # they must explain (integrated gradients: x' the [PAD] baseline, the convergence delta; Shapley value
    # sampling: x' the text with every word removed, the additivity gap). None for other methods.
    convergence_delta: float | None = None
    target_logit_change: float | None = None
    faithfulness: Faithfulness | None = None
    steps: int | None = None  # integrated gradients only: gradient evaluations this sample took (they vary with auto)
    flip: Flip | None = None  # the flip test of this method's ranking (evidence for the predicted class)

    @property
    def relative_delta(self) -> float | None:
        if self.convergence_delta is None or self.target_logit_change is None:
            return None
        return abs(self.convergence_delta) / max(abs(self.target_logit_change), 1e-12)

    def adds_up(self, tolerance: float | None) -> bool:
        """Whether the scores add up to F(x) − F(x′): with auto steps (`tolerance` set) by the rule the
        refinement used (`allowed_delta`), with fixed steps within FIXED_STEPS_DELTA; True without a delta."""
        if self.convergence_delta is None:
            return True
        if tolerance is None:
            return (self.relative_delta or 0.0) <= FIXED_STEPS_DELTA
        return abs(self.convergence_delta) <= allowed_delta(self.target_logit_change or 0.0, tolerance)


@dataclass
class ModelAttribution:
    """One model's verdict on one sample and, per method, the scores that explain it."""

    probabilities: list[float]
    predicted: int
    target: int  # the class whose logit the scores explain
    methods: dict[str, MethodResult] = field(default_factory=dict)
    random_flips: RandomFlips | None = None  # the flip test of the seeded random word orders
    aopc_bounds: dict[str, AopcBounds] = field(default_factory=dict)  # by faithfulness score name
    chosen: list[int] | None = None  # a multi-label model: every label it predicts (probability above 0.5)


@dataclass
class Word:
    """A word of the original text and the wordpieces it was split into."""

    text: str  # original spelling and case (text[start:end]); the token itself for [CLS]/[SEP]
    start: int | None  # character offsets into SampleResult.text; None for special tokens
    end: int | None
    first_token: int  # the word's wordpieces are tokens[first_token:last_token]
    last_token: int
    segment: int = 0  # sentence pairs: 1 for a word of the second text (start/end index SampleResult.text_pair)


@dataclass
class Difference:
    """Both models explaining one common class, on comparable scales, and fine-tuned − base."""

    target: int  # the class both columns explain where they explain one, else the common class
    reason: str  # why this class, e.g. "the true label"
    normalisation: str  # how each model's scores were made comparable, e.g. "l1"
    scores: dict[str, dict[str, list[float]]]  # method → role → raw per-token scores towards `target`
    difference: dict[str, list[float]]  # method → per-token normalised fine-tuned − normalised base


@dataclass
class SampleResult:
    """One explained text: its tokens, words, each model's attributions, and their difference."""

    index: int | None  # row in the dataset; None for free text
    label: int | list[int] | None  # the true class; multi-label data: the row's true labels (maybe []); None: unknown
    text: str
    tokens: list[str]  # without padding; [CLS] and [SEP] included
    truncated: bool
    models: dict[str, ModelAttribution] = field(default_factory=dict)
    words: list[Word] = field(default_factory=list)
    words_exact: bool = True  # False: words are guessed from "##" (no tokenizer offsets, e.g. a schema-1 file)
    difference: Difference | None = None
    # Where the models disagree, by the role whose verdict changes: the fewest words, ranked by the
    # *other* model's main-method evidence for the changing model's class, whose removal makes it
    # agree with the other model.
    agreement_flips: dict[str, Flip] = field(default_factory=dict)
    text_pair: str | None = None  # the second text of a sentence pair (tokens hold both, as the tokenizer paired them)
    truncated_segments: list[int] = field(default_factory=list)  # a pair: which texts were cut (0 first, 1 second)


@dataclass
class FaithfulnessMeta:
    ks: list[float]  # fractions of real tokens removed/kept, averaged into the AOPC numbers
    curve_fractions: list[float]
    random_orders: int
    seed: int


@dataclass
class ReportMeta:
    methods: list[str]  # the first is the report's main method (summary, sentence, chart)
    steps: int | str | None  # integrated gradients only: the fixed count, or "auto" (per sample: MethodResult.steps)
    quadrature: str | None
    target: str
    device: str
    max_length: int
    class_names: list[str]
    dataset: str | None
    split: str | None
    created: str
    versions: dict[str, str]
    models: list[ModelInfo]
    precision: str = "fp32"
    faithfulness: FaithfulnessMeta | None = None
    tolerance: float | None = None  # steps "auto": the |delta| / |F(x) − F(x′)| each sample was refined to
    max_steps: int | None = None  # steps "auto": the cap; a sample that reached it above tolerance is flagged
    shapley_samples: int | None = None  # Shapley value sampling: random orders of the words per text
    segment_names: list[str] | None = None  # sentence pairs: what the two texts are, e.g. ["Premise", "Hypothesis"]
    multi_label: bool = False  # sigmoid per label; a text has one sample per explained label
    seconds: dict[str, float] | None = None  # wall seconds per stage (each method, *_STAGE), each counted once
    schema_version: int = SCHEMA_VERSION

    @property
    def method(self) -> str:
        return self.methods[0]


@dataclass
class Report:
    meta: ReportMeta
    samples: list[SampleResult]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, ensure_ascii=False, allow_nan=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        meta = data.get("meta") if isinstance(data, dict) else None
        version = meta.get("schema_version") if isinstance(meta, dict) else None
        if version is None and is_corpus_document(data):
            raise ReportgenError("this is a `reportgen corpus` file (the aggregates behind its HTML), not a report's "
                                 "data: `reportgen render` draws its corpus page, `Report` reads "
                                 "`reportgen report --json` files")
        if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
            raise ReportgenError(f"meta.schema_version is {shown(version)}, not a whole number; this reportgen reads "
                                 f"versions {', '.join(map(str, READABLE_SCHEMAS))}, written as a number (e.g. "
                                 f"\"schema_version\": {SCHEMA_VERSION})")
        if version not in READABLE_SCHEMAS:
            raise ReportgenError(
                f"this report data has schema version {version!r}; this reportgen reads versions "
                f"{', '.join(map(str, READABLE_SCHEMAS))}: re-render it with the reportgen that wrote it, "
                "or upgrade reportgen")
        if version != SCHEMA_VERSION:
            data = _upgraded(data, version)
        check_report_data(data, cls)
        meta = dict(data["meta"])
        meta["models"] = [ModelInfo(**m) for m in meta["models"]]
        if meta.get("faithfulness") is not None:
            meta["faithfulness"] = FaithfulnessMeta(**meta["faithfulness"])
        samples = [_sample_from_dict(s) for s in data["samples"]]
        return cls(meta=ReportMeta(**meta), samples=samples)

    @classmethod
    def from_json(cls, text: str) -> Report:
        return cls.from_parsed(parse_json(text))

    @classmethod
    def from_parsed(cls, data: Any) -> Report:
        """A report from parsed JSON; ReportgenError, in words, for anything that is not a report's data."""
        return cls.from_dict(data)


def _upgraded(data: dict[str, Any], version: int) -> dict[str, Any]:
    """An older schema's report in today's shape; ReportgenError where it lacks what its schema had."""
    try:
        if version == 1:
            data = upgrade_v1(data)
        if version in (1, 2):
            data = upgrade_v2(data)
        if version in (1, 2, 3):
            data = upgrade_v3(data)
        if version in (1, 2, 3, 4):
            data = upgrade_v4(data)
        return upgrade_v5(data)
    except (KeyError, TypeError, AttributeError, IndexError) as exc:
        raise ReportgenError(f"not a reportgen report of schema {version} (missing or unexpected field {exc})"
                             ) from None


def parse_json(text: str) -> Any:
    """json.loads (after a UTF-8 byte order mark, if any), with ReportgenError saying where the text stops being
    JSON."""
    try:
        return json.loads(text.removeprefix("\ufeff"))  # a byte order mark, as some editors save UTF-8
    except json.JSONDecodeError as exc:
        raise ReportgenError(f"not valid JSON ({exc.msg} at line {exc.lineno})") from None


def is_corpus_document(data: object) -> bool:
    """Whether parsed JSON is a `reportgen corpus` file (the aggregates behind a corpus page)."""
    return isinstance(data, dict) and data.get("format") == CORPUS_AGGREGATES_FORMAT


def _faithfulness_from_dict(data: dict[str, Any]) -> Faithfulness:
    return Faithfulness(scores={name: Score(**score) for name, score in data["scores"].items()},
                        curves={name: Curve(**curve) for name, curve in data["curves"].items()},
                        probability=data.get("probability"))


def _method_from_dict(data: dict[str, Any]) -> MethodResult:
    faithfulness, flip = data.get("faithfulness"), data.get("flip")
    return MethodResult(**{**data, "faithfulness": _faithfulness_from_dict(faithfulness) if faithfulness else None,
                           "flip": Flip(**flip) if flip else None})


def _model_from_dict(data: dict[str, Any]) -> ModelAttribution:
    random_flips = data.get("random_flips")
    return ModelAttribution(**{**data, "methods": {name: _method_from_dict(r) for name, r in data["methods"].items()},
                               "random_flips": RandomFlips(**random_flips) if random_flips else None,
                               "aopc_bounds": {name: AopcBounds(**b)
                                               for name, b in (data.get("aopc_bounds") or {}).items()}})


def _sample_from_dict(data: dict[str, Any]) -> SampleResult:
    models = {role: _model_from_dict(m) for role, m in data["models"].items()}
    difference = Difference(**data["difference"]) if data.get("difference") else None
    words = [Word(**w) for w in data.get("words", [])]
    flips = {role: Flip(**f) for role, f in (data.get("agreement_flips") or {}).items()}
    return SampleResult(**{**data, "models": models, "words": words, "difference": difference,
                           "agreement_flips": flips})


def upgrade_v1(data: dict[str, Any]) -> dict[str, Any]:
    """A schema-1 report (one method; scores directly on each model) in schema-2 shape.

    Words cannot be recovered exactly without the tokenizer, so they are guessed from "##"
    continuations and marked `words_exact: false`; there is no difference view or faithfulness.
    """
    meta = {k: v for k, v in data["meta"].items() if k != "method"}
    method = data["meta"]["method"]
    meta.update(methods=[method], schema_version=2, faithfulness=None)
    samples = []
    for sample in data["samples"]:
        models = {}
        for role, m in sample["models"].items():
            result = {k: m[k] for k in ("scores", "pad_share", "convergence_delta", "target_logit_change")}
            models[role] = {"probabilities": m["probabilities"], "predicted": m["predicted"], "target": m["target"],
                            "methods": {method: result}}
        words = [asdict(w) for w in words_from_wordpieces(sample["tokens"])]
        samples.append({**sample, "models": models, "words": words,
                        "words_exact": False, "difference": None})
    return {"meta": meta, "samples": samples}


def upgrade_v2(data: dict[str, Any]) -> dict[str, Any]:
    """A schema-2 report (eleven flat faithfulness fields per method) in schema-3 shape (named measures)."""
    samples = []
    for sample in data["samples"]:
        models = {}
        for role, model in sample["models"].items():
            methods = {name: {**result, "faithfulness": _named_measures(result.get("faithfulness"))}
                       for name, result in model["methods"].items()}
            models[role] = {**model, "methods": methods}
        samples.append({**sample, "models": models})
    return {"meta": {**data["meta"], "schema_version": 3}, "samples": samples}


def upgrade_v3(data: dict[str, Any]) -> dict[str, Any]:
    """A schema-3 report in schema-4 shape: no flip test and no normalised AOPC were computed, so
    those fields stay empty (the report says so rather than guessing them)."""
    samples = []
    for sample in data["samples"]:
        models = {role: {**model, "random_flips": None, "aopc_bounds": {},
                         "methods": {name: {**result, "flip": None} for name, result in model["methods"].items()}}
                  for role, model in sample["models"].items()}
        samples.append({**sample, "models": models, "agreement_flips": {}})
    return {"meta": {**data["meta"], "schema_version": 4}, "samples": samples}


def upgrade_v4(data: dict[str, Any]) -> dict[str, Any]:
    """A schema-4 report in schema-5 shape: the time per stage was not recorded (`seconds` None)."""
    return {"meta": {**data["meta"], "seconds": None, "schema_version": 5}, "samples": data["samples"]}


def upgrade_v5(data: dict[str, Any]) -> dict[str, Any]:
    """A schema-5 report in schema-6 shape: each sample's stored `sentence` (the Markdown verdict, made again
    from the numbers by every rendering) is dropped."""
    samples = [{key: value for key, value in sample.items() if key != "sentence"} for sample in data["samples"]]
    return {"meta": {**data["meta"], "schema_version": SCHEMA_VERSION}, "samples": samples}


def _named_measures(flat: dict[str, Any] | None) -> dict[str, Any] | None:
    if not flat:
        return None
    scores = {name: {"value": flat[name], "random": flat[f"random_{name}"], "by_k": flat[f"{name}_by_k"],
                     "random_by_k": flat[f"random_{name}_by_k"]} for name in ("comprehensiveness", "sufficiency")}
    return {"scores": scores, "curves": {"deletion": {"values": flat["curve"], "random": flat["random_curve"]}},
            "probability": flat.get("probability")}


def words_from_wordpieces(tokens: list[str]) -> list[Word]:
    """Fallback grouping for files without offsets: a "##" piece continues the word before it."""
    words: list[Word] = []
    for position, token in enumerate(tokens):
        if words and token.startswith("##") and len(token) > 2 and not tokens[position - 1].startswith("["):
            last = words[-1]
            words[-1] = Word(last.text + token[2:], None, None, last.first_token, position + 1)
        else:
            words.append(Word(token, None, None, position, position + 1))
    return words
