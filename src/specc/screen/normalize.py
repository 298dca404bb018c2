"""The crisis screen's first layer: the tables that normalisation applies before any other layer reads a
message (the code that applies them is generated: templates/common/screen.py.j2, `normalize`).

People in distress rarely type the words a keyword list expects: "kms", "unalive", "sewerslide",
"su1c1de", "s*icide", "k i l l  m y s e l f", "i want to dieeee", "myslef". Normalisation rewrites such
forms into plain English, so that the patterns and the sentence encoder both see "kill myself". The
order is: Unicode NFKC, look-alike letters from other scripts, lower case, curly quotes, letters spelled out
with spaces or separators, runs of one letter, digits and symbols inside words (leet), censored words,
then the word and phrase tables below.

The tables only ever name words to detect; none describes a method.
"""

from __future__ import annotations

# Letters from other scripts that look like Latin ones (a common way round filters), and invisible
# characters that split words. NFKC already folds full-width and styled letters (𝓈𝓊𝒾𝒸𝒾𝒹ℯ).
CONFUSABLES = {
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i", "ј": "j", "ѕ": "s",
    "к": "k", "м": "m", "т": "t", "н": "h", "в": "b", "ԁ": "d", "ӏ": "l",
    "α": "a", "ε": "e", "ο": "o", "ρ": "p", "ι": "i", "κ": "k", "ν": "v", "τ": "t", "υ": "u",
    "\u2018": "'", "\u2019": "'", "\u02bc": "'", "\u2032": "'", "\u201c": '"', "\u201d": '"',
    "\u200b": "", "\u200c": "", "\u200d": "", "\u2060": "", "\ufeff": "", "\u00ad": "",
}

# Digits and symbols that stand for letters when they sit inside a word with letters ("su1c1de",
# "k1ll", "d!e", "$elf"). Numbers on their own ("988", "2 years") are left alone.
LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i", "|": "l"}

# Words that a censoring `*` (or `#`, `_`) may stand in for: "s*icide", "k*ll", "su*c*de". A censored
# word that matches one of these, one hidden letter per symbol, becomes it.
CENSORED_WORDS = ["suicide", "suicidal", "kill", "killing", "myself", "die", "dying", "dead", "death", "cut",
                  "cutting", "self-harm", "selfharm", "overdose", "hang", "purge", "starve", "noose"]

# Single words, after the steps above: slang, abbreviations and frequent misspellings.
WORDS = {
    # slang and euphemisms
    "kms": "kill myself", "kmsl": "kill myself", "kys": "kill yourself",
    "unalive": "kill", "unalived": "killed", "unaliving": "killing", "unalives": "kills",
    "sewerslide": "suicide", "sewercide": "suicide", "suicide's": "suicide is",
    "ctb": "end my life", "selfharm": "self-harm", "sh": "self-harm", "od": "overdose", "od'd": "overdosed",
    "oding": "overdosing", "proana": "pro-anorexia",
    "thinspo": "thinspiration",
    # frequent misspellings
    "sucide": "suicide", "suicde": "suicide", "suiside": "suicide", "sucicide": "suicide", "suicied": "suicide",
    "suacide": "suicide", "suecide": "suicide", "suiscide": "suicide", "suiced": "suicide", "sucide's": "suicide is",
    "suicdie": "suicide", "siucide": "suicide", "suicie": "suicide", "suiicide": "suicide", "suicid": "suicide",
    "sucidal": "suicidal", "suicidle": "suicidal", "suicdal": "suicidal", "suisidal": "suicidal",
    "sucicidal": "suicidal", "suicidial": "suicidal", "suicidel": "suicidal",
    "kil": "kill", "kll": "kill", "kiil": "kill", "kiling": "killing", "kilin": "killing", "killin": "killing",
    "myslef": "myself", "mysefl": "myself", "myelf": "myself", "mself": "myself", "myslf": "myself",
    "mysel": "myself", "myseld": "myself", "meself": "myself", "muself": "myself", "miself": "myself",
    "urself": "yourself", "yourslef": "yourself", "diee": "die", "soo": "so", "noo": "no", "pleasee": "please", "helpp": "help", "byee": "bye",
    "goodbyee": "goodbye", "dieing": "dying",
    "dyin": "dying", "livin": "living", "wnat": "want", "wan": "want", "anymor": "anymore", "anymroe": "anymore",
    "nomore": "no more", "overdoes": "overdose", "overdos": "overdose",
    "hurtin": "hurting", "cuttin": "cutting", "cutt": "cut", "bulemia": "bulimia",
    "bulemic": "bulimic", "anerexia": "anorexia", "anorexa": "anorexia", "purgeing": "purging",
    # contractions typed without the apostrophe, and texting forms
    "im": "i'm", "ive": "i've", "dont": "don't", "cant": "can't", "wont": "won't",
    "didnt": "didn't", "doesnt": "doesn't", "isnt": "isn't", "wasnt": "wasn't", "wouldnt": "wouldn't",
    "couldnt": "couldn't", "shouldnt": "shouldn't", "aint": "ain't", "thats": "that's", "whats": "what's",
    "theres": "there's", "nobodys": "nobody's", "noones": "no one's", "everyones": "everyone's",
    "wanna": "want to", "gonna": "going to", "gotta": "got to", "imma": "i'm going to", "ima": "i'm going to",
    "tryna": "trying to", "finna": "going to", "u": "you", "ur": "your", "ppl": "people",
    "bc": "because", "cuz": "because", "coz": "because", "cos": "because", "rn": "right now", "tn": "tonight",
    "2nite": "tonight", "tonite": "tonight", "2day": "today", "2morrow": "tomorrow", "tmrw": "tomorrow",
    "abt": "about", "smth": "something",
    "sth": "something", "bf": "boyfriend", "gf": "girlfriend", "fr": "for real", "ngl": "not going to lie",
    "idc": "i don't care", "idk": "i don't know", "nvm": "never mind", "pls": "please", "plz": "please",
    "ty": "thank you", "b4": "before", "4ever": "forever", "every1": "everyone", "no1": "no one",
    "any1": "anyone", "some1": "someone", "gn": "good night", "ik": "i know", "lil": "little",
    "tho": "though", "thru": "through", "ya": "you", "yall": "you all", "y'all": "you all",
}

