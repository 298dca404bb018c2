#!/usr/bin/env python3
"""Generate the synthetic DEMO dataset of graded suicide-risk levels.

Every post is written from templates + phrase lists in this file; nothing is
copied from a real dataset. The output is fully deterministic: re-running this
script rewrites byte-identical CSVs (fixed seed, stdlib only, no set ordering).

Usage:
    python specs/data/graded/make_demo_data.py

Writes train.csv, validation.csv and test.csv next to this file with the
columns ``id,text,level,signals``:

* ``level`` is one of five ordered levels, lowest to highest risk:
  ``supportive``, ``indicator``, ``ideation``, ``behavior``, ``attempt``
  (named after the broad categories of the Columbia Suicide Severity Rating
  Scale, but these are NOT C-SSRS ratings);
* ``signals`` is a multi-label cell: zero or more of ``hopelessness``,
  ``isolation``, ``burden``, ``plan``, ``past_attempt`` joined by ``|`` in that
  fixed order (empty when none). Tags are not guessed from the finished text:
  each phrase fragment carries its own tags and a post's tags are the union of
  the tags of the fragments it was built from.

Content policy (enforced by ``check_safe`` below on every row): no method
details, no means, no places, no plans with specifics, no instructions, no
stigmatizing phrasing ("commit suicide" is banned; the posts say "end my life"
or "die by suicide").
"""

from __future__ import annotations

import csv
import itertools
import os
import random
import re

SEED = 20240611
OUT_DIR = os.path.dirname(os.path.abspath(__file__))
MIN_LEN, MAX_LEN = 40, 260

SPLIT_NAMES = ("train", "validation", "test")
SPLIT_ROWS = {"train": 500, "validation": 125, "test": 125}
LEVELS = ("supportive", "indicator", "ideation", "behavior", "attempt")  # lowest to highest risk
TAGS = ("hopelessness", "isolation", "burden", "plan", "past_attempt")  # fixed order within a cell
TAG_MIN = {"train": 40, "validation": 8, "test": 8}

# Words/phrases that must never appear (method details, means, places,
# specifics of a plan, instructions, stigmatizing phrasing). Checked as
# whole-word-ish regexes on the lower-cased text. The first three lines are the
# quickstart generator's list; the rest extend it for the graded levels, whose
# behavior/attempt posts sit closest to the content we must not write.
BANNED = re.compile(
    r"\b(pills?|rope|ropes|guns?|overdos\w*|jump\w*|bridges?|"
    r"commit(?:s|ted|ting)? suicide|hang\w*|knife|knives|razor\w*|blade\w*|"
    r"poison\w*|shoot\w*|shot|bleach|noose|cut|cuts|cutting|slit\w*|"
    r"drown\w*|suffocat\w*|carbon monoxide|dose|lethal|tracks|cliff\w*|"
    r"rooftop|ledge|wrists?|method\w*|how to die|"
    # means and places
    r"tablets?|meds|medications?|medicines?|painkillers?|paracetamol|acetaminophen|"
    r"tylenol|ibuprofen|insulin|stockpil\w*|firearms?|weapons?|ammo|ammunition|"
    r"roofs?|balcon(?:y|ies)|windows?|trains?|traffic|railway|fumes|gas|garage|"
    r"ligature\w*|strangl\w*|asphyx\w*|starv\w*|"
    # specifics of a plan, instructions, method-seeking
    r"(?:picked|chose|chosen|set|booked) (?:a|the) (?:date|day|time|place|spot)|"
    r"how (?:much|many) (?:\w+ )?(?:would|will|does|do) it take|"
    r"(?:where|how) (?:to|i would|i'd|i will|i'll|i'm going to) (?:do it|end it|end my life|kill)|"
    r"painless|quickest|surest|step[- ]by[- ]step|"
    # stigmatizing or judging phrasing
    r"(?:successful|failed|unsuccessful|completed) (?:suicide|attempt)|"
    r"suicide victim|selfish|attention[- ]seek\w*|"
    r"commit(?:s|ted|ting)? (?:to )?(?:ending|killing))\b"
)


