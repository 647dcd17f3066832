"""Load a classifier from a user-format checkpoint, a Hugging Face directory or a hub id.

Every model comes back as a `LoadedModel`: the same small interface (logits from ids or from
word embeddings) whatever its origin, so attribution code never branches on the format.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, TypeVar

import torch
import transformers
from packaging.version import Version
from torch import nn
from transformers import PretrainedConfig, PreTrainedTokenizerBase

from reportgen.choices import CHECKPOINT_SUFFIXES, LABEL_THRESHOLD, role_word
from reportgen.errors import OptionError, ReportgenError
from reportgen.loading import adapter_files, adapters
from reportgen.loading.classifier import POOLINGS, classifier_from_state_dict
from reportgen.loading.decoder import (
    RIGHT_PADDING_NOTE,
    decoder_forward,
    is_decoder_classifier,
    network_of,
    right_padded,
)
from reportgen.loading.files import (
    from_hub_or_disk,
    read_state_dict,
    short_sha256,
    without_data_parallel_prefix,
)
from reportgen.loading.hub import check_model_exists
from reportgen.loading.inputs import EncodedTexts
from reportgen.loading.library_bars import transformers_bars
from reportgen.loading.library_logs import held_library_logs
from reportgen.loading.memory import check_fits, computation_dtype
from reportgen.loading.padding import with_pad_token
from reportgen.loading.precision import computing, dtype_name, for_computation, weights_dtype
from reportgen.results import ModelInfo

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
HEADS = ("score", "classifier")
"""The classification heads of transformers' sequence classifiers (decoders' `score`, encoders' `classifier`)."""
STORED_DTYPE = {"dtype" if Version(transformers.__version__) >= Version("4.56") else "torch_dtype": "auto"}
"""`from_pretrained`'s weights in the precision they were saved in (the keyword's name changed in 4.56), so that
`prepared` can record it before upcasting them to fp32."""
T = TypeVar("T")


class Verdicts(NamedTuple):
    """What a model says about each text: its class probabilities, the class it predicts, and every
    class it predicts (one per text for a single-label head; those above 0.5 for a multi-label one)."""

    probabilities: torch.Tensor  # (batch, classes) fp32
    predicted: torch.Tensor  # (batch,) long: the most probable class
    chosen: torch.Tensor  # (batch, classes) bool


MULTI_LABEL = "multi_label_classification"
"""The Hugging Face config's `problem_type` of a head trained with one sigmoid per label."""


