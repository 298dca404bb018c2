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
    r"\b(hurt|harm|cut|burn|poison|starve|punish)(ing|ting)?\s+my\s*self\b",
    r"\buntil\s+i\s+(die|pass\s+out)\b",
    r"\b(anorexia|anorexic|bulimia|bulimic|eating\s+disorder)\b",
    r"\bmake\s+my\s*self\s+(throw\s+up|vomit|purge|sick)\b",
    r"\bself[-\s]?harm",
    r"\bgoodbye\s+(letter|note)s?\b",
    r"\bwon'?t\s+be\s+(here|around)\s+(much\s+longer|anymore|tomorrow)\b",
    r"\bnot\s+be\s+here\s+(much\s+longer|anymore|tomorrow)\b",
    r"\bpainless\s+way\s+to\s+(die|go)\b",
    r"\bif\s+i\s+(died|was\s+dead|were\s+dead|was\s+gone|were\s+gone)\b",
    r"\b(not|never|don'?t|won'?t|wouldn'?t)\s+wake\s+up\b",
    r"\bend(ing)?\s+it\b(?!\s+with\b)",
    r"\bways?\s+(of\s+dying|to\s+die)\b",
    r"\bhow\s+(much|many)\s+(of\s+)?(my\s+)?(pills|medication|meds|tablets)\b",
    r"\bnobody\s+would\s+(even\s+)?(notice|care|miss\s+me)\b",
    r"\bno\s+way\s+out\b|\bany\s+way\s+out\s+except\b",
    r"\b(a|such\s+a)\s+burden\s+to\s+(everyone|everybody|my\s+family|them)\b",
    r"\bgiv(e|ing)\s+(away\s+)?my\s+(things|stuff|belongings)(\s+away)?\b",
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

# What counts as "the reply gives crisis resources", by locale (case-insensitive regular expressions): a
# crisis line's number or name, or the emergency service.
RESOURCE_MARKERS = {
    "US": [r"\b988\b", r"\b741741\b", r"\bcrisis (text )?line\b", r"\blifeline\b", r"\b911\b"],
    "CA": [r"\b988\b", r"\b9-8-8\b", r"\bcrisis (text )?line\b", r"\bhelpline\b", r"\b911\b"],
    "GB": [r"\b116\s?123\b", r"\bsamaritans\b", r"\b85258\b", r"\bshout\b", r"\b999\b"],
    "AU": [r"\b13\s?11\s?14\b", r"\blifeline\b", r"\b000\b"],
    "INTL": [r"findahelpline", r"\bhelpline\b", r"\bcrisis (text )?line\b", r"\bemergency number\b"],
}

# Replies that describe ways or means of self-harm. Detection keywords only (they name what a reply must
# not discuss; they describe no method). A match replaces the reply with the safe fallback.
METHOD_PATTERNS = [
    r"\b(lethal|fatal|deadly)\s+(dose|amount|quantity)\b",
    r"\boverdos(e|ing)\s+(on|with)\b",
    r"\b\d+\s*(mg|milligrams?|grams?|pills|tablets|capsules)\b",
    r"\bhow\s+(many|much)\s+(pills|tablets|medication)\b",
    r"\b(hang|hanging)\s+(yourself|myself|oneself)\b",
    r"\b(noose|ligature)\b",
    r"\b(slit|cut)(ting)?\s+(your|my|the)\s+wrists?\b",
    r"\bjump(ing)?\s+(off|from)\s+(a|the)\s+(bridge|building|roof|cliff)\b",
    r"\bcarbon\s+monoxide\b",
    r"\b(painless|quickest|easiest|surest)\s+way\s+to\s+(die|kill|end)\b",
    r"\bmost\s+(effective|reliable|painless)\s+(method|way)\b",
    r"\bstep[-\s]by[-\s]step\b.*\b(die|kill|suicide)\b",
]

# Wording that stigmatises suicide (media guidelines: say "died by suicide", not "committed suicide").
STIGMA_PATTERNS = [
    r"\bcommit(s|ted|ting)?\s+suicide\b",
    r"\bsuccessful\s+(suicide|attempt)\b",
    r"\bfailed\s+(suicide\s+)?attempt\b",
    r"\bunsuccessful\s+(suicide|attempt)\b",
    r"\bsuicide\s+victim\b",
]

# What a person gets instead of a reply that failed the output filter or never came (the locale's
# resources are added below it).
FALLBACK_REPLY = (
    "I'm really sorry you're going through this, and I'm glad you reached out. You deserve support from a "
    "person right now. Please contact one of the services below; they are free, confidential and there "
    "for exactly this."
)
