"""The crisis screen that serving runs before, and independent of, the model: built-in patterns and the
crisis resources each locale gets. A flagged message always gets these resources and
`requires_human_attention: true`, also when the model fails."""

from __future__ import annotations

# Case-insensitive regular expressions. They err on the side of flagging: a false alarm costs a human a
# minute; a miss can cost a life.
BUILTIN_PATTERNS = [
    r"\bsuicid(e|al)\b",
    r"\bkill(ing)?\s+my\s*self\b",
    r"\bend(ing)?\s+(my\s+life|it\s+all|my\s+own\s+life)\b",
    r"\bend\s+it\s+(tonight|today|now|soon)\b",
    r"\btake\s+my\s+(own\s+)?life\b",
    r"\bwant(ed)?\s+to\s+die\b",
    r"\b(don'?t|do\s+not)\s+want\s+to\s+(live|be\s+alive|wake\s+up|exist)\b",
    r"\bbetter\s+off\s+(dead|without\s+me)\b",
    r"\bno\s+(reason|point)\s+(to|in)\s+(live|living|go\s+on|going\s+on)\b",
    r"\b(hurt|harm|cut)(ting)?\s+my\s*self\b",
    r"\bself[-\s]?harm",
    r"\bgoodbye\s+(letter|note)s?\b",
    r"\bwon'?t\s+be\s+(here|around)\s+(much\s+longer|anymore|tomorrow)\b",
    r"\bnot\s+be\s+here\s+(much\s+longer|anymore|tomorrow)\b",
    r"\bpainless\s+way\s+to\s+(die|go)\b",
]

RESOURCES = {
    "US": [
        "Call or text 988 (988 Suicide & Crisis Lifeline), any time, free.",
        "Text HOME to 741741 (Crisis Text Line).",
        "If you are in immediate danger, call 911.",
    ],
    "CA": [
        "Call or text 988 (9-8-8 Suicide Crisis Helpline), any time.",
        "If you are in immediate danger, call 911.",
    ],
    "GB": [
        "Call Samaritans on 116 123, free, any time.",
        "Text SHOUT to 85258 (Shout).",
        "If you are in immediate danger, call 999.",
    ],
    "AU": [
        "Call Lifeline on 13 11 14, any time.",
        "If you are in immediate danger, call 000.",
    ],
    "INTL": [
        "Find a free, confidential helpline in your country at findahelpline.com.",
        "If you are in immediate danger, call your local emergency number.",
    ],
}