@dataclass
class LoadedModel:
    """A classifier in eval mode with frozen parameters, its tokenizer, and where it came from."""

    module: nn.Module
    tokenizer: PreTrainedTokenizerBase
    info: ModelInfo

    @property
    def word_embeddings(self) -> nn.Embedding:
        return self.module.get_input_embeddings() if self.info.format == "huggingface" \
            else self.module.bert.get_input_embeddings()

    @property
    def device(self) -> torch.device:
        return next(self.module.parameters()).device

    @property
    def max_positions(self) -> int | None:
        """The longest input (in tokens, specials included) its position embeddings allow; None if unknown.

        Models whose position embedding has a padding index (RoBERTa, XLM-RoBERTa, MPNet: fairseq's
        convention) number positions from `padding_idx + 1`, so `max_position_embeddings − padding_idx − 1`
        tokens fit (roberta-base: 514 → 512); BERT-style tables count from 0 (bert-base: 512). Without an
        absolute position table (relative or rotary positions) the config's `max_position_embeddings` is used.
        """
        for name, layer in self.module.named_modules():
            if name.endswith("embeddings.position_embeddings") and isinstance(layer, nn.Embedding):
                offset = 0 if layer.padding_idx is None else layer.padding_idx + 1
                return layer.num_embeddings - offset
        return getattr(self.config, "max_position_embeddings", None)

    @property
    def config(self):
        """The transformers config (for the state-dict format: its BERT encoder's); None for a module without one."""
        return getattr(self.module, "config", None) or getattr(getattr(self.module, "bert", None), "config", None)

    @property
    def multi_label(self) -> bool:
        """True for a head whose config says `problem_type: multi_label_classification` (one
        sigmoid per label, any number of labels true at once)."""
        return getattr(self.config, "problem_type", None) == MULTI_LABEL

    @property
    def label_names(self) -> list[str] | None:
        """The head's own class names in index order (a Hugging Face config's `id2label`, e.g. toxic, insult, …),
        or None where it has none: a state-dict checkpoint (its config is the encoder's, not the head's), or
        transformers' placeholders LABEL_0, LABEL_1, … that a config without names gets. Not checked here
        (`checks.resolve_class_names` refuses empty or repeated names when it uses them)."""
        if self.info.format != "huggingface":
            return None
        id2label = getattr(self.config, "id2label", None) or {}
        names = [id2label.get(i, id2label.get(str(i))) for i in range(self.info.num_classes)]
        if all(name == f"LABEL_{i}" for i, name in enumerate(names)):
            return None
        return [name if name is None else str(name) for name in names]

    @property
    def has_token_types(self) -> bool:
        """Whether the model embeds token types (BERT, ALBERT, ELECTRA: two; RoBERTa one, DeBERTa
        none, DistilBERT no such input): only then are a pair's token type ids passed to it."""
        return (getattr(self.config, "type_vocab_size", 0) or 0) > 1

    def token_types(self, inputs: EncodedTexts) -> torch.Tensor | None:
        """The inputs' token type ids on the model's device where the model uses them, else None."""
        if inputs.token_type_ids is None or not self.has_token_types:
            return None
        return inputs.token_type_ids.to(self.device)

    @property
    def decoder(self) -> bool:
        """A decoder-only classifier (GPT-2, Llama, Qwen, Mistral, Gemma, Phi-3), read out at each text's last
        real token (`loading.decoder`); False for encoders and the state-dict format."""
        return self.info.format == "huggingface" and is_decoder_classifier(self.module)

    @property
    def baseline_token_id(self) -> int:
        """The token integrated gradients' baseline puts at every word position: the pad token, or for a decoder
        classifier its EOS token (its pad token is one it never reads: often added for fine-tuning and never
        trained), else its pad token where it has no EOS."""
        eos = self.tokenizer.eos_token_id
        return eos if self.decoder and isinstance(eos, int) else self.tokenizer.pad_token_id

    def logits(self, attention_mask: torch.Tensor, *, input_ids: torch.Tensor | None = None,
               inputs_embeds: torch.Tensor | None = None, token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        """Class logits from token ids or from word-embedding outputs (position and token-type
        embeddings are added inside the model, as usual; `token_type_ids` (batch, seq) from
        `token_types`, None for all zeros or a model without them)."""
        return self.outputs(attention_mask, input_ids=input_ids, inputs_embeds=inputs_embeds,
                            token_type_ids=token_type_ids)[0]

    def outputs(self, attention_mask: torch.Tensor, *, input_ids: torch.Tensor | None = None,
                inputs_embeds: torch.Tensor | None = None, token_type_ids: torch.Tensor | None = None,
                attentions: bool = False) -> tuple[torch.Tensor, tuple[torch.Tensor, ...] | None]:
        """(class logits (batch, classes), per-layer attention probabilities (batch, heads, seq, seq) when
        `attentions`, else None): the one forward pass every method's rows go through. A decoder classifier
        is read out at each row's last real token with each text's own positions (`loading.decoder`); a PEFT
        model runs its underlying model, adapters applied."""
        with computing(self.module):
            if self.decoder:
                return decoder_forward(self.module, attention_mask, input_ids=input_ids, inputs_embeds=inputs_embeds,
                                       output_attentions=attentions)
            extra = {} if token_type_ids is None else {"token_type_ids": token_type_ids}
            if attentions:
                extra["output_attentions"] = True
            out = network_of(self.module)(input_ids=input_ids, attention_mask=attention_mask,
                                          inputs_embeds=inputs_embeds, **extra)
        if isinstance(out, torch.Tensor):
            return out, None
        return out.logits, (out.attentions if attentions else None)

    def verdicts(self, logits: torch.Tensor) -> Verdicts:
        """Probabilities and predicted classes from class logits (batch, classes): the one place
        that reads a head's logits as a verdict.

        Single-label: softmax over the classes, the argmax predicted. Multi-label (`multi_label`):
        an independent sigmoid per label, every label above 0.5 predicted (`chosen`; `predicted`
        is still the most probable one)."""
        logits = logits.float()
        if self.multi_label:
            probabilities = logits.sigmoid()
            return Verdicts(probabilities, probabilities.argmax(dim=-1), probabilities > LABEL_THRESHOLD)
        probabilities = logits.softmax(dim=-1)
        predicted = probabilities.argmax(dim=-1)
        chosen = torch.nn.functional.one_hot(predicted, probabilities.shape[-1]).bool()
        return Verdicts(probabilities, predicted, chosen)


def check_max_length(models: Mapping[str, LoadedModel], max_length: int) -> None:
    """--max-length must fit every model's position embeddings: longer inputs crash inside BERT (that it is at
    least 2 is `ModelOptions.check`'s, before anything loads)."""
    for role, model in models.items():
        limit = model.max_positions
        if limit is not None and max_length > limit:
            raise OptionError(f"{{max_length}} {max_length} is longer than the {role_word(role)} model's position "
                              f"embeddings allow ({limit} tokens); use {{max_length}} {limit} or less", "max_length")


def _load_encoder_parts(encoder: str):
    from transformers import AutoConfig, AutoTokenizer

    config, tokenizer = from_hub_or_disk(
        encoder, "encoder", "pass {encoder} a local model directory (config and tokenizer of the checkpoint's encoder)",
        lambda local: (AutoConfig.from_pretrained(encoder, local_files_only=local),
                       AutoTokenizer.from_pretrained(encoder, local_files_only=local)), option="encoder")
    if config.model_type != "bert":
        raise ReportgenError(f"encoder '{encoder}' is a '{config.model_type}' model; checkpoints in the "
                             "state-dict format need a BERT encoder")
    config._attn_implementation = "sdpa"
    return config, tokenizer


def attention_implementation(config: PretrainedConfig, spec: str) -> str:
    """The attention a Hugging Face classifier runs on: SDPA where its architecture has it (reportgen
    trims padding keys on that path), else eager (DeBERTa-v2/v3, MPNet); the attention methods switch
    to eager for their own passes either way."""
    from transformers.models.auto.modeling_auto import MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING

    if type(config) not in MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING:
        raise ReportgenError(f"'{spec}' is a '{config.model_type}' model, which has no sequence-classification "
                             "class in transformers; give a sequence classifier")
    return "sdpa" if MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING[type(config)]._supports_sdpa else "eager"


def load_tokenizer(encoder: str) -> PreTrainedTokenizerBase:
    """The encoder's tokenizer alone (for modules already in memory), with the same offline handling and the
    library's log records held (`library_logs`)."""
    from transformers import AutoTokenizer

    with held_library_logs():
        return from_hub_or_disk(encoder, "tokenizer", "pass a local model directory or tokenizer=…",
                                 lambda local: AutoTokenizer.from_pretrained(encoder, local_files_only=local))


def prepared(module: nn.Module, tokenizer: PreTrainedTokenizerBase, info: ModelInfo, device: torch.device, *,
             stored: str | None = None) -> LoadedModel:
    """The one way a classifier becomes a `LoadedModel`, whatever its origin (checkpoint, Hugging Face,
    module in memory): the precision its weights were stored in recorded (`stored`, for weights already
    read into an fp32 module; else the module's own), a pad token its tokenizer can pad with
    (`padding.with_pad_token`, noted in `info.note`; a decoder classifier's padded on the right, `loading.decoder`),
    then the module in eval mode, frozen, on `device`
    and in fp32 (`precision.for_computation`). ReportgenError, before any work, for a model that cannot be
    padded or whose weights are inference tensors."""
    info.weights_dtype = stored or weights_dtype(module.parameters())
    config = getattr(module, "config", None) or getattr(getattr(module, "bert", None), "config", None)
    decoder = info.format == "huggingface" and is_decoder_classifier(module)
    tokenizer, note = with_pad_token(tokenizer, config, info.role, decoder=decoder)
    notes = [info.note, note]
    if decoder:
        tokenizer, notes = right_padded(tokenizer), notes + [RIGHT_PADDING_NOTE]
    parameters = sum(p.numel() for p in module.parameters())
    dtype = computation_dtype(device, parameters)
    if dtype != torch.float32:
        notes.append(f"{parameters / 1e9:.1f} B parameters on a GPU: weights kept in {dtype_name(dtype)} and computed "
                     "under its autocast")
    info.note = "; ".join(part for part in notes if part) or None
    return LoadedModel(for_computation(module, info.role, device, dtype), tokenizer, info)


def load_checkpoint(path: Path, *, role: str, encoder: str, pooling: str, device: torch.device) -> LoadedModel:
    if pooling not in POOLINGS:
        raise ReportgenError(f"unknown pooling '{pooling}'; choose one of {', '.join(POOLINGS)}")
    state, note = without_data_parallel_prefix(read_state_dict(path))
    config, tokenizer = _load_encoder_parts(encoder)
    module = classifier_from_state_dict(state, config, pooling, source=str(path))
    info = ModelInfo(role=role, name=path.name, source=str(path), format="checkpoint",
                     sha256=short_sha256([path]), encoder=encoder, pooling=pooling,
                     num_classes=module.num_classes, pads_to_max_length=pooling == "mean-all", note=note)
    return prepared(module, tokenizer, info, device, stored=weights_dtype(state.values()))


def _huggingface_parts(spec: str, role: str, progress: bool, device: torch.device, *, adapter: Path | None = None,
                       num_labels: int | None = None,
                       saved_head: set[str] | None = None) -> tuple[nn.Module, PreTrainedTokenizerBase]:
    """A Hugging Face classifier and its tokenizer from a directory or hub id (`adapter`: the PEFT adapter it is
    the base model of, which errors name, with {adapter_base}; `num_labels`: the classes of that adapter's own
    head, which replaces the base model's, `saved_head` its modules). A model too large for `device` is refused
    before its weights load; an adapter's base whose classification head is not in its weights (a language
    model's checkpoint: the head would be random) is refused unless the adapter saves that head."""
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    def load(local: bool):
        config = AutoConfig.from_pretrained(spec, local_files_only=local)
        if num_labels is not None and num_labels != config.num_labels:
            config.num_labels = num_labels
            config.id2label, config.label2id = {i: f"LABEL_{i}" for i in range(num_labels)}, None
        check_fits(config, role, spec, device)
        with transformers_bars(progress):
            module, loading = AutoModelForSequenceClassification.from_pretrained(
                spec, config=config, attn_implementation=attention_implementation(config, spec),
                local_files_only=local, output_loading_info=True, **STORED_DTYPE)
        untrained = sorted(key for key in loading.get("missing_keys", ()) if key.split(".")[0] in HEADS
                           and key.split(".")[0] not in (saved_head or ()))
        if untrained and adapter is not None:  # a model alone loads with transformers' MISSING report shown
            raise ReportgenError(f"the {role_word(role)} adapter {adapter.name} saves no classification head and its "
                                 f"base model '{spec}' has none ({untrained[0]} is not in its weights, so it would "
                                 "be random): save the adapter with its head (modules_to_save), or give a base "
                                 "model that is a sequence classifier")
        return module, AutoTokenizer.from_pretrained(spec, local_files_only=local)

    if adapter is not None:
        return from_hub_or_disk(spec, f"the {role_word(role)} adapter {adapter.name}'s base model",
                                 "pass {adapter_base} a local copy of it (a model directory)", load,
                                 option="adapter_base")
    return from_hub_or_disk(
        spec, "model", f"pass {{{role}}} a local checkpoint file (.pth/.pt/.bin/.safetensors) or model directory",
        load, option=role)


def load_huggingface(spec: str, *, role: str, device: torch.device, progress: bool = True) -> LoadedModel:
    """A directory with config.json or a hub id, through AutoModelForSequenceClassification.

    progress: transformers' own "Loading weights" bar; off for `-q`."""
    module, tokenizer = _huggingface_parts(spec, role, progress, device)
    directory = Path(spec)
    weights = [directory / name for name in WEIGHT_FILES if (directory / name).is_file()]
    info = ModelInfo(role=role, name=directory.name if directory.is_dir() else spec, source=spec,
                     format="huggingface", sha256=short_sha256(weights) if weights else None,
                     encoder=None, pooling=None, num_classes=module.config.num_labels,
                     pads_to_max_length=False)
    return prepared(module, tokenizer, info, device)


def load_adapter(folder: Path, *, role: str, adapter_base: str | None, device: torch.device,
                 progress: bool = True) -> LoadedModel:
    """A PEFT adapter folder on its base model (`adapters`): the base from `adapter_base` or the adapter's
    `base_model_name_or_path` (looked up offline as any model is), the head saved with the adapter, the tokenizer
    saved with it (else the base's). ReportgenError in one line: peft missing, base not found, shapes that do
    not fit, the adapter's weights file missing (said before any model loads)."""
    adapter_files.check_adapter_weights(folder, role)
    adapters.require_peft(f"{role_word(role)} model {folder}")
    config = adapters.read_adapter_config(folder, role)
    base = adapters.base_of(folder, config, adapter_base, role)
    head = adapters.saved_head(folder, config)
    heads = sorted({key.split(".")[0] for key in head})
    base_module, tokenizer = _huggingface_parts(base, role, progress, device, adapter=folder,
                                                num_labels=adapters.head_classes(head), saved_head=set(heads))
    module = adapters.apply_adapter(base_module, folder, base, role)
    if (folder / "tokenizer_config.json").is_file():
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(folder))
    what = f"head {', '.join(heads)} saved with the adapter" if heads else "the base model's head"
    files = [folder / adapter_files.ADAPTER_CONFIG, *adapter_files.adapter_weights(folder)]
    info = ModelInfo(role=role, name=folder.name, source=str(folder), format="huggingface",
                     sha256=adapters.digest(files, base),
                     encoder=None, pooling=None, num_classes=module.config.num_labels, pads_to_max_length=False,
                     note=adapters.describe(module.peft_config["default"], base, what))
    return prepared(module, tokenizer, info, device)