def check_safe(text: str) -> None:
    if BANNED.search(text.lower()):
        raise ValueError(f"banned term in demo text: {text!r}")


# --------------------------------------------------------------------------
# fragments: a fragment is a string, or a (string, tag, tag...) tuple
# --------------------------------------------------------------------------
def split_frag(frag):
    if isinstance(frag, str):
        return frag, ()
    text, *tags = frag
    for tag in tags:
        if tag not in TAGS:
            raise ValueError(f"unknown tag {tag!r} on fragment {text!r}")
    return text, tuple(tags)


def join(opener: str, core: str) -> str:
    """Concatenate an opener and a core, fixing the core's capitalisation."""
    if not opener:
        return core
    if opener.endswith((". ", ": ", "? ", "! ")):
        return opener + core
    if core.startswith(("I ", "I'")):
        return opener + core
    return opener + core[0].lower() + core[1:]


def combine(openers, cores, closers):
    """All opener + core + closer posts, each with the union of its fragments' tags."""
    out = []
    for o, c, t in itertools.product(openers, cores, closers):
        (ot, otags), (ct, ctags), (tt, ttags) = split_frag(o), split_frag(c), split_frag(t)
        tags = [tag for tag in TAGS if tag in otags + ctags + ttags]
        out.append((join(ot, ct) + tt, tuple(tags)))
    return out


# A capital letter right after an opener that does not end a sentence
# ("Honestly, " + "Nothing ...") is lower-cased; "I", "I'm", ... stay as they are.
MID_SENTENCE_CAPITAL = re.compile(r"(, |\b(?:and|but|Lately|now) )([A-Z])(?=[a-z])")


def template(fmt, *lists):
    """All fillings of a str.format template; tags are the union over the fillers."""
    out = []
    for combo in itertools.product(*lists):
        parts = [split_frag(f) for f in combo]
        text = fmt.format(*(p[0] for p in parts)).strip()
        text = MID_SENTENCE_CAPITAL.sub(lambda m: m.group(1) + m.group(2).lower(), text)
        have = tuple(tag for p in parts for tag in p[1])
        out.append((text, tuple(tag for tag in TAGS if tag in have)))
    return out


# Generic openers shared by the four risk levels (realistic overlap: they say
# nothing about the level).
SHARED_OPENERS = [
    "",
    "Honestly, ",
    "I don't really know who else to tell, but ",
    "It's late and ",
    "Throwaway account. ",
    "I've never posted here before. ",
    "Not sure this is the right place, but ",
    "I'm just going to say it. ",
    "I need to say this somewhere. ",
    "Okay. ",
]

# Closers that can follow a post at any risk level above supportive.
SHARED_CLOSERS = [
    "",
    " I just needed to get that out.",
    " I haven't told anyone this.",
    (" Nothing ever gets better.", "hopelessness"),
    (" Nobody would even notice.", "isolation"),
]


