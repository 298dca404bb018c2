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


def package_model_dir(package: str) -> Path | None:
    """The model folder inside an installed package (`<pkg>/model/` or the package folder itself)."""
    try:
        found = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if found is None or not found.submodule_search_locations:
        return None
    for location in found.submodule_search_locations:
        pkg_dir = Path(location)
        for candidate in (pkg_dir / "model", pkg_dir):
            if (candidate / "config.json").is_file():
                return candidate
    return None


def locate_model(model: Model, root: Path) -> ModelInfo:
    """Resolve `model.base` against the project root and the installed packages."""
    problem = ""
    local_dir: Path | None = None
    if model.source == "package":
        ref = model.base[len("package:"):]
        local_dir = package_model_dir(ref)
        if local_dir is None:
            problem = (f"the Python package {json.dumps(ref)} is not installed or holds no model "
                       f"(a folder with config.json)")
    elif model.source == "path":
        ref = model.base
        candidate = (root / Path(model.base).expanduser())
        if (candidate / "config.json").is_file():
            local_dir = candidate
        else:
            problem = f"no model folder with a config.json at {json.dumps(model.base)}"
    else:
        ref = model.base
    config = read_local_config(local_dir) if local_dir else None
    known = KNOWN_MODELS.get(ref.lower()) if model.source == "hub" else None
    family = None
    if config is not None:
        family = family_for_model_type(str(config.get("model_type", "")))
    if family is None and model.family:
        family = FAMILIES[model.family]
    if family is None and known is not None:
        family = FAMILIES[known.family]
    return ModelInfo(model.source, ref, local_dir, config, family, known, problem)
