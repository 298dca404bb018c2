"""specc: a declarative model-spec compiler.

The spec classes double as the Python DSL: a module that defines `spec = Spec(...)` is a spec.
"""

__version__ = "0.1.0"

from .spec import (
    Data,
    Evaluation,
    Lora,
    Model,
    Quantization,
    SftStage,
    Spec,
    SpecInfo,
)

__all__ = ["Data", "Evaluation", "Lora", "Model", "Quantization", "SftStage", "Spec", "SpecInfo", "__version__"]
