"""The Python API: `reportgen.explain(...)` in a notebook, and the one code path under the CLI.

The CLI only parses options and calls `explain` and `ExplainedReport.save`; everything a report
does, the API does, so a notebook and a shell get the same report.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from reportgen import choices, option_spec
from reportgen.choices import role_word
from reportgen.errors import OptionError, ReportgenError
from reportgen.explain_options import ExplainOptions
from reportgen.loading.adapters import adapter_note
from reportgen.loading.data import Rows, open_dataset, parse_indices
from reportgen.loading.device import resolve_device
from reportgen.loading.labels import GIVEN, parse_label_names
from reportgen.loading.model_options import ModelOptions
from reportgen.loading.models import LoadedModel, load_model, load_tokenizer, prepared
from reportgen.loading.precision import weights_dtype
from reportgen.methods import parse_methods
from reportgen.output import check_writable
from reportgen.pipeline import Texts, check_rationales
from reportgen.pipeline import explain as run_pipeline
from reportgen.rendering.document import ExplainedReport, ViewOptions
from reportgen.results import ModelInfo

SOURCES = ("from_scan", "dataset", "indices", "texts")
"""Where rows come from, as `OptionError` names them: `from_scan=`, `dataset=`, `indices=`, `texts=` from the API,
--from-scan, --dataset, --indices, --text from the command line."""


@dataclass
class Selection:
    """What to explain: dataset rows by index, free texts, or rows picked from a scan."""

    dataset: str | None = None
    split: str = "test"
    indices: str | list[int] | None = None
    texts: list[str | tuple[str, str]] | None = None  # free texts; a (first, second) tuple is a sentence pair
    text_column: str | None = None
    text_pairs: list[str] | None = None  # free texts' second texts (--text-pair), one per text
    text_pair_column: str | None = None
    label_column: str | None = None
    label_names: list[str] | None = None
    rationale_column: str | None = None  # the column of each row's human rationale (spans or evidence strings)
    rationales: list[Any] | None = None  # free texts' human rationales, one per text (`plausibility.FORMS`)
    labels: list[Any] | None = None  # free texts' true labels (a class index or name, or None), one per text
    from_scan: Path | None = None
    select: str | None = None
    top: int | None = None
    order: str = "confidence"

    def check(self, *, all_rows: bool = False) -> None:
        """Mistakes in the choice of rows, found before any model or dataset is loaded.

        all_rows: a dataset without --indices means every row (a corpus), not a mistake.
        """
        parse_label_names(self.label_names)  # an empty or repeated class name, before anything loads
        if self.from_scan is not None:
            if self.texts or self.dataset or self.indices or self.text_column or self.label_column or self.label_names \
                    or self.text_pair_column:
                raise OptionError("{from_scan} takes the rows, dataset and columns from the scan file; leave out "
                                  "{dataset}, {indices}, {texts} and the column options", *SOURCES)
            if self.select is None:
                raise OptionError("{from_scan} needs {select}: base-wrong, finetuned-wrong, disagree or all",
                                  "from_scan", "select")
            return
        if self.select is not None or self.top is not None:
            raise OptionError("{select} and {top} pick rows from a scan: give {from_scan} too", "select", "top",
                              "from_scan")
        if self.texts and (self.dataset or self.indices):
            raise OptionError("give either {dataset} with {indices}, or {texts}, not both", *SOURCES)
        if self.text_pairs and len(self.text_pairs) != len(self.texts or []):
            raise OptionError(f"{len(self.text_pairs)} {{text_pairs}} for {len(self.texts or [])} {{texts}}: give "
                              "one {text_pairs} after each {texts} (the second text of its sentence pair)",
                              "text_pairs", "texts")
        kinds = {isinstance(text, tuple) for text in self.texts or []}
        if kinds == {True, False} or (True in kinds and self.text_pairs):
            raise OptionError("texts: give every text as a (first, second) pair, or none; a pair's second text "
                              "goes either in the tuple or in {text_pairs}, not both", "text_pairs")
        if any(isinstance(text, tuple) and len(text) != 2 for text in self.texts or []):
            raise ReportgenError("texts: a sentence pair is a tuple of two texts, (first, second)")
        if self.labels is not None and len(self.labels) != len(self.texts or []):
            raise ReportgenError(f"{len(self.labels)} labels for {len(self.texts or [])} texts: give one per text "
                                 "(None where it is unknown); a dataset's labels come from label_column=")
        if self.rationales is not None and len(self.rationales) != len(self.texts or []):
            raise ReportgenError(f"{len(self.rationales)} rationales for {len(self.texts or [])} texts: give one per "
                                 "text (an empty list where a text has none); a dataset's rationales come from "
                                 "rationale_column=")
        if not self.texts and not self.dataset:
            raise OptionError("nothing to explain: give {dataset} with {indices}, or {texts}"
                              if not all_rows else "nothing to attribute: give {dataset} or {from_scan}", *SOURCES)
        if self.dataset and not self.indices and not all_rows:
            raise OptionError("{dataset} needs {indices}, e.g. {indices} 6,11,13011-13013", "dataset", "indices")

    def locate(self, *, all_rows: bool = False, progress: bool = True) -> tuple[Rows, list[int]]:
        """The dataset and the chosen rows, their texts not read yet (a corpus reads them batch by batch).

        all_rows: every dataset row without --indices, and every row a scan selects without --top.
        progress: the datasets library's bars while it converts a data file.
        """
        self.check(all_rows=all_rows)
        if self.texts:
            raise OptionError("free texts ({texts}) have no dataset rows; give {dataset} or {from_scan}", *SOURCES)
        if self.from_scan is not None:
            from reportgen.scan.selection import DEFAULT_TOP
            from reportgen.scan.to_report import rows_from_scan

            top = self.top if self.top is not None or all_rows else DEFAULT_TOP
            rows, chosen = rows_from_scan(self.from_scan, self.select, top, self.order, progress)
            return rows.with_rationale_column(self.rationale_column), chosen
        rows = open_dataset(self.dataset, self.split, text_column=self.text_column, label_column=self.label_column,
                            label_names=self.label_names, text_pair_column=self.text_pair_column,
                            rationale_column=self.rationale_column, progress=progress)
        if not self.indices:
            return rows, list(range(len(rows)))
        spec = self.indices if isinstance(self.indices, str) else ",".join(str(i) for i in self.indices)
        return rows, parse_indices(spec, len(rows))

    def resolve(self, progress: bool = True) -> Texts:
        self.check()
        if self.texts:
            paired = isinstance(self.texts[0], tuple)
            firsts = [text[0] if paired else text for text in self.texts]
            pairs = [text[1] for text in self.texts] if paired else (list(self.text_pairs) or None)
            labels = list(self.labels) if self.labels is not None else [None] * len(firsts)
            return Texts(texts=firsts, indices=[None] * len(firsts), labels=labels,
                         class_names=self.label_names, names_source=GIVEN, pairs=pairs, rationales=self.rationales)
        rows, chosen = self.locate(progress=progress)
        # labels as written: a class name is read once the models' class names are known (`Texts.named`)
        return Texts(texts=rows.texts(chosen), indices=chosen, labels=rows.written_labels(chosen),
                     class_names=rows.class_names, names_source=rows.names_source, dataset=rows.name,
                     split=rows.split, pairs=rows.pairs(chosen), segment_names=rows.segment_names,
                     label_column=rows.label_column, rationales=rows.rationales(chosen))


@dataclass
class ModelSpec:
    """The two models: paths/hub ids, or modules already in memory (with their tokenizer)."""

    base: str | Path | nn.Module
    finetuned: str | Path | nn.Module
    encoder: str = "bert-base-uncased"
    pooling: str = "mean-all"
    device: str = "auto"
    tokenizer: object | None = None  # for modules; default: the encoder's tokenizer
    adapter_base: str | None = None  # a PEFT adapter's base model (default: the one its adapter_config.json names)

    @classmethod
    def of(cls, options: ModelOptions, *, device: str | None = None, tokenizer: object | None = None) -> ModelSpec:
        """The models as `ModelOptions` names them (the command line's --base … --precision); `device`: another
        device than its own (a torchrun rank's); `tokenizer`: for modules in memory."""
        return cls(options.base, options.finetuned, options.encoder, options.pooling, device or options.device,
                   tokenizer, None if options.adapter_base is None else str(options.adapter_base))

    def load(self, progress: bool = True) -> dict[str, LoadedModel]:
        """Both models on the device (`progress`: transformers' own loading bars, off for `-q`)."""
        where = resolve_device(self.device)
        specs = {"base": self.base, "finetuned": self.finetuned}
        # Modules in memory are described before either is prepared: one module may be both, and preparing it
        # upcasts it in place, which would change its digest and stored precision for the other role.
        described = {role: describe_module(spec, role) for role, spec in specs.items() if isinstance(spec, nn.Module)}
        return {role: self._load_one(role, spec, where, progress, described.get(role)) for role, spec in specs.items()}

    def _load_one(self, role: str, spec: str | Path | nn.Module, where: torch.device, progress: bool,
                  info: ModelInfo | None) -> LoadedModel:
        if isinstance(spec, nn.Module):
            return from_module(spec, role=role, tokenizer=self.tokenizer or self._encoder_tokenizer(), device=where,
                               info=info)
        return load_model(str(spec), role=role, encoder=self.encoder, pooling=self.pooling, device=where,
                          progress=progress, adapter_base=None if self.adapter_base is None else str(self.adapter_base))

    def _encoder_tokenizer(self):
        return load_tokenizer(self.encoder)


def describe_module(module: nn.Module, role: str) -> ModelInfo:
    """A model already in memory as the report names it: its kind, a digest of its state dict and the
    precision of its weights as the caller has them. ReportgenError for a module of neither kind:
    reportgen's `PooledBertClassifier` (`bert` + `classifier`) or a Hugging Face classifier."""
    user_format = hasattr(module, "bert") and hasattr(module, "classifier") and hasattr(module, "pooling")
    if user_format:
        num_classes = module.classifier[-1].out_features
        pooling = module.pooling
    elif hasattr(module, "config") and hasattr(module, "get_input_embeddings"):
        num_classes, pooling = module.config.num_labels, None
    else:
        raise ReportgenError(f"the {role_word(role)} module is neither reportgen's PooledBertClassifier (bert, "
                             "classifier, pooling) nor a Hugging Face sequence classifier")
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
    return ModelInfo(role=role, name=f"{type(module).__name__} (in memory)", source="in memory",
                     note=adapter_note(module),
                     format="checkpoint" if user_format else "huggingface", sha256=digest.hexdigest()[:12],
                     encoder=getattr(getattr(module, "config", None) or module.bert.config, "_name_or_path", None)
                     or None, pooling=pooling, num_classes=num_classes, pads_to_max_length=pooling == "mean-all",
                     weights_dtype=weights_dtype(module.parameters()))


def from_module(module: nn.Module, *, role: str, tokenizer, device: torch.device,
                info: ModelInfo | None = None) -> LoadedModel:
    """A model already in memory, prepared for the work (`loading.models.prepared`; `lent` gives it back as it
    was); `info`: its `describe_module`, if taken before anything changed it."""
    info = info or describe_module(module, role)
    return prepared(module, tokenizer, info, device, stored=info.weights_dtype)


def explain(base: str | Path | nn.Module, finetuned: str | Path | nn.Module, *,
            dataset: str | None = None, split: str = "test", text_column: str | None = None,
            label_column: str | None = None, label_names: str | list[str] | None = None,
            indices: str | list[int] | None = None, texts: Sequence[str | tuple[str, str]] = (),
            text_pairs: Sequence[str] = (), text_pair_column: str | None = None,
            rationale_column: str | None = None, rationales: Sequence[Any] | None = None,
            labels: Sequence[Any] | None = None, from_scan: str | Path | None = None,
            select: str | None = None, top: int | None = None, order: str = "confidence",
            method: str | Sequence[str] = ",".join(choices.DEFAULT_METHODS), quiet: bool = False,
            tokenizer: object | None = None, **options: Any) -> ExplainedReport:
    """Explain texts with both models; the notebook face of `reportgen report`.

    Every keyword is a `reportgen report` option of the same name and default (`texts` is `--text`,
    repeatable; `quiet` is `-q`); the outputs (`-o`, `--json`, `--markdown`) are `ExplainedReport.save`'s.
    `options`: how the models are loaded and run (`encoder`, `pooling`, `max_length`, `device`, `batch_size`,
    `precision`: `ModelOptions`), what is computed (`target`, `faithfulness`, `naopc`, `include_paths`, and each
    method's options: `steps`, `tolerance`, `max_steps`, `quadrature`, `shapley_samples`, and any a method
    declares: `ExplainOptions`) and how it looks (`scale`, `granularity`: `ViewOptions`), by the same names and
    defaults as their CLI options, both made from one declaration (`option_spec`; `inspect.signature(explain)`
    lists them); another keyword is a TypeError.
    Sentence pairs (NLI, paraphrase, cross-encoders): `texts=[(premise, hypothesis), …]` (or `text_pairs`,
    one second text per text, like `--text-pair`), or a dataset's `text_column` with `text_pair_column`.
    `method` and `label_names` take a comma-separated string or a list; `batch_size` "auto" or a number.
    Class names: `label_names`; else the dataset's (a ClassLabel feature); else the models' own (config
    `id2label`, unless transformers' placeholders LABEL_0, LABEL_1, …); else "class 0", "class 1", ….
    Where the dataset and the models both name the classes, the names must agree (case aside), as must the
    two models'; else ReportgenError asks for `label_names`. An empty or repeated name (case aside) is refused
    before any model loads. A label written as a class name ("insult", or a list of them) is read through these
    names, case aside; one that names no class is a ReportgenError naming the row. `target` takes a class name
    case aside, or its index.
    `tokenizer` goes with modules already in memory (default: `encoder`'s tokenizer). A PEFT adapter folder
    (`adapter_config.json`) as `base` or `finetuned` is loaded on the base model its config names, or on
    `adapter_base` (a local folder or hub id; needs `pip install "reportgen-saliency[peft]"`); a `PeftModel` in
    memory is used as it is and given back unchanged.
    Human rationales (plausibility, docs/plausibility.md): a dataset's `rationale_column`, or for free `texts`
    `rationales=[…]`, one per text, each a list of [start, end] character spans of its text or of evidence
    strings found in it (an empty list: none), with `labels=[…]`, the texts' true labels (a class index or
    name), since a rationale supports its label and plausibility is scored on evidence for it. A malformed
    rationale is a one-line ReportgenError naming the text.

    >>> report = explain(base="base.pth", finetuned="finetuned.pth", encoder="bert-base-uncased",
    ...                  dataset="imdb", split="test", indices=[6, 11], method="integrated-gradients")
    >>> report.save("report.html", json="report.json", markdown="notes.md")
    """
    parts = {cls: {k: v for k, v in options.items() if k in option_spec.keywords(cls)} for cls in KEYWORD_PARTS}
    unknown = sorted(set(options).difference(*parts.values()))
    if unknown:
        raise TypeError(f"explain() got an unexpected keyword argument '{unknown[0]}'")
    models = option_spec.from_keywords(ModelOptions, {"base": base, "finetuned": finetuned, **parts[ModelOptions]})
    label_names = parse_label_names(label_names)
    return run(ModelSpec.of(models, tokenizer=tokenizer),
               Selection(dataset=dataset, split=split, indices=indices, texts=list(texts), text_column=text_column,
                         label_column=label_column, label_names=label_names, text_pairs=list(text_pairs),
                         text_pair_column=text_pair_column, rationale_column=rationale_column,
                         rationales=None if rationales is None else list(rationales),
                         labels=None if labels is None else list(labels),
                         from_scan=Path(from_scan) if from_scan is not None else None, select=select, top=top,
                         order=order),
               replace(option_spec.from_keywords(ExplainOptions, parts[ExplainOptions]), methods=parse_methods(method),
                       max_length=models.max_length, batch_size=models.rows_per_batch, precision=models.precision,
                       progress=not quiet),
               option_spec.from_keywords(ViewOptions, parts[ViewOptions]), model_options=models)


KEYWORD_PARTS = (ModelOptions, ExplainOptions, ViewOptions)
"""The options dataclasses whose declared keywords `explain` takes through `**options` (base and finetuned are
its first two arguments)."""

explain.__signature__ = option_spec.with_keywords(explain, *KEYWORD_PARTS)  # type: ignore[attr-defined]


def run(models: ModelSpec, selection: Selection, options: ExplainOptions, view: ViewOptions,
        outputs: list[Path | None] | None = None, model_options: ModelOptions | None = None) -> ExplainedReport:
    """Check everything cheap first (options, the choice of rows, the models' options where given: the command
    line has checked them before torch loaded, outputs), then load and compute.

    Works from any grad mode of the caller and leaves it as it was: outside inference mode, so that the
    models loaded here are not inference tensors (through which no gradient passes); each gradient method
    turns autograd on for its own passes (`attribution.base.autograd_on`)."""
    options.check()
    view.check()
    selection.check()
    if model_options is not None:
        model_options.check()
    check_writable(outputs or [], inputs=[models.base, models.finetuned, selection.dataset, selection.from_scan])
    with torch.inference_mode(False):
        chosen = selection.resolve(options.progress)
        check_rationales(chosen)  # a malformed rationale before any model loads
        with lent([models.base, models.finetuned]):
            loaded = models.load(options.progress)
            if selection.from_scan is not None:
                from reportgen.scan.reading import read_scan
                from reportgen.scan.to_report import check_scan_models

                check_scan_models(read_scan(selection.from_scan), loaded, options.max_length)
            report = run_pipeline(loaded, chosen, options)
    return ExplainedReport(report, view)


@dataclass
class _Held:
    """A parameter of a module in memory as the caller had it."""

    parameter: nn.Parameter
    data: torch.Tensor  # its data: the very tensor, so its storage, dtype, device and values
    requires_grad: bool
    grad: torch.Tensor | None
    grad_data: torch.Tensor | None

    @classmethod
    def of(cls, parameter: nn.Parameter) -> _Held:
        grad = parameter.grad
        return cls(parameter, parameter.data, parameter.requires_grad, grad, None if grad is None else grad.data)

    def restore(self) -> None:
        """Only what changed is put back: an inference tensor (a module made under `torch.inference_mode()`,
        which reportgen refuses untouched) may not even be given its own requires_grad again."""
        if not _same(self.parameter.data, self.data):
            self.parameter.data = self.data
        if self.grad is not None and not _same(self.grad.data, self.grad_data):
            self.grad.data = self.grad_data
        if self.parameter.grad is not self.grad:
            self.parameter.grad = self.grad
        if self.parameter.requires_grad != self.requires_grad:
            self.parameter.requires_grad_(self.requires_grad)


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Whether two tensors are one and the same data (the same memory, dtype and device)."""
    return (a.data_ptr(), a.dtype, a.device, a.shape) == (b.data_ptr(), b.dtype, b.device, b.shape)


@contextmanager
def lent(specs: list[object]) -> Iterator[None]:
    """Modules in memory stay the caller's: the eval mode, frozen parameters, device and fp32 weights that
    reportgen sets for its work (`loading.models.prepared`) are put back afterwards, on error too, so a
    notebook can go on training them. Every parameter gets back its own data (the very tensor: its dtype,
    device and values bit for bit), its gradient and requires_grad; every buffer is the caller's tensor again."""
    modules = {id(m): m for m in specs if isinstance(m, nn.Module)}.values()
    subs = [sub for module in modules for sub in module.modules()]
    modes = [(sub, sub.training) for sub in subs]
    parameters = [(sub, name, _Held.of(p)) for sub in subs for name, p in sub.named_parameters(recurse=False)]
    buffers = [(sub, name, b) for sub in subs for name, b in sub.named_buffers(recurse=False)]
    try:
        yield
    finally:
        for sub, name, held in parameters:
            setattr(sub, name, held.parameter)  # the caller's object, should a conversion have replaced it
            held.restore()
        for sub, name, buffer in buffers:
            setattr(sub, name, buffer)  # a conversion replaces buffers by new tensors
        for sub, training in modes:
            sub.training = training