# --------------------------------------------------------------------------
# level 0: supportive (no personal risk)
# everyday posts, hyperbole look-alikes, supporting others, coping, recovery
# --------------------------------------------------------------------------
def supportive():
    everyday = template(
        "{}{} {}",
        ["", "Update: ", "Okay, ", "Good news! "],
        ["Just finished my first 10k run", "Made pancakes from scratch this morning",
         "Our band finally played our first show", "Got my learner's permit today",
         "Finished the last book in my fantasy series", "Adopted a kitten from the shelter",
         "Beat the final boss after three weeks", "Planted tomatoes on the porch with my dad"],
        ["and I'm so proud.", "and honestly it made my week.", "and I can't stop smiling.",
         "lol small wins count.", "and now I need a new hobby."],
    )
    hyperbole = (
        template(
            "This {} is killing me{}",
            ["chemistry exam", "commute", "heat wave", "group project", "essay deadline",
             "slow wifi", "new workout plan", "exam week"],
            [" lol.", ", send help.", ", but it's almost over.", ". Three more days of this.",
             " 😭 Anyone else?"],
        )
        + template(
            "I'd die for {} right now{}",
            ["a coffee", "a pizza", "a nap", "some decent wifi", "a day off", "my mom's lasagna"],
            [" lol.", ", honestly.", ". This shift is endless.", ". Who's buying?"],
        )
        + template(
            "I literally wanted to die when {}. {}",
            ["I waved at someone who was waving at the person behind me",
             "my mom showed my friends my baby pictures",
             "my voice cracked in the middle of my presentation",
             "I called my teacher 'mom' in front of everyone",
             "I tripped walking into the cafeteria"],
            ["Never leaving my room again lol.", "Why am I like this.",
             "Everyone laughed, me included."],
        )
        + template(
            "I'm so dead if my {} finds out {}. {}",
            ["mom", "sister", "coach", "roommate"],
            ["I borrowed the car", "I ate the last slice of cake", "I skipped practice"],
            ["Pray for me lol.", "Worth it though.", "Not my fault, mostly."],
        )
    )
    others = combine(
        ["", "Reminder: ", "PSA: ", "Just wanted to share this. ", "Small thing, but "],
        ["My best friend told me she feels hopeless, and I want to help her through it.",
         "My roommate has been really isolated lately, so I invited him to dinner.",
         "A friend told me he feels like a burden, and I reminded him that he matters to us.",
         "If anyone here is struggling tonight, please talk to someone you trust.",
         "I sat with my friend while she called a crisis line, and I'm so proud of her.",
         "You are not a burden for asking for help.",
         "Checking in on the people you love really can make a difference."],
        ["", " Any advice on what else I can do?", " Sending love to everyone here.",
         " You're not alone.", " Be kind to yourselves today."],
    )
    coping = template(
        "{} {}{}",
        ["I used to feel completely alone,", "Last winter I felt hopeless about everything,",
         "I used to think I was a burden to everyone,", "A year ago I couldn't get out of bed,",
         "I went through a really dark time in high school,"],
        ["but therapy helped me more than I expected.", "but talking to my sister changed things.",
         "but joining a running club gave me my people.", "but journaling every night really helps.",
         "and the safety plan I made with my counselor keeps me grounded."],
        ["", " If you're there now, it can get better.", " Be patient with yourself.",
         " Reach out, it's worth it."],
    )
    recovery = template(
        "{} {}{}",
        [("Three years ago I tried to end my life.", "past_attempt"),
         ("Five years ago I attempted suicide.", "past_attempt"),
         ("I survived a suicide attempt a long time ago.", "past_attempt"),
         ("Two years ago I tried to end my life and woke up in hospital.", "past_attempt"),
         ("When I was sixteen I attempted suicide.", "past_attempt")],
        ["Today I have a job I love and a dog who adores me.",
         "Today I graduated and my whole family was there.",
         "Today I'm doing well and I'm so glad I'm still here.",
         "Therapy and my friends got me through, and life is good now."],
        ["", " If you're struggling, please reach out.", " Recovery is real.",
         " Please stay, it gets better."],
    )
    rough = template(
        "{} {}, {}{}",
        ["Rough week at work and I'm exhausted.", "I barely slept this week because of finals.",
         "Feeling a bit lonely since my best friend moved away.",
         "I don't want to wake up tomorrow, I have a 6am shift.",
         "I was so tired of everything by Friday."],
        ["I'm okay though", "I'm doing alright", "still a good week"],
        ["my friends dragged me out for tacos.", "I talked it through with my mom.",
         "I'm going for a long walk with the dog.", "I've got a day off tomorrow."],
        ["", " Life goes on.", " 🙂"],
    )
    return [everyday, hyperbole, others, coping, recovery, rough]


# --------------------------------------------------------------------------
# level 1: indicator (distress without suicidal thoughts)
# --------------------------------------------------------------------------
INDICATOR_CLOSERS = SHARED_CLOSERS + [
    " I'm not suicidal, I'm just worn out.",
    " Does it ever get better?",
    " Anyone else feel like this?",
    " I think I need to talk to someone.",
    (" I can't see it changing.", "hopelessness"),
    (" I don't have anyone to talk to about it.", "isolation"),
]


