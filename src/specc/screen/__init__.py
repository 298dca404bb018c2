"""The crisis screen's content: what specc ships for the screen every people-facing script runs.

- `normalize`: the tables normalisation applies first (slang, misspellings, leet, look-alike letters).
- `patterns`: the pattern layer (first-person risk, not the topic) and the reply checks' patterns.
- `resources`: crisis resources by locale, their markers, and the vetted replies.
- `corpus`: the screen corpus the semantic layer is fitted on (files under `corpus/`), read and summarised.

The code that applies all of this is generated (templates/common/screen.py.j2 becomes
generated/<spec>/screen.py), so that the generated scripts never import specc.
"""