# Phrases (regular expressions over the lower-cased text, applied in order after the word table).
PHRASES = [
    (r"\bsewer[\s-]+slide\b", "suicide"),
    (r"\bself[\s-]+delet(e|ed|ing)\b", "kill myself"),
    (r"\bdelet(e|ing)\s+my\s*self\b", "kill myself"),
    (r"\bun[\s-]+alive\b", "kill"),
    (r"\boff\s+my\s*self\b", "kill myself"),
    (r"\b(end|ending)\s+my\s*self\b", "kill myself"),
    (r"\bk\s*m\s*s\b", "kill myself"),
    (r"\bself[\s-]+harm(ing|ed)?\b", "self-harm"),
    (r"\b(want|wanna|going|gonna|ready|wish\s+i\s+could|just\s+want)\s+to\s+dye\b", r"\1 to die"),
    (r"\bcatch(ing)?\s+the\s+bus\b(?=[^.!?]*\b(for\s+good|forever|tonight|finally|can'?t\s+wait|ready)\b)",
     "end my life"),
    (r"\blog(ging)?\s+off\s+(for\s+good|forever|permanently|for\s+the\s+last\s+time)\b", "end my life forever"),
    (r"\bkill\s+my\s+self\b", "kill myself"),
    (r"\bmy\s+self\b", "myself"),
    (r"\bno\s+one\b", "nobody"),
    (r"\bno\s*body\b", "nobody"),
]

# Reading the language: the encoder and the corpus are English. A message written mostly in another
# language is not screened as safe on words the screen cannot read: it is flagged for a human (layer
# "unreadable"), and so is a message mostly in a script other than Latin. The test: the message has at
# least two of these function words of other languages and more of them than of English ones. Words
# that are common in English too ("no", "me", "a", "die", "will") are left out.
OTHER_LANGUAGE_WORDS = sorted(set(["que", "quiero", "morir", "ya", "puedo", "más", "mas", "esta", "estoy", "pero", "porque", "muy", "tengo", "nadie", "nada", "como", "para", "los", "las", "del", "una", "por", "sin", "hay", "soy", "todo", "vida", "yo", "quiero", "estoy", "ganas", "matarme", "suicidarme", "je", "veux", "suis", "pas", "plus", "mourir", "les", "des", "une", "est", "vie", "mais", "avec", "pour", "qui", "tout", "rien", "personne", "moi", "j'ai", "c'est", "n'en", "peux", "ich", "nicht", "mehr", "leben", "alles", "und", "der", "das", "ist", "mich", "mir", "bin", "kann", "sterben", "keine", "nichts", "habe", "auch", "noch", "mein", "eu", "não", "nao", "quero", "morrer", "aguento", "mais", "você", "voce", "muito", "minha", "meu", "ninguém", "estou", "isso", "com", "uma", "também", "voglio", "morire", "più", "piu", "faccio", "sono", "che", "vita", "io", "niente", "nessuno", "perché", "perche", "della", "questa", "ik", "wil", "dood", "niet", "meer", "het", "een", "ben", "mijn", "niemand", "leven", "saya", "ingin", "mati", "aku", "tidak", "tak", "mau", "hidup", "sudah", "dan", "yang", "ini", "itu", "lagi", "mujhe", "jeena", "nahi", "hai", "sab", "khatam", "mera", "meri", "kya", "hoon", "karna", "marna", "chahta", "chahti", "istiyorum", "ölmek", "olmek", "artık", "hiç", "bir", "değil", "çok", "ako", "gusto", "mamatay", "ng", "ang", "hindi", "ayoko", "wala"]))
ENGLISH_WORDS = sorted(set(["i", "you", "the", "to", "and", "my", "is", "it", "of", "that", "this", "not", "be", "have", "just", "so", "want", "don't", "can't", "i'm", "what", "with", "for", "on", "feel", "like", "about", "all", "but", "do", "know", "anymore", "never", "get", "would", "there", "they", "we", "are", "was", "am", "if", "how", "he", "she", "her", "him", "his", "them", "your", "it's", "can", "will", "when", "why", "who", "because", "really", "much", "too", "out", "up", "at", "or", "been", "had", "has", "any", "more", "even", "want", "going"]))
