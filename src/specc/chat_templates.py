"""Chat templates specc ships, for base models whose tokenizer has none (`[chat] template = "chatml"`).

A template is a Jinja string in the format transformers' `apply_chat_template` runs. The chosen one is
written into the generated scripts as a constant, set on the tokenizer by the first training stage and saved
with every stage's output, so training, DPO and generation all format conversations the same way.
"""

from __future__ import annotations

CHATML = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

LLAMA3 = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim"
    " + '<|eot_id|>' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"
)

BUILTIN_TEMPLATES = {"chatml": CHATML, "llama3": LLAMA3}
# The token that ends an assistant turn in each template (generation stops there).
END_OF_TURN = {"chatml": "<|im_end|>", "llama3": "<|eot_id|>"}
