#!/usr/bin/env python3
"""Generate the synthetic DEMO dataset used by the specc quickstart and tests.

Every post is written from templates + phrase lists in this file; nothing is
copied from a real dataset. The output is fully deterministic: re-running this
script rewrites byte-identical CSVs (fixed seed, stdlib only, no set ordering).

Usage:
    python specs/data/quickstart/make_demo_data.py

Writes train.csv, validation.csv and test.csv next to this file with the
columns ``id,text,class`` where ``class`` is ``suicide`` or ``non-suicide``.

Content policy (enforced by ``check_safe`` below): no method details, no means,
no plans with specifics, no instructions, no stigmatizing phrasing.
"""

from __future__ import annotations

import csv
import itertools
import os
import random
import re

SEED = 20240517
OUT_DIR = os.path.dirname(os.path.abspath(__file__))
MIN_LEN, MAX_LEN = 40, 250

# Number of rows per (category, split). Each split is ~50% suicide.
SPLIT_NAMES = ("train", "validation", "test")
PLAN = {
    #                     train val test
    "suicide_direct":   (112, 28, 28),
    "suicide_indirect":  (48, 12, 12),
    "neg_everyday":     (104, 26, 26),
    "neg_lookalike":     (56, 14, 14),
}
LABEL = {
    "suicide_direct": "suicide",
    "suicide_indirect": "suicide",
    "neg_everyday": "non-suicide",
    "neg_lookalike": "non-suicide",
}

# Words/phrases that must never appear (method details, means, stigmatizing
# phrasing). Checked as whole-word-ish regexes on the lower-cased text.
BANNED = re.compile(
    r"\b(pills?|rope|ropes|guns?|overdos\w*|jump\w*|bridges?|"
    r"commit(?:s|ted|ting)? suicide|hang\w*|knife|knives|razor\w*|blade\w*|"
    r"poison\w*|shoot\w*|shot|bleach|noose|cut|cuts|cutting|slit\w*|"
    r"drown\w*|suffocat\w*|carbon monoxide|dose|lethal|tracks|cliff\w*|"
    r"rooftop|ledge|wrists?|method\w*|how to die)\b"
)


def join(opener: str, core: str) -> str:
    """Concatenate an opener and a core, fixing the core's capitalisation."""
    if not opener:
        return core
    if opener.endswith((". ", ": ", "? ", "! ")):
        return opener + core
    if core.startswith(("I ", "I'")):
        return opener + core
    return opener + core[0].lower() + core[1:]


def product(template, *lists):
    return [template.format(*combo).strip() for combo in itertools.product(*lists)]


# --------------------------------------------------------------------------
# suicide: direct first-person hopelessness / wanting to die
# --------------------------------------------------------------------------
DIRECT_OPENERS = [
    "",
    "Honestly, ",
    "I don't know who else to tell, but ",
    "It's 3am and ",
    "I can't say this to anyone I know, so here it is. ",
    "Not sure why I'm even posting this, but ",
    "I've been pretending to be fine, but ",
    "Every single day ",
    "Lately ",
    "I'm just going to say it. ",
    "Another night of no sleep and ",
    "Failed another exam today and ",
    "Since the breakup ",
    "My parents were fighting again and ",
    "Sat alone at lunch again. ",
    "Got home from school and ",
]
DIRECT_CORES = [
    "I don't want to be alive anymore.",
    "I just want to die.",
    "I don't want to wake up tomorrow.",
    "I keep hoping I just won't wake up.",
    "I can't see any reason to keep living.",
    "I've been thinking about ending my life.",
    "I'm so tired of being alive.",
    "I want to disappear and never come back.",
    "I feel like there's no point in me existing.",
    "I don't think I can keep going much longer.",
    "I wish I had never been born.",
    "I want everything to stop, permanently.",
    "I think about dying every day now.",
    "I've stopped caring whether I live or not.",
    "I'm ready to give up on life.",
    "I don't see a future for myself at all.",
    "I want my life to be over.",
    # Explicit wording: real posts name it, and a model that never saw the word flags only euphemisms.
    "I keep thinking about suicide.",
    "I want to kill myself.",
    "Suicide feels like the only way out now.",
    "I've decided I'm going to end my life.",
    "I'm planning to kill myself soon.",
    "I've been having suicidal thoughts all week.",
    "Is there a painless way out? I'm asking for me.",
    "I need a way to end it that actually works.",
    # Method-seeking questions, with no method named: a classifier must flag the asking itself.
    "What's the quickest way to end things? I'm serious.",
    "Which way would hurt the least? Asking for myself.",
    "How do people go through with it? I want to know for me.",
    "What would I need so that I don't wake up?",
    "How much would it take to make sure it works this time?",
]
DIRECT_TAILS = [
    "",
    " Nothing is ever going to get better.",
    " I'm just so tired.",
    " I've felt like this for months.",
    " Nobody would even notice.",
    " Sorry for dumping this here.",
    " I can't do this anymore.",
    " Everything feels heavy and empty.",
    " I'm done trying.",
    " No one understands and I'm tired of explaining.",
    " The hopelessness never goes away.",
]