def indicator():
    general = combine(
        SHARED_OPENERS,
        [("Everything feels pointless and I can't see things getting better.", "hopelessness"),
         ("I feel hopeless about my future.", "hopelessness"),
         ("Nothing I do ever seems to matter.", "hopelessness"),
         ("I feel completely alone, even when people are around.", "isolation"),
         ("Nobody texts me back anymore.", "isolation"),
         ("I haven't really talked to anyone in days.", "isolation"),
         ("I feel like I'm always a burden to my friends.", "burden"),
         "I cry in the shower most mornings.",
         "I'm exhausted all the time and I can't focus on anything.",
         "I can't get out of bed some days."],
        INDICATOR_CLOSERS,
    )
    burden_work = template(
        "{}I feel like a burden {} because {}.{}",
        ["", "Honestly, ", "At this point ", "Lately "],
        [("to my team at work", "burden"), ("to my coworkers", "burden"),
         ("to my roommates", "burden"), ("to my parents", "burden")],
        ["I keep making mistakes", "I'm always behind", "I need help with everything",
         "I can't keep up anymore"],
        ["", " I'm so tired.", (" It never changes.", "hopelessness"),
         (" I keep it to myself.", "isolation")],
    )
    sleep = template(
        "{}I haven't slept more than {} hours a night {}, and {}{}",
        ["", "Lately ", "It's late and "],
        ["three", "four", "five"],
        ["for weeks", "since the semester started", "since I lost my job"],
        ["I'm falling behind on everything.", "I snap at everyone.",
         ("I feel hopeless about all of it.", "hopelessness"),
         ("I've pulled away from all my friends.", "isolation")],
        ["", " I just feel empty.", " Anyone else?"],
    )
    lonely = template(
        "I moved to {} {} and {}.{}",
        ["a new city", "a new school", "another country"],
        ["a few months ago", "last year", "in the spring"],
        [("I still don't know anyone", "isolation"), ("I eat every meal alone", "isolation"),
         ("I spend every weekend by myself", "isolation"),
         ("I feel like a burden to the one friend I have", "isolation", "burden")],
        ["", " It's really wearing me down.", (" I can't see it getting better.", "hopelessness"),
         " I'm not in danger, just sad."],
    )
    escape = template(
        "{}I just want to {} for a while.{}",
        SHARED_OPENERS[:6],
        ["disappear", "sleep and not deal with anything", "get away from everyone",
         "switch my brain off", "stop feeling everything",
         ("hide from everyone", "isolation")],
        [" Not in a suicidal way, I just need a break.", " I'm not going to hurt myself, I'm just so tired.",
         (" I can't see how this gets better.", "hopelessness"),
         (" Everyone's sick of me anyway.", "burden"), " I don't want to die, I just want a pause."],
    )
    return [general, burden_work, sleep, lonely, escape]


