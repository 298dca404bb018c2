"""What a person flagged by the crisis screen receives: the crisis resources of each locale, the markers that
tell whether a reply names them, and the vetted replies written by the specc developers (a spec may write
its own, reviewed like the rest of it)."""

from __future__ import annotations

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

# What a person gets instead of a reply that failed the output filter or never came (the locale's
# resources are added below it).
FALLBACK_REPLY = (
    "I'm really sorry you're going through this, and I'm glad you reached out. You deserve support from a "
    "person right now. Please contact one of the services below; they are free, confidential and there "
    "for exactly this."
)

# What a flagged message gets by default instead of free generation (the locale's resources are added
# below it). Written for someone who may be in danger right now: it listens, says they matter, and points to
# people who can help; it asks one question and gives no advice a model could get wrong.
CRISIS_REPLY = (
    "Thank you for telling me. It sounds like you're carrying something really heavy right now, and you "
    "don't have to carry it alone. You matter, and people trained for exactly this are ready to listen, "
    "right now, for free. Please reach out to one of the services below, or to someone near you you trust. "
    "Are you safe at the moment?"
)