def suicide_direct():
    return [
        [join(o, c) + t for o, c, t in itertools.product(DIRECT_OPENERS, DIRECT_CORES, DIRECT_TAILS)]
    ]


# --------------------------------------------------------------------------
# suicide: indirect / harder positives (burden, giving things away, goodbyes)
# --------------------------------------------------------------------------
INDIRECT_OPENERS = [
    "",
    "I've been thinking a lot. ",
    "It's weird, but ",
    "I don't really know how to say this. ",
    "For what it's worth, ",
    "I just wanted to say that ",
    "I've realized something. ",
    "Please don't be mad, but ",
]
INDIRECT_CORES = [
    "Everyone would be better off without me.",
    "I've been giving my things away to friends.",
    "I've started saying goodbye to people without them knowing.",
    "My family would honestly be happier if I wasn't around.",
    "I won't be a problem for anyone much longer.",
    "I just want the pain to stop for good.",
    "I've made my peace with it and I feel weirdly calm now.",
    "I'm tired of being a burden to everyone I love.",
    "I don't see myself being here next year.",
    "This is probably my last post here.",
    "Soon none of this will matter to me anymore.",
    "I keep thinking how peaceful it would be to just not exist.",
    "If I disappeared tomorrow, no one would miss me.",
    "I've been writing goodbye messages to the people I care about.",
    "I'm only a weight dragging everyone down.",
]
INDIRECT_TAILS = [
    "",
    " Please take care of my cat.",
    " I'm not even sad about it anymore.",
    " It's fine, really.",
    " Tell my sister I love her.",
    " I've thought about it a lot.",
    " I just wanted someone to know.",
    " Thanks for everything.",
]


def suicide_indirect():
    return [
        [join(o, c) + t for o, c, t in itertools.product(INDIRECT_OPENERS, INDIRECT_CORES, INDIRECT_TAILS)],
        product(
            "{}. {}",
            ["Everyone at school is talking about summer plans",
             "My friends invited me to a concert next month",
             "Mom asked what I want for my birthday",
             "My teacher asked about my plans for college",
             "Got my report card today"],
            ["I didn't tell them I won't be here for it.",
             "I just smiled, because I don't plan on being around by then.",
             "It doesn't matter, I won't be around to see it.",
             "I don't need anything anymore, I'm almost done here."],
        ),
    ]


# --------------------------------------------------------------------------
# non-suicide: everyday teen / young-adult posts
# --------------------------------------------------------------------------
def neg_everyday():
    return [
        product(
            "Just finished {} and {}",
            ["Elden Ring", "the new Zelda", "Hollow Knight", "Stardew Valley",
             "Minecraft hardcore mode", "Hades", "Celeste", "Portal 2"],
            ["I need a sequel right now.", "honestly the ending got me.",
             "I'm already starting a second run.", "now I need something new to play.",
             "my sleep schedule is ruined."],
        ),
        product(
            "Anyone else {}?{}",
            ["have a chemistry test on Friday", "think group projects are the worst",
             "forget their locker combination every Monday",
             "have a teacher who assigns homework over break",
             "get way too nervous before class presentations",
             "still not know what they want to major in"],
            ["", " Asking for me.", " Would love some tips.", " Feels like it's just me.",
             " Please tell me I'm not alone lol."],
        ),
        product(
            "My {} and I {} {}, {}",
            ["best friend", "brother", "roommate", "cousin", "lab partner"],
            ["went to a concert", "made homemade pizza", "tried a new ramen place",
             "went hiking", "binge-watched a whole season of a show"],
            ["yesterday", "last weekend", "tonight"],
            ["10/10 would do again.", "it was so much fun.", "best day in a while.",
             "we're already planning the next one."],
        ),
        product(
            "Can someone recommend {}? {}",
            ["a good album for studying", "an easy beginner guitar song",
             "a cheap pair of running shoes", "a show like Stranger Things",
             "a fantasy book series", "a chill co-op game for two people"],
            ["Everything I find is mid.", "I'm open to anything.", "Thanks in advance!",
             "My usual stuff is getting boring."],
        ),
        product(
            "We won our {} game {}! {}",
            ["soccer", "basketball", "volleyball", "hockey", "water polo"],
            ["3-1", "by two points", "in overtime", "against our rivals"],
            ["Coach bought everyone pizza.", "I actually scored for once.",
             "Still can't believe it.", "The bus ride home was so loud."],
        ),
        product(
            "So bored {}. {}",
            ["in my last class of the day", "at my part-time job",
             "on this rainy Sunday", "waiting for my flight", "at my cousin's wedding"],
            ["Someone give me something to do.", "Entertain me, internet.",
             "What are you all up to?", "Recommend me a podcast please."],
        ),
        product(
            "Tried making {} for the first time and {}",
            ["banana bread", "fried rice", "homemade pasta", "pancakes from scratch",
             "sushi rolls", "chocolate chip cookies"],
            ["it actually turned out great.", "my kitchen is a disaster now.",
             "my family ate all of it in ten minutes.", "it was edible, which is a win."],
        ),
        product(
            "Got tickets to see {} in {}! {}",
            ["my favorite band", "Olivia Rodrigo", "a local indie band", "Tyler, the Creator"],
            ["March", "the summer", "two weeks"],
            ["I've been waiting years for this.", "Already planning my outfit.",
             "My friends and I are so hyped."],
        ),
        product(
            "Finally {} {}",
            ["passed my driving test", "got my first paycheck", "beat my personal best in the mile",
             "finished knitting my first scarf", "learned to play a whole song on piano"],
            ["and I'm so proud of myself.", "after months of trying.", "and nobody can stop me now.",
             "lol small wins count."],
        ),
    ]