# --------------------------------------------------------------------------
# level 2: ideation (not wanting to live / wishing to die / thinking about
# suicide, without plans, intent or acts)
# --------------------------------------------------------------------------
def ideation():
    general = combine(
        SHARED_OPENERS,
        ["I don't want to be alive anymore.",
         "I keep wishing I could go to sleep and not wake up.",
         "I've been thinking about suicide a lot lately.",
         "Sometimes I think about ending my life.",
         "I wish I was dead.",
         "Part of me wants to die.",
         "I've been having suicidal thoughts again.",
         ("I feel hopeless and I don't want to live like this anymore.", "hopelessness"),
         ("I'm so alone that I don't see the point in living.", "isolation"),
         ("Everyone would be better off if I wasn't here.", "burden")],
        SHARED_CLOSERS + [
            " I would never act on it, but the thoughts won't stop.",
            " I don't have a plan or anything, it's just always there.",
            " I don't know what to do with these thoughts.",
            (" I'm such a burden to everyone.", "burden"),
        ],
    )
    passive = template(
        "{}I'm not going to do anything, but {}{}",
        ["", "To be clear, ", "Honestly, "],
        ["I wish I could stop existing.", "I think about dying every day.",
         "I keep thinking about killing myself.", "I don't want to be here anymore.",
         "I keep hoping I won't wake up."],
        ["", (" I can't see a future.", "hopelessness"), (" I have no one.", "isolation"),
         (" I'm just a weight on my family.", "burden"), " The thoughts scare me."],
    )
    burden_wish = template(
        "I feel like such a burden to {} that {}{}",
        [("my family", "burden"), ("my partner", "burden"), ("everyone around me", "burden"),
         ("my friends", "burden")],
        ["I wish I could disappear for good.", "I wish I'd never been born.",
         "I think they'd be better off if I were dead.", "I keep thinking about suicide."],
        ["", (" Nothing will change.", "hopelessness"), " I haven't told anyone.",
         " I'm not planning anything, I just feel this way."],
    )
    hopeless_wish = template(
        "{}{}, and {}{}",
        ["", "Honestly, ", "Lately "],
        [("Nothing is ever going to get better", "hopelessness"),
         ("I can't see any future for myself", "hopelessness"),
         ("I've been completely alone for months", "isolation"),
         ("Nobody would miss me", "isolation")],
        ["some days I really don't want to be alive.", "I keep thinking I'd rather be dead.",
         "I've started thinking about suicide.", "I wish I could just stop existing."],
        ["", " I'm so tired.", " I don't know who to talk to."],
    )
    no_act = template(
        "{}{}{}",
        SHARED_OPENERS[:6],
        ["I think about making a plan to end my life, but I haven't made one.",
         "I've thought about writing goodbye letters, but I haven't.",
         "I sometimes wonder who I'd give my things to if I wasn't here.",
         "I've imagined saying goodbye to everyone, but I haven't done anything.",
         "I keep thinking about ending my life, even though I'd never plan it."],
        ["", (" I just feel hopeless.", "hopelessness"), (" I feel so alone.", "isolation"),
         (" I'm a burden to everyone.", "burden"), " It scares me."],
    )
    return [general, passive, burden_wish, hopeless_wish, no_act]


# --------------------------------------------------------------------------
# level 3: behavior (preparatory acts or intent, NO details: no method, means,
# place, time or "how")
# --------------------------------------------------------------------------
BEHAVIOR_CLOSERS = SHARED_CLOSERS + [
    " I just wanted someone to know.",
    " I feel weirdly calm about it.",
    " I've made up my mind.",
    (" Everyone will be better off.", "burden"),
    (" I've decided, and I have a plan.", "plan"),
    (" I have a plan and I'm not changing my mind.", "plan"),
]


def behavior():
    planned = combine(
        SHARED_OPENERS,
        [("I've made a plan to end my life.", "plan"),
         ("I have a plan now and I've made up my mind.", "plan"),
         ("I've been planning to end my life.", "plan"),
         ("I've decided I'm going to end my life and I have a plan.", "plan"),
         ("I made a plan and I keep going over it in my head.", "plan"),
         ("I've worked out a plan to kill myself.", "plan")],
        BEHAVIOR_CLOSERS,
    )
    preparing = combine(
        SHARED_OPENERS,
        ["I've started giving my things away.",
         "I wrote goodbye letters to my family.",
         "I've been putting my affairs in order.",
         "I deleted my accounts and wrote my goodbye messages.",
         "I asked my friend to look after my cat for me, for good.",
         "I've started getting everything ready to end my life.",
         "I gave away my guitar and my books this week."],
        BEHAVIOR_CLOSERS,
    )
    goodbyes = template(
        "{}I've been saying goodbye to {} {}.{}",
        ["", "Honestly, ", "Lately ", "This week "],
        ["people", "my friends", "my cousins", "my teammates", "my old teachers"],
        ["without telling them why", "one by one", "in little ways they won't notice",
         "because I won't be here much longer"],
        ["", (" I have a plan.", "plan"), (" I've already made a plan.", "plan"),
         (" Nobody will notice anyway.", "isolation"),
         (" It's the only way out I can see.", "hopelessness"),
         (" They'll be better off without me.", "burden")],
    )
    aborted = template(
        "{}I got really close to ending my life {}, but {}.{}",
        ["", "Honestly, ", "I've never told anyone this. ", "Throwaway account. "],
        ["last night", "on Saturday", "a few days ago", "last week"],
        ["I stopped myself", "I backed out at the last moment", "I couldn't go through with it"],
        ["", (" I still have a plan.", "plan"), (" I still feel hopeless.", "hopelessness"),
         (" I feel like a burden to everyone.", "burden"), " I'm scared of what I'll do next."],
    )
    return [planned, preparing, goodbyes, aborted]


