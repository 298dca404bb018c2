"""specc: a declarative model-spec compiler.

The spec classes double as the Python DSL: a module that defines `spec = Spec(...)` is a spec.
"""

__version__ = "0.1.0"

from .spec import (
    Card,
    Compute,
    Data,
    DpoStage,
    Evaluation,
    Gate,
    Lora,
    Model,
    Quantization,
    Safety,
    SafetyCase,
    SearchSpace,
    Serving,
    SftStage,
    Spec,
    SpecInfo,
    Threshold,
    Tracking,
    Tuning,
)

__all__ = [
    "Card", "Data", "Evaluation", "Gate", "Lora", "Model", "Quantization", "Safety", "SafetyCase", "Serving", "SftStage",
    "Spec", "SpecInfo", "Threshold", "__version__", "Compute", "DpoStage", "SearchSpace", "Tracking", "Tuning",
]
