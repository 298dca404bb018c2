"""Read the metadata of a GGUF model file (llama.cpp's format) without the `gguf` package, numpy or torch,
so that `specc check` and `specc plan` know a GGUF base model's architecture and chat template.

Only the header is read: magic, version, counts, then the key/value pairs up to the tensor table.
Big arrays (the tokenizer's vocabulary) are skipped except for their length.
"""

from __future__ import annotations

import struct
from pathlib import Path

_MAGIC = b"GGUF"
# value type -> struct format of a scalar
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9
_MAX_STRING = 16 * 2**20  # a chat template is a few KiB; anything this big is a broken file


class GgufError(ValueError):
    """The file is not a GGUF file this reader understands."""


class _Reader:
    def __init__(self, fh):
        self.fh = fh

    def take(self, fmt: str):
        size = struct.calcsize(fmt)
        raw = self.fh.read(size)
        if len(raw) != size:
            raise GgufError("the file ends inside its header")
        return struct.unpack(fmt, raw)[0]

    def string(self, keep: bool = True) -> str | None:
        length = self.take("<Q")
        if length > _MAX_STRING:
            raise GgufError(f"a metadata string of {length} bytes")
        if not keep:
            self.fh.seek(length, 1)
            return None
        raw = self.fh.read(length)
        if len(raw) != length:
            raise GgufError("the file ends inside its header")
        return raw.decode("utf-8", errors="replace")

    def value(self, kind: int, keep: bool = True):
        if kind in _SCALARS:
            return self.take(_SCALARS[kind])
        if kind == _STRING:
            return self.string(keep)
        if kind == _ARRAY:
            item_kind, count = self.take("<I"), self.take("<Q")
            if item_kind in _SCALARS:
                self.fh.seek(struct.calcsize(_SCALARS[item_kind]) * count, 1)
            else:
                for _ in range(count):
                    self.value(item_kind, keep=False)
            return {"array_length": count}
        raise GgufError(f"unknown metadata value type {kind}")


def read_metadata(path: Path) -> dict:
    """Every metadata key of a GGUF file; arrays become {"array_length": n}."""
    with Path(path).open("rb") as fh:
        if fh.read(4) != _MAGIC:
            raise GgufError("not a GGUF file (wrong magic bytes)")
        reader = _Reader(fh)
        version = reader.take("<I")
        if version not in (2, 3):
            raise GgufError(f"GGUF version {version} (this reader knows 2 and 3)")
        tensors = reader.take("<Q")
        count = reader.take("<Q")
        meta: dict = {"gguf.version": version}
        for _ in range(count):
            key = reader.string()
            kind = reader.take("<I")
            meta[key] = reader.value(kind)
        names = []
        for _ in range(tensors):  # tensor infos: name, dims, type, offset
            names.append(reader.string())
            dims = reader.take("<I")
            fh.seek(8 * dims + 4 + 8, 1)
        meta["gguf.tensor_names"] = names
        return meta


def config_from_metadata(meta: dict) -> dict:
    """A transformers-style config.json dict for the architectures specc knows (llama-like decoders)."""
    arch = str(meta.get("general.architecture", ""))

    def get(key: str):
        return meta.get(f"{arch}.{key}")

    heads = get("attention.head_count")
    hidden = get("embedding_length")
    vocab = meta.get("tokenizer.ggml.tokens", {}).get("array_length") if isinstance(
        meta.get("tokenizer.ggml.tokens"), dict) else None
    config = {
        "model_type": {"qwen2": "qwen2", "gemma": "gemma", "gemma2": "gemma2", "phi3": "phi3",
                       "mistral": "mistral"}.get(arch, arch),
        "hidden_size": hidden,
        "num_hidden_layers": get("block_count"),
        "intermediate_size": get("feed_forward_length"),
        "num_attention_heads": heads,
        "num_key_value_heads": get("attention.head_count_kv") or heads,
        "max_position_embeddings": get("context_length"),
        "vocab_size": get("vocab_size") or vocab,
        "head_dim": (hidden // heads) if hidden and heads else None,
        "torch_dtype": "bfloat16",
        # llama.cpp writes a separate output matrix only when the LM head is not tied to the embeddings
        "tie_word_embeddings": "output.weight" not in meta.get("gguf.tensor_names", []),
    }
    return {k: v for k, v in config.items() if v is not None}