# --------------------------------------------------------------------------
# level 4: attempt (past or interrupted attempt, NO method)
# --------------------------------------------------------------------------
ATTEMPT_CLOSERS = [
    "",
    " Now I don't know how to face anyone.",
    " Part of me is glad I'm still here and part of me isn't.",
    " My family keeps asking why and I don't have an answer.",
    " I'm seeing a counselor now but it's hard.",
    (" I'd been planning it for weeks.", "plan"),
    (" I still feel like a burden to everyone.", "burden"),
    (" Nothing has changed since.", "hopelessness"),
    (" Nobody has checked on me since.", "isolation"),
]


def attempt():
    past = template(
        "{}{}{}",
        SHARED_OPENERS[:6],
        [("I tried to end my life last month and woke up in hospital.", "past_attempt"),
         ("I attempted suicide a few weeks ago and I'm still here.", "past_attempt"),
         ("I survived a suicide attempt two weeks ago.", "past_attempt"),
         ("I tried to kill myself a few days ago.", "past_attempt"),
         ("After my attempt last month, the doctors kept me in for a few days.", "past_attempt"),
         ("I tried to end my life on Sunday and my roommate called an ambulance.", "past_attempt")],
        ATTEMPT_CLOSERS,
    )
    found = template(
        "{} I attempted and {} found me.{}",
        [("Last week", "past_attempt"), ("Two weeks ago", "past_attempt"),
         ("Last month", "past_attempt"), ("On Friday night", "past_attempt"),
         ("A few days ago", "past_attempt")],
        ["my sister", "my mom", "my roommate", "my best friend", "my dad"],
        ATTEMPT_CLOSERS,
    )
    interrupted = template(
        "{}I was about to end my life {} when {}.{}",
        ["", "Honestly, ", "I've never told anyone this. ", "Throwaway account. "],
        ["last night", "on Saturday", "a few days ago", "last week"],
        ["my brother knocked on my door", "my phone rang and it was my mom",
         "my roommate came home early", "my friend showed up without warning"],
        ["", " I stopped, but I'm scared I'll try again.",
         (" I'd been planning it for a while.", "plan"),
         (" I still feel hopeless.", "hopelessness"),
         (" I feel like a burden to everyone.", "burden")],
    )
    reasons = template(
        "{} I tried to end my life because {}.{}",
        [("Last month", "past_attempt"), ("A few weeks ago", "past_attempt"),
         ("Last week", "past_attempt"), ("On my birthday", "past_attempt")],
        [("I felt completely hopeless", "hopelessness"), ("I felt so alone", "isolation"),
         ("I thought I was a burden to my family", "burden"),
         ("everything felt pointless", "hopelessness")],
        ["", " I woke up in hospital.", " I'm still here, somehow.",
         " Now I don't know how to face anyone."],
    )
    return [past, found, interrupted, reasons]


