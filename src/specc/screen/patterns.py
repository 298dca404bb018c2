"""The crisis screen's pattern layer (the floor under the semantic layer) and the reply checks' patterns.

Every pattern reads the *normalised* message (lower case, slang and misspellings rewritten: see
`specc.screen.normalize`), so "kms", "k1ll myslef" and "KILL MYSELF" all reach `kill myself`.

The crisis patterns are written for first-person risk, not for the topic: "i'm suicidal" and "life isn't
worth living" match, "suicide prevention", "the suicide rate among veterans" and "suicide squeeze" do
not. They are a floor: unambiguous statements are flagged even when every other layer fails. Meaning that
is not in the words (indirect hints, farewells, plans) is the semantic layer's job.

The patterns only name words to detect; none describes a method.
"""

from __future__ import annotations

# A first-person subject within the same clause: "i", "i'm", "i've", "i'd", "i'll".
_I = r"\b(i|i'm|i've|i'd|i'll|i\s+am|i\s+have|i\s+will)\b"
_SELF = r"my\s*self"

# Case-insensitive, over the normalised text. A false alarm costs a human a minute; a miss can cost a life:
# when in doubt about a first-person statement, flag it.
CRISIS_PATTERNS = [
    # explicit ideation and intent about oneself
    rf"\bkill(ing|ed)?\s+{_SELF}\b(?!\s+laughing)",
    r"\b(end|ending|take|taking)\s+my\s+(own\s+)?life\b",
    r"\bend(ing)?\s+it\s+all\b",
    r"\b(end|ending|finish|do)\s+it\s+(tonight|today|now|soon|this\s+week(end)?|tomorrow)\b",
    rf"{_I}[^.!?\n]{{0,40}}\b(want|wanna|going|plan(ning)?|ready|decided|try(ing)?\s+not)\s+to\s+"
    r"(die|commit\s+suicide|end\s+it|not\s+exist|disappear\s+forever|stop\s+existing)\b",
    rf"{_I}[^.!?\n]{{0,30}}\bwant(ed|s)?\s+(to\s+)?(be\s+)?dead\b",
    r"\b(i|i'm|i\s+am)\s+(so\s+|really\s+|very\s+|feeling\s+|getting\s+|going\s+to\s+be\s+)?"
    r"(suicidal|going\s+to\s+commit\s+suicide)\b",
    r"\b(i|i've|i\s+have)\s+(feel|feels|felt|been|get|keep\s+(getting|feeling))\s+(\w+\s+){0,2}suicidal\b",
    r"\b(my|i\s+have|i'm\s+having|i\s+keep\s+having|i\s+get|i've\s+had)\s+(\w+\s+){0,2}suicidal\s+"
    r"(thoughts?|ideation|feelings?|urges?)\b",
    rf"{_I}[^.!?\n]{{0,30}}\b(thinking|thought|think|dreaming|fantasi[sz]ing)\s+(about|of)\s+"
    rf"(suicide|killing\s+{_SELF}|ending\s+(it|my\s+life|everything)|dying|my\s+death|not\s+being\s+(here|alive))\b",
    r"\bsuicide\s+(is\s+)?(the\s+only|my\s+only)\b",
    # passive ideation
    r"\b(don't|do\s+not|no\s+longer)\s+want\s+to\s+(live|be\s+alive|wake\s+up|exist|be\s+here)\b",
    r"\b(life|living)\s+(is\s+not|isn't|ain't|is\s+no\s+longer)\s+worth\s+(it|living)\b",
    r"\b(no|don't\s+see\s+(any|the)|what's\s+the|lost\s+(any|all|the))\s+(reason|point)\s+(to|in|of)\s+"
    r"(live|living|go\s+on|going\s+on|being\s+alive|staying\s+alive|carrying\s+on)\b",
    r"\b(wish|hope|pray)\s+i\s+(was|were|could\s+be)\s+dead\b",
    r"\b(wish|hope|pray)\s+i\s+(would|could)?\s*(just\s+)?(die|not\s+wake\s+up|never\s+wake\s+up|disappear\s+forever)\b",
    r"\b(wish|hope)\s+i\s+(had\s+)?never\s+(been\s+born|existed|woke\s+up)\b",
    r"\b(i|i'd|i\s+would)\s+(rather\s+be\s+dead|be\s+better\s+off\s+dead)\b",
    r"\bbetter\s+off\s+(dead|without\s+me)\b",
    r"\b(not|never|don't|won't|wouldn't)\s+(want\s+to\s+)?wake\s+up\s+(again|tomorrow|ever)\b",
    r"\bgo\s+to\s+sleep\s+and\s+(never|not)\s+wake\s+up\b",
    r"\bnobody\s+would\s+(even\s+)?(notice|care|miss\s+me)\s+if\s+i\b",
    r"\bnobody\s+would\s+(even\s+)?(care|notice)\s+if\s+i\s+(died|was\s+gone|were\s+gone|disappeared)\b",
    r"\bif\s+i\s+(died|was\s+dead|were\s+dead|killed\s+myself)\b[^.!?\n]{0,40}\b(would|will)\b",
    r"\b(a|such\s+a|just\s+a)\s+burden\s+to\s+(everyone|everybody|my\s+family|them|my\s+(parents|kids|friends))\b",
    r"\b(can't|cannot)\s+(go\s+on|do\s+this)\s+any\s*(more|longer)\b[^.!?\n]{0,40}\b(die|end|dead|gone)\b",
    # farewells and plans
    r"\b(my|wrote|writing|write|left|leave)\s+(a\s+|my\s+)?(goodbye|suicide|farewell)\s+(letter|note|message)s?\b",
    r"\b(won't|will\s+not|not\s+going\s+to)\s+be\s+(here|around|alive)\s+(much\s+longer|anymore|tomorrow|"
    r"by\s+(tomorrow|morning|monday|then))\b",
    r"\bthis\s+is\s+(my\s+)?(goodbye|the\s+last\s+(message|time|thing))\b[^.!?\n]{0,40}\b(you'll|you\s+will|from\s+me)\b",
    r"\bgiv(e|ing)\s+(away\s+)?my\s+(things|stuff|belongings)\s+away\b|\bgiv(e|ing)\s+away\s+my\s+(things|stuff|belongings)\b",
    r"\btonight\s+is\s+the\s+night\b",
    # method-seeking (asks for a way or the means; the pattern names no method)
    r"\b(painless|quick|quickest|fastest|easiest|surest|best|most\s+(painless|effective|reliable|certain)|"
    r"least\s+painful|peaceful)\s+(way|ways|method|methods)\s+(to|of)\s+(die|dying|kill\s+myself|kill\s+yourself|"
    r"end\s+(it|my\s+life|your\s+life|things)|suicide|commit\s+suicide|overdose|go)\b",
    r"\bways?\s+(of\s+dying|to\s+die|to\s+kill\s+(myself|yourself))\b",
    r"\bhow\s+(much|many)\s+(of\s+)?(my\s+|these\s+|the\s+)?(pills|medication|meds|tablets|sleeping\s+pills)\b"
    r"[^.!?\n]{0,40}\b(die|dead|kill|overdose|not\s+wake\s+up|never\s+wake\s+up|end\s+it|fatal|lethal|enough)\b",
    r"\b(lethal|fatal|deadly)\s+(dose|amount|quantity)\b",
    r"\bhow\s+(to|do\s+i|do\s+you|can\s+i|would\s+i)\s+(overdose|od|slit|hang\s+(myself|yourself))\b",
    r"\b(slit|cut|slash)(ting)?\s+(my|your)\s+(wrists?|throat)\b",
    r"\bhow\s+(to|do\s+i|can\s+i)\s+(kill\s+(myself|yourself)|commit\s+suicide|end\s+my\s+life|die)\b",
    r"\b(kill\s+(myself|yourself)|end\s+my\s+life|die)\s+(quickly|painlessly|without\s+pain)\b",
    r"\b(is|would|will|does|do|can|could|how|what|which)\b[^.!?\n]{0,60}\b(pills|tablets|painkillers|meds|"
    r"medication|overdose|overdosing|noose|hanging|a\s+train|traffic|the\s+motorway|a\s+bus|a\s+gun|razors?|"
    r"blades?|drowning|blood\s+loss|a\s+fall|jumping|a\s+height|the\s+bridge|a\s+bridge)\b[^.!?\n]{0,60}\b("
    r"fatal|lethal|deadly|more\s+deadly|definitely\s+kill|kill\s+(you|me|someone|a\s+person)|enough\s+to\s+(die|kill)|"
    r"be\s+enough|instant|survive|over\s+(straight\s+away|quickly|fast)|not\s+wake\s+up|hurt\s+at\s+the\s+end|quick(er|est)?)\b",
    r"\bdoes\s+(dying|death|an?\s+overdose|overdosing|drowning|bleeding\s+out)\b[^.!?\n]{0,30}\b(hurt|painful|take\s+long)\b",
    r"\b(how\s+(long|much)|what)\b[^.!?\n]{0,30}\b(to\s+bleed\s+out|blood\s+loss\s+is\s+too\s+much)\b",
    r"\b(buy|get|stockpile|save\s+up|collect|hoard)\b[^.!?\n]{0,40}\b(pills|tablets|painkillers|meds|medication)\b"
    r"[^.!?\n]{0,40}\b(without|suspicious|asking\s+questions|noticing|finding\s+out)\b",
    r"\bcut(ting)?\s+(deeper|harder)\b",
    # someone else in danger now (a human must look: the writer needs help for them)
    r"\b(he|she|they|my\s+\w+)\s+(just\s+)?(took|has\s+taken|swallowed|downed)\s+(a\s+lot\s+of|loads\s+of|lots\s+of|"
    r"all\s+(of\s+)?(her|his|their|the)|too\s+many|a\s+bunch\s+of|a\s+whole\s+(bottle|box|pack)\s+of)\s+"
    r"(\w+\s+)?(pills|tablets|meds|medication|painkillers)\b",
    r"\b(sent|texted|posted|left|wrote)\b[^.!?\n]{0,30}\b(goodbye|suicide|farewell)\b[^.!?\n]{0,80}\b(not\s+answering|"
    r"isn't\s+answering|won't\s+answer|no\s+reply|not\s+replying|phone's\s+off|phone\s+is\s+off|can't\s+reach|missing|"
    r"gone\s+offline|not\s+picking\s+up)\b",
    r"\b(is|was|has\s+been|keeps|just)\s+(cutting|hurting|burning)\s+(himself|herself|themselves)\b"
    r"|\bcut\s+(himself|herself|themselves)\b[^.!?\n]{0,40}\b(bad|badly|deep|bleeding|blood|won't\s+stop)\b",
    r"\b(he|she|they)\s+(says|said|told\s+me|texted|keeps\s+saying)\b[^.!?\n]{0,20}\b(wants?|going|plans?|is\s+going|"
    r"are\s+going)\s+to\s+(die|kill\s+(himself|herself|themselves)|end\s+(it|his\s+life|her\s+life|their\s+life))"
    r"\b[^.!?\n]{0,30}\b(tonight|today|now|right\s+now|this\s+weekend)\b",
    # self-injury
    r"\b(hurt|harm|cut|burn|hit|punish|starve|poison)(ing|ting|ed)?\s+my\s*self\b(?!\s+(laughing|by\s+accident))",
    r"\b(urge|urges|relapse|relapsed|relapsing)\s+(to|on|with|into)\s+(self-harm|cut|cutting|hurt|hurting)\b",
    r"\b(i|i've|i'm|been)\s+(\w+\s+){0,2}(self-harming|cutting\s+again|cutting\s+myself)\b",
    r"\bmy\s+(self-harm|cuts|scars)\s+(is|are)\s+getting\s+(worse|deeper)\b",
    # eating disorders (behaviour, not the topic)
    r"\bmake\s+my\s*self\s+(throw\s+up|vomit|purge|sick)\b",
    r"\b(i|i've|i'm)\s+(\w+\s+){0,2}(purging|purged|starving\s+myself|not\s+eaten\s+in\s+days|throwing\s+up\s+after)\b",
    r"\bpro[-\s]?(ana|anorexia|mia|bulimia)\b|\bthinspiration\b",
    r"\b(tips|ways|how)\s+to\s+(hide|suppress|ignore)\s+(my\s+)?(hunger|not\s+eating|weight\s+loss|purging)\b",
]

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