# --------------------------------------------------------------------------
# non-suicide: hard look-alike negatives
#   hyperbole, sadness without risk, helping others
# --------------------------------------------------------------------------
def neg_lookalike():
    return [
        # everyday hyperbole
        product(
            "This {} is killing me{}",
            ["calculus homework", "heat wave", "history essay", "group chat drama",
             "slow wifi", "new practice schedule", "boss level"],
            [" lol.", ", send help.", " fr.", ". Someone make it stop.",
             ". I've been dealing with it for three hours."],
        ),
        product(
            "I'm actually dead {} {}",
            ["lol,", "😂", "💀"],
            ["that cat video is the funniest thing ever.",
             "my friend's impression of our math teacher.",
             "the meme you sent in the group chat.",
             "the way my dog looked at me when I sneezed.",
             "my little brother trying to rap."],
        ),
        product(
            "I literally wanted to die when {}. {}",
            ["I waved back at someone who was waving at the person behind me",
             "my mom showed my friends my baby pictures",
             "I called my teacher 'mom' in front of the whole class",
             "my voice cracked during my presentation",
             "I tripped walking into the cafeteria"],
            ["Never leaving my room again lol.", "Why am I like this.",
             "Everyone laughed, including me eventually."],
        ),
        product(
            "My {} is going to kill me when {} {}",
            ["sister", "mom", "roommate", "coach"],
            ["she finds out I borrowed her hoodie.", "she sees my report card.",
             "she notices I ate the last slice of cake."],
            ["Pray for me lol.", "Worth it though.", "Not my fault, mostly."],
        ),
        product(
            "{} {}",
            ["Three essays due tomorrow and I haven't started.",
             "Lost to the same boss forty times in a row.",
             "Practice ran two hours late again.",
             "My phone died in the middle of my ranked match.",
             "The group project partner ghosted us again."],
            ["I can't do this anymore lol.", "I'm done trying, honestly.",
             "I'm just so tired.", "Someone end my suffering 😭"],
        ),
        product(
            "It's 3am and {} {}",
            ["I'm still playing Minecraft.", "I'm still up finishing my lab report.",
             "my roommate is practicing drums.", "I'm rewatching old vines."],
            ["Tomorrow me is going to hate this.", "No regrets.", "Send snacks."],
        ),
        product(
            "I want to disappear after {}. {}",
            ["sending that text to the wrong group chat",
             "singing way too loud with my headphones on in the library",
             "forgetting my lines in the school play"],
            ["Moving to another country lol.", "Everyone is never letting me live this down.",
             "At least it'll be a funny story someday."],
        ),
        product(
            "{} {}",
            ["Giving away my old clothes before I move for college, anyone want a hoodie?",
             "Saying goodbye to my friends before the move is so hard.",
             "Goodbye forever, summer break. School starts tomorrow.",
             "I don't want to wake up tomorrow, I have a 6am shift lol.",
             "My phone died and I'm completely lost without it.",
             "Nobody would even notice if I skipped gym class, right?",
             "I'd honestly die for the ramen at this place."],
            ["", "Anyway, what's everyone doing this weekend?", "Life goes on I guess.", "😅"],
        ),
        # sadness / stress without risk
        product(
            "My {} broke up with me {} and I'm really sad, but {}.",
            ["girlfriend", "boyfriend", "partner"],
            ["last week", "over text", "after two years"],
            ["my friends have been amazing", "I know I'll be okay eventually",
             "I'm trying to keep busy with the gym", "I'm letting myself cry and that helps"],
        ),
        product(
            "So stressed about {} I can barely sleep. {}",
            ["finals", "the SAT", "my driving test", "college applications", "my recital"],
            ["Studying with friends tonight, wish me luck.", "Any tips for staying calm?",
             "I'll be so relieved when it's over.", "At least it's almost done."],
        ),
        product(
            "I miss {} so much {}. {}",
            ["my grandma", "my old dog", "my best friend who moved away", "my hometown"],
            ["today", "lately", "around the holidays"],
            ["Looking at old photos helps a little.", "Grateful for the time we had.",
             "Going to call my mom and talk about it.", "Some days are harder than others."],
        ),
        product(
            "Feeling kind of down today because {}. {}",
            ["I didn't make the team", "my friends made plans without me",
             "I got a bad grade on a test I studied for", "it's been raining all week"],
            ["Going to watch comfort movies and reset.", "Tomorrow will be better.",
             "Talked to my dad about it and feel a bit better."],
        ),
        # helping others / help-seeking about someone else
        product(
            "How do I support a friend who {}? {}",
            ["is going through a really hard time", "has been really depressed lately",
             "told me they feel hopeless", "just lost their parent",
             "keeps saying they feel like a burden"],
            ["I want to help but I don't know what to say.", "Should I tell a trusted adult?",
             "Any advice is appreciated.", "I just want them to know I'm here."],
        ),
        product(
            "My {} told me {} been having really dark thoughts. {} Did I do the right thing?",
            ["best friend", "little brother", "teammate"],
            ["they've"],
            ["I stayed with them and we called a crisis line together.",
             "I helped them talk to the school counselor.",
             "I listened and told their parents, like they asked me to."],
        ),
        product(
            "{} {}",
            ["A year ago I was in a really dark place, and I'm doing so much better now.",
             "Therapy has honestly changed my life this year.",
             "I used to feel hopeless all the time, but things did get better."],
            ["If you're struggling, please talk to someone.",
             "Talking to a counselor helped me a lot.",
             "Your friends probably care more than you think."],
        ),
    ]


