"""specc's benchmark suite (benchmarks, not tests): `python -m bench` writes BENCHMARKS.md.

Rows, each runnable alone:
- `python -m bench check` (`bench/check_latency.py`): `specc check` / `specc build` wall time against
  `python -c "import pydantic"` and `python -c "import torch, transformers"`;
- `python -m bench train` (`bench/train_throughput.py`): the generated train.py against the seed guide's
  recipe (`bench/seed_recipe.py`) on a slice of the real data: train samples/s and validation F1.
"""
