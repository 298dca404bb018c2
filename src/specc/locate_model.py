"""Find the base model a spec names (installed package, local folder or hub id) and its family,
without importing torch, transformers or the package itself."""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

from .families import (
    FAMILIES,
    KNOWN_MODELS,
    Family,
    KnownModel,
    family_for_model_type,
    read_local_config,
)
from .gguf_header import GgufError, config_from_metadata, read_metadata
from .spec import Model


@dataclass(frozen=True)
class ModelInfo:
    """What specc knows about a base model before anything runs."""

    source: str  # "package", "path" or "hub"
    ref: str  # package name, path as written, or hub id
    local_dir: Path | None  # where the weights are, when they are on disk
    config: dict | None  # its config.json, when on disk
    family: Family | None
    known: KnownModel | None
    problem: str = ""  # why the model could not be found on disk, if it should be there
    gguf: Path | None = None  # a GGUF file that is dequantized into a model folder before use
    has_chat_template: bool | None = None  # None: cannot tell before the tokenizer is loaded


def _gguf_in(folder: Path, wanted: str | None) -> tuple[Path | None, str]:
    """The GGUF file in a folder (the one named, or the only one), or why there is none."""
    if wanted is not None:
        path = folder / wanted
        return (path, "") if path.is_file() else (None, f"there is no {wanted} in {folder.name}")
    files = sorted(folder.glob("*.gguf"))
    if len(files) > 1:
        return None, (f"{folder.name} holds {len(files)} GGUF files ({', '.join(f.name for f in files[:4])}); "
                      "set model.gguf_file")
    return (files[0], "") if files else (None, "")


def local_chat_template(model_dir: Path) -> bool:
    """Whether a model folder's tokenizer carries a chat template."""
    if (model_dir / "chat_template.jinja").is_file() or (model_dir / "chat_template.json").is_file():
        return True
    try:
        config = json.loads((model_dir / "tokenizer_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(config.get("chat_template"))


def package_dir(package: str) -> Path | None:
    """The folder of an installed package, found without importing it."""
    try:
        found = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if found is None or not found.submodule_search_locations:
        return None
    return Path(next(iter(found.submodule_search_locations)))


def package_model_dir(package: str) -> Path | None:
    """The model folder inside an installed package (`<pkg>/model/` or the package folder itself)."""
    pkg_dir = package_dir(package)
    if pkg_dir is None:
        return None
    for candidate in (pkg_dir / "model", pkg_dir):
        if (candidate / "config.json").is_file():
            return candidate
    return None


def locate_model(model: Model, root: Path) -> ModelInfo:
    """Resolve `model.base` against the project root and the installed packages."""
    problem = ""
    local_dir: Path | None = None
    gguf: Path | None = None
    if model.source == "package":
        ref = model.base[len("package:"):]
        local_dir = package_model_dir(ref) if model.gguf_file is None else None
        if local_dir is None:
            pkg_dir = package_dir(ref)
            if pkg_dir is not None:
                gguf, problem = _gguf_in(pkg_dir, model.gguf_file)
            if gguf is None and not problem:
                problem = (f"the Python package {json.dumps(ref)} is not installed or holds no model "
                           f"(a folder with config.json, or a .gguf file)")
    elif model.source == "path":
        ref = model.base
        candidate = (root / Path(model.base).expanduser())
        if candidate.suffix == ".gguf" and candidate.is_file():
            gguf = candidate
        elif (candidate / "config.json").is_file() and model.gguf_file is None:
            local_dir = candidate
        elif candidate.is_dir():
            gguf, problem = _gguf_in(candidate, model.gguf_file)
            if gguf is None and not problem:
                problem = f"no config.json and no .gguf file in {json.dumps(model.base)}"
        else:
            problem = f"no model folder with a config.json (or .gguf file) at {json.dumps(model.base)}"
    else:
        ref = model.base
    config = read_local_config(local_dir) if local_dir else None
    chat_template: bool | None = local_chat_template(local_dir) if local_dir else None
    if gguf is not None:
        try:
            meta = read_metadata(gguf)
        except (OSError, GgufError) as exc:
            problem = f"cannot read the GGUF file {gguf.name}: {exc}"
        else:
            config = config_from_metadata(meta)
            chat_template = bool(meta.get("tokenizer.chat_template"))
    known = KNOWN_MODELS.get(ref.lower()) if model.source == "hub" else None
    family = None
    if config is not None:
        family = family_for_model_type(str(config.get("model_type", "")))
    if family is None and model.family:
        family = FAMILIES[model.family]
    if family is None and known is not None:
        family = FAMILIES[known.family]
    if known is not None and known.chat_template is not None:
        chat_template = known.chat_template
    return ModelInfo(model.source, ref, local_dir, config, family, known, problem, gguf, chat_template)