CATEGORIES = {
    "suicide_direct": suicide_direct,
    "suicide_indirect": suicide_indirect,
    "neg_everyday": neg_everyday,
    "neg_lookalike": neg_lookalike,
}


def check_safe(text: str) -> None:
    if BANNED.search(text.lower()):
        raise ValueError(f"banned term in demo text: {text!r}")


def sample_category(rng: random.Random, templates, n: int) -> list[str]:
    """Pick n distinct texts, round-robin over templates for variety."""
    pools = []
    for cands in templates:
        seen = {}
        for t in cands:
            if MIN_LEN <= len(t) <= MAX_LEN:
                seen.setdefault(t, None)
        pool = list(seen)
        rng.shuffle(pool)
        pools.append(pool)
    out, seen = [], {}
    while len(out) < n:
        progressed = False
        for pool in pools:
            while pool:
                t = pool.pop()
                if t not in seen:
                    seen[t] = None
                    out.append(t)
                    progressed = True
                    break
            if len(out) == n:
                break
        if not progressed:
            raise RuntimeError(f"not enough distinct texts (wanted {n}, got {len(out)})")
    return out


def build():
    rng = random.Random(SEED)
    splits = {name: [] for name in SPLIT_NAMES}
    owner = {}  # text -> category, to guarantee no duplicates across categories/splits
    for cat, make in CATEGORIES.items():
        counts = PLAN[cat]
        texts = sample_category(rng, make(), sum(counts))
        for t in texts:
            check_safe(t)
            if t in owner:
                raise ValueError(f"duplicate text across categories: {t!r}")
            owner[t] = cat
        start = 0
        for name, k in zip(SPLIT_NAMES, counts):
            splits[name].extend((t, LABEL[cat]) for t in texts[start:start + k])
            start += k
    next_id = 1
    result = {}
    for name in SPLIT_NAMES:
        rows = splits[name]
        rng.shuffle(rows)
        numbered = []
        for text, label in rows:
            numbered.append((f"d{next_id:04d}", text, label))
            next_id += 1
        result[name] = numbered
    return result


def main() -> None:
    result = build()
    for name, rows in result.items():
        path = os.path.join(OUT_DIR, f"{name}.csv")
        with open(path, "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
            w.writerow(["id", "text", "class"])
            w.writerows(rows)
        n_pos = sum(1 for r in rows if r[2] == "suicide")
        print(f"{name}: {len(rows)} rows, suicide={n_pos} ({100 * n_pos / len(rows):.1f}%), "
              f"non-suicide={len(rows) - n_pos}")


if __name__ == "__main__":
    main()