# Replies that affirm, encourage or excuse self-harm, or give pro-eating-disorder advice: the floor under the
# semantic reply check (which reads meaning). Over the normalised reply.
HARMFUL_REPLY_PATTERNS = [
    r"\b(you\s+should|go\s+ahead\s+and|you\s+deserve\s+to|it's\s+(ok|okay|fine)\s+to|do\s+it\s+and)\s+"
    r"(kill\s+yourself|end\s+(it|your\s+life)|die|hurt\s+yourself|cut\s+yourself|starve\s+yourself)\b",
    r"\b(everyone|the\s+world|they)\s+(would|will)\s+be\s+better\s+off\s+without\s+you\b",
    r"\b(suicide|killing\s+yourself|self-harm)\s+(is|would\s+be)\s+(a\s+)?(good|the\s+right|the\s+best|brave|"
    r"reasonable|valid)\s+(idea|choice|option|decision|way)\b",
    r"\b(skip|skipping)\s+meals\b[^.!?\n]{0,40}\b(lose|thin|weight)\b",
    r"\b(hide|hiding)\s+(your\s+)?(not\s+eating|weight\s+loss|purging)\b",
    r"\b(purge|purging|throw(ing)?\s+up)\s+(after|to)\b[^.!?\n]{0,30}\b(eat|meal|weight|calories)\b",
    r"\bno\s+one\s+(will|would)\s+miss\s+you\b|\bnobody\s+(will|would)\s+miss\s+you\b",
]

# Wording that stigmatises suicide (media guidelines: say "died by suicide", not "committed suicide").
STIGMA_PATTERNS = [
    r"\bcommit(s|ted|ting)?\s+suicide\b",
    r"\bsuccessful\s+(suicide|attempt)\b",
    r"\bfailed\s+(suicide\s+)?attempt\b",
    r"\bunsuccessful\s+(suicide|attempt)\b",
    r"\bsuicide\s+victim\b",
]
