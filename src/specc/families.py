"""specc's own table of model families: what LoRA can target and which modules are task heads.

Nothing here imports torch or transformers. When the base model is on disk, its `config.json`
(`model_type`) decides the family; for hub models the table of known models does, or `model.family`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Family:
    """Facts about one architecture family."""

    name: str
    kind: str  # "encoder" or "decoder"
    # Leaf names of the linear layers inside the transformer blocks (what `lora.targets` may name).
    linear_modules: tuple[str, ...]
    # Head modules trained in full (peft `modules_to_save`) when the task adds a fresh head.
    classification_head: tuple[str, ...]
    # `model_type` values in a config.json that belong to this family.
    model_types: tuple[str, ...] = ()


_DECODER_PROJ = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")

FAMILIES: dict[str, Family] = {
    f.name: f
    for f in [
        Family("bert", "encoder", ("query", "key", "value", "dense"), ("classifier",), ("bert",)),
        Family("roberta", "encoder", ("query", "key", "value", "dense"), ("classifier",),
               ("roberta", "xlm-roberta", "camembert")),
        Family("distilbert", "encoder", ("q_lin", "k_lin", "v_lin", "out_lin", "lin1", "lin2"),
               ("pre_classifier", "classifier"), ("distilbert",)),
        Family("deberta-v2", "encoder", ("query_proj", "key_proj", "value_proj", "dense"),
               ("pooler", "classifier"), ("deberta-v2",)),
        Family("electra", "encoder", ("query", "key", "value", "dense"), ("classifier",), ("electra",)),
        Family("llama", "decoder", _DECODER_PROJ, ("score",), ("llama",)),
        Family("mistral", "decoder", _DECODER_PROJ, ("score",), ("mistral",)),
        Family("gemma", "decoder", _DECODER_PROJ, ("score",), ("gemma",)),
        Family("gemma2", "decoder", _DECODER_PROJ, ("score",), ("gemma2",)),
        Family("qwen2", "decoder", _DECODER_PROJ, ("score",), ("qwen2",)),
        Family("phi3", "decoder", ("qkv_proj", "o_proj", "gate_up_proj", "down_proj"), ("score",), ("phi3",)),
        Family("gpt2", "decoder", ("c_attn", "c_proj", "c_fc"), ("score",), ("gpt2",)),
    ]
}


@dataclass(frozen=True)
class KnownModel:
    """A hub model specc knows without downloading it."""

    hub_id: str
    family: str
    parameters: int  # total parameters of the base model
    hidden_size: int
    num_layers: int
    vocab_size: int
    # The rest of the architecture, as its config.json states it (for `specc.estimate`).
    intermediate_size: int | None = None
    num_attention_heads: int | None = None
    num_key_value_heads: int | None = None  # decoders: fewer than the heads with grouped-query attention
    head_dim: int | None = None  # decoders; None means hidden_size // num_attention_heads
    max_position_embeddings: int | None = None  # learned position rows (0: none, relative positions)
    type_vocab_size: int | None = None  # encoders: token type rows
    tie_word_embeddings: bool | None = None  # decoders: the LM head shares the embedding matrix
    dtype: str | None = None  # the checkpoint's dtype (what transformers 5 loads by default)
    position_buckets: int | None = None  # DeBERTa-v2: the relative position table holds 2 x this rows
    chat_template: bool | None = None  # decoders: whether the tokenizer ships a chat template


KNOWN_MODELS: dict[str, KnownModel] = {
    m.hub_id.lower(): m
    for m in [
        KnownModel("emilyalsentzer/Bio_ClinicalBERT", "bert", 108_310_272, 768, 12, 28_996,
                   intermediate_size=3072, num_attention_heads=12, max_position_embeddings=512,
                   type_vocab_size=2, dtype="float32"),
        KnownModel("bert-base-uncased", "bert", 109_482_240, 768, 12, 30_522,
                   intermediate_size=3072, num_attention_heads=12, max_position_embeddings=512,
                   type_vocab_size=2, dtype="float32"),
        KnownModel("google-bert/bert-base-uncased", "bert", 109_482_240, 768, 12, 30_522,
                   intermediate_size=3072, num_attention_heads=12, max_position_embeddings=512,
                   type_vocab_size=2, dtype="float32"),
        KnownModel("sentence-transformers/all-MiniLM-L6-v2", "bert", 22_713_216, 384, 6, 30_522,
                   intermediate_size=1536, num_attention_heads=12, max_position_embeddings=512,
                   type_vocab_size=2, dtype="float32"),
        KnownModel("roberta-base", "roberta", 124_645_632, 768, 12, 50_265,
                   intermediate_size=3072, num_attention_heads=12, max_position_embeddings=514,
                   type_vocab_size=1, dtype="float32"),
        KnownModel("FacebookAI/roberta-base", "roberta", 124_645_632, 768, 12, 50_265,
                   intermediate_size=3072, num_attention_heads=12, max_position_embeddings=514,
                   type_vocab_size=1, dtype="float32"),
        KnownModel("distilbert-base-uncased", "distilbert", 66_362_880, 768, 6, 30_522,
                   intermediate_size=3072, num_attention_heads=12, max_position_embeddings=512,
                   type_vocab_size=0, dtype="float32"),
        KnownModel("microsoft/deberta-v3-base", "deberta-v2", 183_831_552, 768, 12, 128_100,
                   intermediate_size=3072, num_attention_heads=12, max_position_embeddings=0,
                   type_vocab_size=0, dtype="float16", position_buckets=256),
        KnownModel("google/electra-base-discriminator", "electra", 108_891_648, 768, 12, 30_522,
                   intermediate_size=3072, num_attention_heads=12, max_position_embeddings=512,
                   type_vocab_size=2, dtype="float32"),
        KnownModel("meta-llama/Meta-Llama-3-8B", "llama", 8_030_261_248, 4096, 32, 128_256,
                   intermediate_size=14_336, num_attention_heads=32, num_key_value_heads=8, head_dim=128,
                   max_position_embeddings=8192, tie_word_embeddings=False, dtype="bfloat16", chat_template=False),
        KnownModel("meta-llama/Meta-Llama-3-8B-Instruct", "llama", 8_030_261_248, 4096, 32, 128_256,
                   intermediate_size=14_336, num_attention_heads=32, num_key_value_heads=8, head_dim=128,
                   max_position_embeddings=8192, tie_word_embeddings=False, dtype="bfloat16", chat_template=True),
        KnownModel("mistralai/Mistral-7B-v0.1", "mistral", 7_241_732_096, 4096, 32, 32_000,
                   intermediate_size=14_336, num_attention_heads=32, num_key_value_heads=8, head_dim=128,
                   max_position_embeddings=32_768, tie_word_embeddings=False, dtype="bfloat16"),
        KnownModel("google/gemma-2-9b", "gemma2", 9_241_705_984, 3584, 42, 256_000,
                   intermediate_size=14_336, num_attention_heads=16, num_key_value_heads=8, head_dim=256,
                   max_position_embeddings=8192, tie_word_embeddings=True, dtype="float32"),
        KnownModel("google/gemma-7b", "gemma", 8_537_680_896, 3072, 28, 256_000,
                   intermediate_size=24_576, num_attention_heads=16, num_key_value_heads=16, head_dim=256,
                   max_position_embeddings=8192, tie_word_embeddings=True, dtype="bfloat16"),
        KnownModel("Qwen/Qwen2-7B", "qwen2", 7_615_616_512, 3584, 28, 152_064,
                   intermediate_size=18_944, num_attention_heads=28, num_key_value_heads=4, head_dim=128,
                   max_position_embeddings=131_072, tie_word_embeddings=False, dtype="bfloat16"),
        KnownModel("microsoft/Phi-3-mini-4k-instruct", "phi3", 3_821_079_552, 3072, 32, 32_064,
                   intermediate_size=8192, num_attention_heads=32, num_key_value_heads=32, head_dim=96,
                   max_position_embeddings=4096, tie_word_embeddings=False, dtype="bfloat16", chat_template=True),
        KnownModel("gpt2", "gpt2", 124_439_808, 768, 12, 50_257,
                   intermediate_size=3072, num_attention_heads=12, max_position_embeddings=1024,
                   tie_word_embeddings=True, dtype="float32"),
        KnownModel("HuggingFaceTB/SmolLM2-135M-Instruct", "llama", 134_515_008, 576, 30, 49_152,
                   intermediate_size=1536, num_attention_heads=9, num_key_value_heads=3, head_dim=64,
                   max_position_embeddings=8192, tie_word_embeddings=True, dtype="bfloat16", chat_template=True),
    ]
}

_BY_MODEL_TYPE = {mt: fam for fam in FAMILIES.values() for mt in fam.model_types}


def family_for_model_type(model_type: str) -> Family | None:
    """The family of a `config.json` `model_type`, or None if specc does not know it."""
    return _BY_MODEL_TYPE.get(model_type)


def read_local_config(model_dir: Path) -> dict | None:
    """The `config.json` of a model on disk, or None when there is none or it is not valid JSON."""
    try:
        return json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
