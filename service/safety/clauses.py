"""A question read clause by clause: what it states, what it denies, what it only asks about.

Care advice and urgent notices must tell "blood in my semen" from "no blood, just a bit of
leaking", "I'm having a seizure" from "I had a seizure as a teenager", and "my chest is crushing"
from "what are the signs of a heart attack". A question is split at sentence ends and at "but"
(a long clause also at its commas); within a clause a negation word shortly before a sign, or
before a list that holds it, denies it; a clause opening with a question word and naming nobody
asks *about* something; one that names the past, or a patient in a clinician's words, tells of
no emergency beside the asker; one that calls a thing normal states no sign. General English, not
tuned to any question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from service.index.schema import every_word, plain_forms, term_of
from service.index.schema import words as surface_words

_CLAUSE = re.compile(r"[.!?;:\n]+|,\s*(?:but|and then|then|now)\b|\bbut\b", re.IGNORECASE)
_CANNOT = re.compile(r"\b(can ?not|can['’]?t|unable to)\b", re.IGNORECASE)  # "couldn't" is past: "could not"
_WONT = re.compile(r"\bwon['’]?t\b", re.IGNORECASE)
_NOT_CONTRACTION = re.compile(
    r"\b(do|does|did|is|are|was|were|has|have|had|would|should|could|must|need)n['’]?t\b", re.IGNORECASE
)
_MODAL_NOT = re.compile(r"\b(could|would|should|might) not\b", re.IGNORECASE)
_OTHER_NOT = re.compile(r"n['’]t\b", re.IGNORECASE)
# A clause denying a sign: one of these words before the sign's first word.
NEGATION = frozenset("no not never without nor neither none denies deny denied nothing".split())
NEGATION_REACH = 3  # words before a sign that a negation reaches
LIST_REACH = 8  # ... or this many, across a list joined by "or"/"nor"
# A clause denies what it describes when a negation opens it ("no chest pain", "not coughing")
# or follows an early auxiliary ("my face is not drooping", "I'm not suicidal"); "it will not
# stop bleeding" or "she won't answer" deny nothing.
_AUXILIARY = frozenset("is are was were am m s re do does did have has had".split())
_LEADING = frozenset("and but just also so hi hello hey ok okay anyway well".split())
EARLY_WORDS = 6
TRIGGER_SLACK = 3  # other stems a trigger's words may have among them ("chest is so tight" meets "chest tight")
LONG_CLAUSE_WORDS = 16  # a clause longer than this is read part by part, at its commas
# A clause asking about a condition rather than describing one: it opens with a question word
# and names no one it is happening to.
QUESTION_OPENERS = frozenset(
    "what whats how why which who when where can could does do is are should would will may".split()
)
PEOPLE = frozenset(
    """i im ive id me my mine myself we our us he hes his him she shes her they their them
