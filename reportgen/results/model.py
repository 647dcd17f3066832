"""The plain data model of a report: the dataclasses that the HTML, the JSON and the Markdown are made from.

Nothing here computes attributions, reads JSON or formats HTML; it only holds numbers. The whole report
(`Report`: its meta and samples, to JSON and back) is `report.py`; reading JSON into these classes is
`json_io.py`; older schemas are brought to this one by `upgrades.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reportgen.choices import FIXED_STEPS_DELTA, ScoreErrorEstimator, allowed_delta, estimator_named

SCHEMA_VERSION = 10
"""The schema these dataclasses are written in (`ReportMeta.schema_version`); `upgrades.py` reads the older ones."""

PREDICTION_STAGE = "prediction"
FAITHFULNESS_STAGE = "faithfulness-metrics"
FLIP_STAGE = "flip-test"
BOUNDS_STAGE = "aopc-bounds"
"""`ReportMeta.seconds` keys besides the method names: the forward pass that predicts, the ERASER metrics
with their random orders, the flip test (and the agreement flips), the normalised AOPC's bounds."""


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
class Plausibility:
    """How well one method's ranking for one model matches the human rationale of one text (ERASER's
    plausibility, `reportgen.plausibility`), scored on evidence for the true label, on the tokens the model
    saw (specials left out) and on its words; every value in [0, 1].

    auprc: area under the precision-recall curve of the scores against the marked tokens; auprc_random: a
    random ranking's expectation, the marked share of the tokens; token_f1: F1 of the k top tokens, k =
    tokens_marked; the word_* fields the same over words (a word's score is the sum of its tokens')."""

    auprc: float
    auprc_random: float
    token_f1: float
    tokens_marked: int
    word_auprc: float
    word_auprc_random: float
    word_f1: float
    words_marked: int


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
    # Integrated gradients: whether the sample converged (its scores' estimated error or its delta within the
    # tolerance; fixed steps: |delta| within FIXED_STEPS_DELTA), and with auto steps the scores' estimated
    # relative L1 error, Σ_t |error of score_t| / Σ_t |score_t| (None: not estimated, e.g. fixed steps).
    converged: bool | None = None
    score_error: float | None = None
    # LIME: its surrogate's weighted R² adjusted for the words it fits (`choices.adjusted_fit`, at most 1, below 0
    # for a fit no better than chance); None: not measurable (fewer samples than words + 2), or another method.
    surrogate_fit: float | None = None
    # Against the text's human rationale, on evidence for the true label; None without a rationale (or an empty one).
    plausibility: Plausibility | None = None

    @property
    def relative_delta(self) -> float | None:
        if self.convergence_delta is None or self.target_logit_change is None:
            return None
        return abs(self.convergence_delta) / max(abs(self.target_logit_change), 1e-12)

    def adds_up(self, tolerance: float | None) -> bool:
        """Whether the sample is not flagged: integrated gradients' `converged` where stored; otherwise whether the
        scores add up to F(x) − F(x′), with auto steps (`tolerance` set) by `allowed_delta`, with fixed steps within
        FIXED_STEPS_DELTA; True without a delta."""
        if self.converged is not None:
            return self.converged
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
    # The human rationale: sorted, disjoint [start, end) character spans of `text` (None: none given; []: given
    # with nothing marked), and the share of its characters past what the model saw (None without any).
    rationale: list[list[int]] | None = None
    rationale_cut: float | None = None

    @property
    def removable_words(self) -> int:
        """The words a word-removal method (occlusion, Shapley values, LIME, KernelSHAP) removes and scores: those
        with a place in the text; [CLS], [SEP] and other special tokens have none and always stay."""
        return sum(1 for word in self.words if word.start is not None)


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
    # steps "auto": the estimator of IG's score errors (`choices.ESTIMATORS`: its guard and how high it errs, which
    # the notes say); None with fixed steps. Files before schema 10 read as "interval-sum" where they have any.
    score_error_estimator: str | None = None
    shapley_samples: int | None = None  # Shapley value sampling: random orders of the words per text
    surrogate_samples: int | None = None  # LIME and KernelSHAP: coalitions of words drawn per text
    segment_names: list[str] | None = None  # sentence pairs: what the two texts are, e.g. ["Premise", "Hypothesis"]
    multi_label: bool = False  # sigmoid per label; a text has one sample per explained label
    seconds: dict[str, float] | None = None  # wall seconds per stage (each method, *_STAGE), each counted once
    schema_version: int = SCHEMA_VERSION

    @property
    def method(self) -> str:
        return self.methods[0]

    @property
    def estimator(self) -> ScoreErrorEstimator:
        """The estimator of this report's score errors (`score_error_estimator`; today's where it names none)."""
        return estimator_named(self.score_error_estimator)
