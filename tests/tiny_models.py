"""Tiny random Hugging Face classifiers of other architectures, with their tokenizers, built offline.

The byte-level BPE tokenizer (RoBERTa's kind) is trained in the test session on the builders'
word list, so every lower-case English text tokenizes, and spaces, newlines and double spaces give
the `Ġ`/`Ċ` tokens of a real RoBERTa tokenizer.
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import PretrainedConfig, PreTrainedModel, PreTrainedTokenizerBase

from tests.builders import LETTERS, PUNCTUATION, WORDS, make_encoder_dir

ROBERTA_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]  # ids 0-4, as in roberta-base
CORPUS = [" ".join(WORDS), " ".join(LETTERS), " ".join(PUNCTUATION)] * 3


def byte_level_tokenizer(folder: Path) -> PreTrainedTokenizerBase:
    """A RoBERTa tokenizer (byte-level BPE, `<s>`/`</s>`, padding id 1) with a few hundred merges."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(CORPUS, vocab_size=420, min_frequency=1, special_tokens=ROBERTA_SPECIALS,
                            show_progress=False)
    bpe.save_model(str(folder))
    tokenizer = RobertaTokenizerFast(vocab=str(folder / "vocab.json"), merges=str(folder / "merges.txt"))
    tokenizer.save_pretrained(folder)
    return tokenizer


def unigram_tokenizer(folder: Path) -> PreTrainedTokenizerBase:
    """An XLM-RoBERTa/ALBERT-style tokenizer: SentencePiece unigram pieces marked "▁", `<s> … </s>`."""
    from tokenizers import SentencePieceUnigramTokenizer
    from tokenizers.processors import TemplateProcessing
    from transformers import XLMRobertaTokenizerFast

    unigram = SentencePieceUnigramTokenizer()
    unigram.train_from_iterator(CORPUS, vocab_size=200, special_tokens=ROBERTA_SPECIALS, unk_token="<unk>",
                                show_progress=False)
    ids = [(token, unigram.token_to_id(token)) for token in ("<s>", "</s>")]
    unigram.post_processor = TemplateProcessing(single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
                                                special_tokens=ids)
    tokenizer = XLMRobertaTokenizerFast(tokenizer_object=unigram, bos_token="<s>", eos_token="</s>",
                                        sep_token="</s>", cls_token="<s>", pad_token="<pad>", unk_token="<unk>",
                                        mask_token="<mask>")
    tokenizer.save_pretrained(folder)
    return tokenizer


def wordpiece_tokenizer(folder: Path) -> PreTrainedTokenizerBase:
    """The test suite's lower-casing BERT WordPiece tokenizer (`[CLS] … [SEP]`)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(make_encoder_dir(folder))


def save_model(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, folder: Path) -> Path:
    model.eval().save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def tiny_config(config_class: type[PretrainedConfig], tokenizer: PreTrainedTokenizerBase, **extra) -> PretrainedConfig:
    return config_class(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, num_labels=2, pad_token_id=tokenizer.pad_token_id, **extra)


ARCHITECTURES = {
    # name: (transformers class names, tokenizer, config options beyond tiny_config's)
    "bert": ("BertConfig", "BertForSequenceClassification", wordpiece_tokenizer, {}),
    "roberta": ("RobertaConfig", "RobertaForSequenceClassification", byte_level_tokenizer,
                {"max_position_embeddings": 66}),
    "xlm-roberta": ("XLMRobertaConfig", "XLMRobertaForSequenceClassification", unigram_tokenizer,
                    {"max_position_embeddings": 66}),
    "distilbert": ("DistilBertConfig", "DistilBertForSequenceClassification", wordpiece_tokenizer,
                   {"dim": 32, "n_layers": 2, "n_heads": 4, "hidden_dim": 64}),
    "albert": ("AlbertConfig", "AlbertForSequenceClassification", unigram_tokenizer, {"embedding_size": 16}),
    "electra": ("ElectraConfig", "ElectraForSequenceClassification", wordpiece_tokenizer, {"embedding_size": 16}),
    "deberta-v2": ("DebertaV2Config", "DebertaV2ForSequenceClassification", byte_level_tokenizer,
                   {"relative_attention": True, "position_biased_input": False, "pos_att_type": ["p2c", "c2p"],
                    "position_buckets": 16}),
    "modernbert": ("ModernBertConfig", "ModernBertForSequenceClassification", byte_level_tokenizer,
                   {"global_attn_every_n_layers": 1, "local_attention": 16, "bos_token_id": 0, "eos_token_id": 2,
                    "cls_token_id": 0, "sep_token_id": 2, "classifier_pooling": "mean"}),
    "mpnet": ("MPNetConfig", "MPNetForSequenceClassification", wordpiece_tokenizer, {}),
}
"""Every encoder sequence classifier in common use, tiny, each with the kind of tokenizer it ships with."""


def make_architecture_dir(name: str, folder: Path, seed: int) -> Path:
    """A random-initialised classifier of architecture `name` (see ARCHITECTURES) saved with its tokenizer."""
    import transformers

    config_name, model_name, make_tokenizer, extra = ARCHITECTURES[name]
    tokenizer = make_tokenizer(folder)
    torch.manual_seed(seed)
    config = tiny_config(getattr(transformers, config_name), tokenizer, **extra)
    return save_model(getattr(transformers, model_name)(config), tokenizer, folder)


@torch.no_grad()
def direct_probabilities(folder: Path, texts: list[str | tuple[str, str]], max_length: int,
                         sigmoid: bool = False) -> torch.Tensor:
    """A Hugging Face classifier called as its model card says, one text (or sentence pair, as the
    tokenizer pairs it, token type ids included) at a time: the reference. sigmoid: a multi-label head's."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    logits = torch.cat([model(**tokenizer(*(text if isinstance(text, tuple) else (text,)), max_length=max_length,
                                          truncation=True, return_tensors="pt")).logits for text in texts])
    return logits.sigmoid() if sigmoid else logits.softmax(-1)
