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


def gpt2_tokenizer(folder: Path, pad_token: str | None = None) -> PreTrainedTokenizerBase:
    """GPT-2's kind: byte-level BPE without a prefix space, no BOS/EOS added to a text, `<|endoftext|>` its
    only special token and no pad token (unless `pad_token`, e.g. Qwen2's `<|endoftext|>`)."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    bpe = ByteLevelBPETokenizer(add_prefix_space=False)
    bpe.train_from_iterator(CORPUS, vocab_size=420, min_frequency=1, special_tokens=["<|endoftext|>", "<|im_end|>"],
                            show_progress=False)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer, bos_token="<|endoftext|>",
                                        eos_token="<|endoftext|>", unk_token="<|endoftext|>", pad_token=pad_token)
    tokenizer.save_pretrained(folder)
    return tokenizer


def qwen_tokenizer(folder: Path) -> PreTrainedTokenizerBase:
    """Qwen2/Qwen3's kind: byte-level BPE, no BOS, `<|endoftext|>` as the pad token."""
    return gpt2_tokenizer(folder, pad_token="<|endoftext|>")


def sentencepiece_tokenizer(folder: Path, pad_token: str | None = None, bos: str = "<s>") -> PreTrainedTokenizerBase:
    """Llama/Mistral/Gemma/Phi-3's kind: SentencePiece BPE pieces marked "▁" with byte fallback (a newline is
    `<0x0A>`), a BOS token before every text, no EOS added, and no pad token unless `pad_token`."""
    from tokenizers import SentencePieceBPETokenizer
    from tokenizers.processors import TemplateProcessing
    from transformers import PreTrainedTokenizerFast

    specials = ["<unk>", bos, "</s>"] + ([pad_token] if pad_token else [])
    bytes_ = [f"<0x{b:02X}>" for b in range(256)]
    piece = SentencePieceBPETokenizer(unk_token="<unk>", fuse_unk=True)
    piece.train_from_iterator(CORPUS, vocab_size=len(specials) + 256 + 200, min_frequency=1,
                              special_tokens=specials + bytes_, show_progress=False)
    piece._tokenizer.model.byte_fallback = True
    piece.post_processor = TemplateProcessing(single=f"{bos} $A", pair=f"{bos} $A {bos} $B",
                                              special_tokens=[(bos, piece.token_to_id(bos))])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=piece._tokenizer, bos_token=bos, eos_token="</s>",
                                        unk_token="<unk>", pad_token=pad_token)
    tokenizer.save_pretrained(folder)
    return tokenizer


def gemma_tokenizer(folder: Path) -> PreTrainedTokenizerBase:
    """Gemma's kind: SentencePiece with `<bos>` before every text and a `<pad>` token."""
    return sentencepiece_tokenizer(folder, pad_token="<pad>", bos="<bos>")


def phi3_tokenizer(folder: Path) -> PreTrainedTokenizerBase:
    """Phi-3's kind: Llama's SentencePiece with `<|endoftext|>` as the pad token."""
    return sentencepiece_tokenizer(folder, pad_token="<|endoftext|>")


ROPE = {"num_key_value_heads": 2}  # grouped-query attention: 4 query heads share 2 key/value heads
DECODERS = {
    # name: (transformers class names, tokenizer, config options beyond tiny_config's)
    "gpt2": ("GPT2Config", "GPT2ForSequenceClassification", gpt2_tokenizer, {"n_inner": 64, "n_positions": 64}),
    "llama": ("LlamaConfig", "LlamaForSequenceClassification", sentencepiece_tokenizer, ROPE),
    "qwen2": ("Qwen2Config", "Qwen2ForSequenceClassification", qwen_tokenizer, ROPE),
    "qwen3": ("Qwen3Config", "Qwen3ForSequenceClassification", qwen_tokenizer, {**ROPE, "head_dim": 8}),
    "mistral": ("MistralConfig", "MistralForSequenceClassification", sentencepiece_tokenizer, ROPE),
    "gemma": ("GemmaConfig", "GemmaForSequenceClassification", gemma_tokenizer, {**ROPE, "head_dim": 8}),
    "phi3": ("Phi3Config", "Phi3ForSequenceClassification", phi3_tokenizer, ROPE),
}
"""Every decoder-only sequence classifier in common use, tiny, each with the kind of tokenizer it ships with:
GPT-2, Llama and Mistral without a pad token, the others with theirs; grouped-query heads where the
architecture has them."""


def make_decoder_dir(name: str, folder: Path, seed: int) -> Path:
    """A random-initialised decoder classifier of architecture `name` (see DECODERS) saved with its tokenizer."""
    import transformers

    config_name, model_name, make_tokenizer, extra = DECODERS[name]
    tokenizer = make_tokenizer(folder)
    torch.manual_seed(seed)
    config = tiny_config(getattr(transformers, config_name), tokenizer, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id, **extra)
    return save_model(getattr(transformers, model_name)(config), tokenizer, folder)