def load_model(spec: str, *, role: str, encoder: str, pooling: str, device: torch.device,
               progress: bool = True, adapter_base: str | None = None) -> LoadedModel:
    """Dispatch on what `spec` is: checkpoint file, PEFT adapter folder (on `adapter_base` or the base it names),
    model directory, or hub id (`progress`: the library's bars;
    its log records and torch's warnings are held, `library_logs`, so a load that fails is one line)."""
    with held_library_logs():
        return _load_model(spec, role=role, encoder=encoder, pooling=pooling, device=device, progress=progress,
                           adapter_base=adapter_base)


def _load_model(spec: str, *, role: str, encoder: str, pooling: str, device: torch.device,
                progress: bool, adapter_base: str | None = None) -> LoadedModel:
    path = Path(spec).expanduser()
    if path.is_file():
        if path.suffix not in CHECKPOINT_SUFFIXES:
            raise ReportgenError(f"{path}: expected a checkpoint ending in {', '.join(CHECKPOINT_SUFFIXES)} "
                                 "or a Hugging Face model directory")
        return load_checkpoint(path, role=role, encoder=encoder, pooling=pooling, device=device)
    if adapter_files.is_adapter_dir(path):
        return load_adapter(path, role=role, adapter_base=adapter_base, device=device, progress=progress)
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ReportgenError(f"{path} is a directory without config.json, so not a Hugging Face model")
        return load_huggingface(str(path), role=role, device=device, progress=progress)
    check_model_exists(spec, role)
    return load_huggingface(spec, role=role, device=device, progress=progress)