# --------------------------------------------------------------------------
# held-out phrasings: used ONLY in validation and test (HELDOUT_PER_SPLIT rows
# per level and split), never in train, so the evaluation splits measure some
# generalization beyond the training templates.
# --------------------------------------------------------------------------
def supportive_heldout():
    return [template(
        "{}{} {}",
        ["", "Okay, "],
        ["Shoutout to my roommate for covering my shift.",
         "My calves are killing me after leg day.",
         "Whoever invented iced coffee deserves a medal.",
         "If you're having a rough day, this is your sign to drink some water and rest.",
         "Proud of my little sister for asking her counselor for help.",
         "Our cat learned to open the fridge and I'm dead 💀",
         "Reminder that it's okay to ask for help when things feel heavy."],
        ["", "Seriously.", "You've got this.", "Have a good weekend, everyone."],
    )]


def indicator_heldout():
    return [template(
        "{}{}{}",
        ["", "Lately "],
        ["My grades keep slipping and I feel worthless.",
         "I feel numb most days and nothing is fun anymore.",
         ("I've stopped answering my friends' messages.", "isolation"),
         ("I'm a drag on everyone at home.", "burden"),
         ("I don't think my life will ever improve.", "hopelessness"),
         "My appetite is gone and I'm tired all the time."],
        ["", " Is this depression?", " I don't want to die or anything, I'm just stuck.",
         " My doctor says it's stress."],
    )]


def ideation_heldout():
    return [template(
        "{}{}{}",
        ["", "Honestly, "],
        ["I'd rather not exist than feel like this.",
         "Being dead sounds easier than this.",
         "I keep wishing my life would just end.",
         ("What's the point of living if nobody cares about me.", "isolation"),
         ("My future looks so dark that dying seems better.", "hopelessness"),
         ("My family would be happier without me around.", "burden"),
         "Thoughts of suicide keep popping into my head."],
        ["", " I'm not going to act on it.", " I've told no one."],
    )]


def behavior_heldout():
    return [template(
        "{}{}{}",
        ["", "I need to tell someone. "],
        ["I've written a note for my parents.",
         "I've been getting my stuff in order so nobody has to deal with it.",
         ("I know what I'm going to do and I'm getting ready.", "plan"),
         ("I've got everything figured out for ending my life.", "plan"),
         "I handed my journals to my best friend and told her to keep them.",
         "I told my sister which of my things she should have."],
        ["", " Please don't tell anyone.", (" They're better off without me.", "burden"),
         (" I've planned it all out.", "plan")],
    )]


def attempt_heldout():
    return [template(
        "{}{}{}",
        ["", "I don't know who to talk to. "],
        [("I tried to take my own life in the spring.", "past_attempt"),
         ("My suicide attempt was ten days ago.", "past_attempt"),
         ("I came home from the hospital yesterday after my attempt.", "past_attempt"),
         ("I ended up in the ER after trying to kill myself.", "past_attempt"),
         "My girlfriend stopped me in the middle of trying to end my life.",
         "Someone walked in right as I was trying to end my life."],
        ["", " I don't know what happens now.", (" I feel even more alone now.", "isolation"),
         (" I'd planned it for a long time.", "plan")],
    )]


FAMILIES = {
    "supportive": supportive,
    "indicator": indicator,
    "ideation": ideation,
    "behavior": behavior,
    "attempt": attempt,
}
HELDOUT_FAMILIES = {
    "supportive": supportive_heldout,
    "indicator": indicator_heldout,
    "ideation": ideation_heldout,
    "behavior": behavior_heldout,
    "attempt": attempt_heldout,
}
HELDOUT_PER_SPLIT = {"train": 0, "validation": 8, "test": 8}  # rows per level


def sample_level(rng: random.Random, families, n: int):
    """Pick n distinct posts, round-robin over the level's families for variety."""
    pools = []
    for cands in families:
        seen = {}
        for text, tags in cands:
            if MIN_LEN <= len(text) <= MAX_LEN:
                seen.setdefault(text, tags)
        pool = list(seen.items())
        rng.shuffle(pool)
        pools.append(pool)
    out, seen = [], {}
    while len(out) < n:
        progressed = False
        for pool in pools:
            while pool:
                text, tags = pool.pop()
                if text not in seen:
                    seen[text] = None
                    out.append((text, tags))
                    progressed = True
                    break
            if len(out) == n:
                break
        if not progressed:
            raise RuntimeError(f"not enough distinct texts (wanted {n}, got {len(out)})")
    return out