someone somebody anyone baby son daughter husband wife partner mum mom dad father mother brother
sister friend boyfriend girlfriend grandma grandad grandpa child kid kids""".split()
)
# A question naming only "he" or "she" is a clinician's or a reader's question about someone;
# one about the asker or someone with them names them ("my dad", "I", "we").
WITH_ASKER = PEOPLE - frozenset("he hes his him she shes her they their them".split())
# A clause telling of the past ("two years ago", not "ten minutes ago"), of something over
# ("it has stopped now"), or of something mild ("a bit sore"): it describes no emergency now.
PAST = re.compile(
    r"\b((\d+|a|an|one|two|three|four|five|few|several|many|couple of) (days?|weeks?|months?|years?) ago"
    r"|last (year|month|week|summer|winter)|years back|when i was|as a (child|kid|teen|teenager|baby)|back in"
    r"|in (19|20)\d\d"
    r"|used to)\b",
    re.IGNORECASE,
)
# A clinician asking about a patient: a professional question, not an emergency beside the asker.
CLINICAL = re.compile(
    r"\b(patients?|pt|work-?up|differential diagnosis|presents with|presented with|"
    r"status post)\b",
    re.IGNORECASE,
)
RESOLVED = re.compile(
    r"\b((has|have|had) (now )?stopped|stopped (now|after)|(went|gone) away|(better|fine|ok) now"
    r"|settled (down )?now)\b",
    re.IGNORECASE,
)
MILD = re.compile(
    r"\b(a bit|a little|little bit|a tad)\b(?! of)|\b(mild|mildly|slight|slightly|minor)\b", re.IGNORECASE
)
# A clause saying that what it describes is normal ("smells totally normal", "looks fine"); "is it
# normal that it smells" asks, and states the sign.
NORMAL = re.compile(
    r"(?<!not )\b(smells?|looks?|is|are|seems?|feels?|comes? out)\s+(totally |completely |perfectly |pretty |"
    r"quite |all |just |the )?(normal|fine|ok|okay|usual|white|clear)\b",
    re.IGNORECASE,
)
# Negation words that deny nothing: despair ("no reason to live"), emphasis ("never had a
# headache this bad"), "no longer", normal denied ("does not look like normal semen"), and a vital
# function that has stopped ("she's not responding", "it will not stop"): each states a sign.
NOT_A_DENIAL = re.compile(
    r"\b(no|nothing) (reason|point|way out|hope|future|longer|one (would|will|cares))\b"
    r"|\b(do|does|did) not (want|wanna|wish) (to )?(be here|live|wake up|go on|exist|be alive)\b"
    r"|\b(do|does|did|is|are) not (look|seem|smell|feel|taste)?\s*(like )?(\w+ )?(normal|healthy|right)\b"
    r"|\bnot (breathing|responding|responsive|respond|waking|wake|moving|conscious|answering|"
    r"making sense|stopping|stop)\b"
    r"|\bnever\b.{0,40}\b(like this|this bad|so bad|as bad|worse|this much)\b",
    re.IGNORECASE,
)


def plain_negatives(text: str) -> str:
    """ "can't breathe" keeps its meaning through analysis: "cannot breathe" (a content word);
    "won't" is "will not", other "n't" forms become "not"."""
    text = _WONT.sub(" will not ", _CANNOT.sub(" cannot ", text))
    return _OTHER_NOT.sub(" not", _NOT_CONTRACTION.sub(r"\1 not", text))


def stems_of(text: str) -> list[str]:
    """The analyser's stems (schema.analyze, its normalisation included), with negation words
    kept as "not": "not breathing" is a sign of its own, and a negation before a sign denies it."""
    found = []
    for word in surface_words(text):
        term = "not" if word in NEGATION else term_of(word)
        if term:
            found.append(term)
    return found


@dataclass(frozen=True)
class Clause:
    text: str
    words: tuple[str, ...]
    sequence: tuple[str, ...]  # its stems in order, negations as "not"
    counts: bool  # False when it asks about a condition or tells of the past
    acute: bool  # False when it also tells of something over or mild
    normal: bool = False  # it calls what it describes normal or fine ("my pee smells normal")

    def states(self, trigger: tuple[str, ...]) -> bool:
        """All the trigger's words are here, close together (within TRIGGER_SLACK more stems than
        the trigger has, in any order); a negative trigger ("not breathing") word for word."""
        n = len(trigger)
        if "not" in trigger:
            if self.words.count("not") <= len(_MODAL_NOT.findall(self.text)):
                return False  # "he couldn't breathe for laughing" tells of then, not of now
            return any(self.sequence[i : i + n] == trigger for i in range(len(self.sequence) - n + 1))
        wanted = set(trigger)
        if not wanted.issubset(self.sequence):
            return False
        width = n + TRIGGER_SLACK
        return any(wanted.issubset(self.sequence[i : i + width]) for i in range(max(1, len(self.sequence) - width + 1)))


def clauses(text: str) -> list[Clause]:
    """The question's clauses, read in the letters search analyses: in plain forms (schema.py), so
    that a fullwidth or ligature spelling states, denies and dates a sign as the plain one does."""
    found = []
    for piece in _pieces(plain_negatives(plain_forms(text))):
        words = tuple(every_word(piece))
        if not words:
            continue
        opener = words[1] if words[0] in _LEADING and len(words) > 1 else words[0]
        about = opener in QUESTION_OPENERS and not WITH_ASKER.intersection(words)
        counts = not (about or PAST.search(piece) or CLINICAL.search(piece))
        found.append(
            Clause(
                piece.strip(),
                words,
                tuple(stems_of(piece)),
                counts=counts,
                acute=counts and not (RESOLVED.search(piece) or MILD.search(piece)),
                normal=bool(NORMAL.search(piece)),
            )
        )
    return found


def _pieces(text: str) -> list[str]:
    """Sentences and "but" clauses; a long one also at its commas, so that "his temperature has
    not come down, his neck is stiff, ..." is not denied whole by its first part."""
    found: list[str] = []
    for piece in _CLAUSE.split(text):
        if len(every_word(piece)) > LONG_CLAUSE_WORDS and "," in piece:
            found += piece.split(",")
        else:
            found.append(piece)
    return found


def negated(clause: Clause, trigger: tuple[str, ...]) -> bool:
    """A negation word stands shortly before one of the trigger's words ("no trouble breathing",
    "my face isn't drooping"); a trigger that is itself negative ("not breathing") is not denied."""
    if "not" in trigger:
        return False
    words = clause.words
    for at, word in enumerate(words):
        if term_of(word) not in trigger:
            continue
        if any(w in NEGATION for w in words[max(0, at - NEGATION_REACH) : at]):
            return True
        listed = words[max(0, at - LIST_REACH) : at]  # "no face drooping or slurred speech"
        if ("or" in listed or "nor" in listed) and NEGATION.intersection(listed):
            return True
    return False


def denies(clause: Clause) -> bool:
    """The clause says a sign is absent: see _AUXILIARY and _LEADING."""
    if clause.normal:
        return True
    if NOT_A_DENIAL.search(clause.text):
        return False
    words = clause.words
    opening = words[1:2] if words[:1] and words[0] in _LEADING else words[:1]
    if NEGATION.intersection(opening):
        return True
    return any(w in NEGATION and words[at - 1] in _AUXILIARY for at, w in enumerate(words[:EARLY_WORDS]) if at)