def build():
    assert tuple(FAMILIES) == LEVELS and tuple(HELDOUT_FAMILIES) == LEVELS
    rng = random.Random(SEED)
    per_level = {name: SPLIT_ROWS[name] // len(LEVELS) for name in SPLIT_NAMES}
    seen_k = {name: per_level[name] - HELDOUT_PER_SPLIT[name] for name in SPLIT_NAMES}
    splits = {name: [] for name in SPLIT_NAMES}
    owner = {}  # text -> level, to guarantee no duplicates across levels/splits
    for level in LEVELS:
        seen = sample_level(rng, FAMILIES[level](), sum(seen_k.values()))
        held = sample_level(rng, HELDOUT_FAMILIES[level](), sum(HELDOUT_PER_SPLIT.values()))
        for text, _ in seen + held:
            check_safe(text)
            if text in owner:
                raise ValueError(f"duplicate text across levels/families: {text!r}")
            owner[text] = level
        s_start = h_start = 0
        for name in SPLIT_NAMES:
            k, h = seen_k[name], HELDOUT_PER_SPLIT[name]
            posts = seen[s_start:s_start + k] + held[h_start:h_start + h]
            splits[name].extend((t, level, "|".join(tags)) for t, tags in posts)
            s_start += k
            h_start += h
    next_id = 1
    result = {}
    for name in SPLIT_NAMES:
        rows = splits[name]
        rng.shuffle(rows)
        numbered = []
        for text, level, signals in rows:
            numbered.append((f"g{next_id:04d}", text, level, signals))
            next_id += 1
        result[name] = numbered
    validate(result)
    return result


def validate(result) -> None:
    """Assert the whole dataset contract before anything is written."""
    all_texts = {}
    for name, rows in result.items():
        if len(rows) != SPLIT_ROWS[name]:
            raise AssertionError(f"{name}: {len(rows)} rows, wanted {SPLIT_ROWS[name]}")
        for level in LEVELS:
            k = sum(1 for r in rows if r[2] == level)
            if k != len(rows) // len(LEVELS):
                raise AssertionError(f"{name}: {k} rows of {level}, wanted {len(rows) // len(LEVELS)}")
        for row_id, text, level, signals in rows:
            check_safe(text)
            if not MIN_LEN <= len(text) <= MAX_LEN:
                raise AssertionError(f"{row_id}: length {len(text)} outside {MIN_LEN}-{MAX_LEN}")
            if text in all_texts:
                raise AssertionError(f"{row_id}: duplicate text (also {all_texts[text]})")
            all_texts[text] = row_id
            tags = signals.split("|") if signals else []
            if tags != [t for t in TAGS if t in tags]:
                raise AssertionError(f"{row_id}: signals {signals!r} not in fixed order / unknown")
        for tag in TAGS:
            k = sum(1 for r in rows if tag in r[3].split("|"))
            if k < TAG_MIN[name]:
                raise AssertionError(f"{name}: tag {tag} on {k} rows, wanted >= {TAG_MIN[name]}")


def main() -> None:
    result = build()
    for name, rows in result.items():
        path = os.path.join(OUT_DIR, f"{name}.csv")
        with open(path, "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
            w.writerow(["id", "text", "level", "signals"])
            w.writerows(rows)
        levels = ", ".join(f"{lv}={sum(1 for r in rows if r[2] == lv)}" for lv in LEVELS)
        tags = ", ".join(f"{t}={sum(1 for r in rows if t in r[3].split('|'))}" for t in TAGS)
        none = sum(1 for r in rows if not r[3])
        print(f"{name}: {len(rows)} rows ({rows[0][0]}-{rows[-1][0]})")
        print(f"  levels: {levels}")
        print(f"  signals: {tags}, none={none}")


if __name__ == "__main__":
    main()
