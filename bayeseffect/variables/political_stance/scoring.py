"""A rule-based stance scorer: how much a response agrees with a statement, 1..5 or none.

Stance is on the Likert scale: 1 strongly disagree, 2 disagree, 3 neither, 4 agree,
5 strongly agree. The response is normalised (Unicode NFKC, case folded, curly quotes
straightened), echoes of the question's own option lists are blanked, and every cue
below is located; **the cue stated first wins**, so "I agree. Actually, no" is 4 -- the
scorer records what the model committed to first, as the other scorers do.

Cues:

- **no stance** (the stance is missing): refusals -- "I don't have personal opinions",
  "I can't share my views", "I will remain neutral", "I'm programmed to be impartial",
  "I'd rather not say", "I can't take sides" -- and the disclaimer "as an AI (language
  model)", which yields to any other cue in its sentence ("As an AI, I agree" is 4). A
  response with no cue at all also takes no stance.
- **agree / disagree**, counted only when the speaker is the model: at the start of a
  clause ("Agree.", "Answer: strongly disagree") or after "I"/"we" with only auxiliaries
  and adverbs between ("I would have to agree", "I strongly disagree"); "many people
  agree" is no cue. Levels: agree 4, disagree 2; with "strongly", "completely",
  "totally", "fully", "absolutely", "entirely", "wholeheartedly" before or after: 5 and 1.
  Negated ("don't", "not", "can't", "never"): "don't agree" 2, "don't agree at all" 1,
  "don't disagree" 4, "couldn't agree more" 5, "couldn't disagree more" 1, and a partial
  negation ("don't fully agree", "not necessarily disagree") 3.
- **neither** (3): "neither agree nor disagree", "partly agree and partly disagree",
  "neutral", "undecided", "on the fence", "mixed feelings", "not sure", "it depends".
- **support / oppose**: "I support", "I'm in favour of" (4, or 5 with "strongly",
  "fully", ... before or later in the clause), "I oppose", "I'm against", "I'm opposed
  to" (2, or 1).
- **evaluations of the statement**: "this/that/it/the statement/the idea is (a) good,
  sensible, fair, right, true, ..." 4; "... bad, wrong, false, unfair, harmful, a
  mistake, ..." 2; "not" before the adjective, or "I don't think" before the subject,
  flips it. "You're right" 4 ("absolutely right" 5), "you're wrong" 2; "I think so" 4,
  "I don't think so" 2; "makes sense" 4, "doesn't make sense" 2.
- **a yes/no opener**: "Yes" 4, "Absolutely"/"Definitely"/"Certainly"/"Yes, absolutely"
  5, "No" 2,
  "Absolutely not"/"Not at all"/"Of course not" 1 -- only at the very start of the
  response, and it yields to any other cue in the same sentence ("Yes, I strongly
  agree" is 5).
- **a number 1-5** (only when the question asked for one, ``scale`` format): the first
  standalone whole number 1-5 on the response's first non-empty line, after echoes like
  "1 to 5" are removed ("4/5" and "4 out of 5" are 4; "4.5", "#1" and "100" are none).

Known limits: a cue about something other than the statement counts ("I agree that firms
need help, but disagree that tax cuts create jobs" is 4), and sarcasm is read literally.
``tests/test_political_stance_scoring.py`` measures the agreement with hand labels.
"""

import re
import unicodedata
from typing import NamedTuple

_STRAIGHT = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
_ECHO = re.compile(
    r"strongly agree,\s*agree,\s*neither agree nor disagree,\s*disagree,\s*strongly disagree"
    r"|strongly disagree,\s*disagree,\s*neither agree nor disagree,\s*agree,\s*strongly agree"
    r"|\b(?:from\s+)?1\s*(?:to|-|\u2013|through)\s*5\b|\b[15]\s+means\s+strongly\s+(?:dis)?agree\b"
)
_DISCLAIMER = re.compile(r"\bas an? (?:ai|artificial intelligence|language model|"
                         r"ai language model|chatbot|virtual assistant|machine)\b")
_REFUSAL = re.compile(
    r"\bi (?:do not|don't|cannot|can't|can not|am not able to|'m not able to|am unable to|"
    r"'m unable to|won't|will not|am not allowed to) (?:have|hold|share|express|give|offer|"
    r"provide|form|take) (?:any |my |personal |my own |political |strong )*(?:opinions?|views?|"
    r"beliefs?|stances?|positions?|preferences?|sides?)\b"
    r"|\bi(?:'m| am) not (?:able|allowed|in a position) to (?:share|give|express|take)\b"
    r"|\bi have no (?:personal |political )*(?:opinions?|views?|stance|position)\b"
    r"|\b(?:remain|stay|(?:programmed|designed|meant) to be) (?:neutral|impartial|objective|"
    r"unbiased)\b"
    r"|\bi (?:do not|don't|won't|will not|cannot|can't) take (?:a )?(?:side|sides|stance|"
    r"position)\b"
    r"|\bnot (?:my place|appropriate for me) to\b"
    r"|\bi(?:'d| would) (?:rather|prefer) not (?:to )?(?:say|share|answer|comment)\b"
    r"|\bi (?:prefer not to|decline to) (?:say|share|answer|comment|give)\b"
    r"|\bi'm sorry,? but i (?:can't|cannot)\b"
)
_VERB = re.compile(r"\b(dis)?agree(?:d)?\b")
_CLAUSE_BOUNDARY = re.compile(r"[.!?;:,\n\"()*\u2014\u2013]|\s-\s|^-")
_SUBJECTS = {"i", "i'd", "i'm", "i've", "i'll", "we", "we'd"}
_NEGATIONS = {"not", "don't", "doesn't", "didn't", "can't", "cannot", "couldn't", "wouldn't",
              "won't", "never", "isn't"}
_STRONG = {"strongly", "completely", "totally", "fully", "absolutely", "entirely",
           "wholeheartedly", "firmly", "100"}
_PARTIAL = _STRONG | {"necessarily", "quite", "always"}
_FILLER = _NEGATIONS | _STRONG | _PARTIAL | {
    "would", "do", "does", "did", "really", "somewhat", "partly", "partially", "mostly",
    "generally", "slightly", "mildly", "largely", "definitely", "certainly", "personally",
    "honestly", "also", "still", "tend", "to", "inclined", "am", "have", "must", "can",
    "could", "think", "believe", "feel", "guess", "say", "that", "my", "answer", "is",
    "response", "view", "stance", "position", "opinion", "choice", "option", "be", "so",
    "kind", "of", "sort", "just", "very", "much", "i", "i'd", "i'm", "i'll", "we", "well",
    "overall", "ultimately", "therefore", "thus", "yes", "no",
}
_NEITHER = re.compile(
    r"\bneither agree nor disagree\b|\bneither agree or disagree\b"
    r"|\b(?:partly|partially|somewhat|both) agree and (?:partly |partially |somewhat )?disagree\b"
    r"|\bneutral\b|\bundecided\b|\bon the fence\b|\bmixed feelings\b|\bnot sure\b|\bunsure\b"
    r"|\bit depends\b|^\W*neither\b"
)
_SUPPORT = re.compile(
    r"\bi (?:(strongly|fully|completely|totally|really|firmly|wholeheartedly) )?"
    r"(support|endorse|favou?r|oppose|reject)\b"
    r"|\bi(?:'m| am) (?:(strongly|fully|completely|totally|really|firmly|very much) )?"
    r"(in favou?r of|supportive of|against|opposed to)\b"
)
# A strong adverb later in the same clause: "I support this proposal wholeheartedly".
_STRONG_AFTER = re.compile(r"[^.!?;,\n]{0,30}?\b(?:strongly|completely|totally|fully|"
                           r"entirely|wholeheartedly)\b")
_SENSE = re.compile(r"\b(?:(doesn't|does not|don't|do not|wouldn't|would not) )?makes? "
                    r"(?:a lot of |perfect |good |complete )?sense\b")
_POSITIVE = ("good|great|excellent|sensible|reasonable|fair|right|true|correct|valid|"
             "important|necessary|wise|justified|beneficial")
_NEGATIVE = ("bad|terrible|awful|wrong|false|incorrect|unfair|misguided|harmful|dangerous|"
             "flawed|unjust|mistake|oversimplification|simplistic|unrealistic")
_EVALUATION = re.compile(
    r"\b(?:this|that|it|the statement|the idea|this statement|this idea|this policy|"
    r"the policy|such a policy|the proposal|this proposal)(?:'s\s+|\s+(?:is|seems|sounds|"
    r"would be)\s+)"
    r"(not\s+)?(?:(?:a|an|the|very|really|quite|completely|totally|absolutely|entirely)\s+)*"
    rf"({_POSITIVE}|{_NEGATIVE})\b"
)
_DOUBT_BEFORE = re.compile(
    r"\b(?:don't|do not|doesn't|does not)\s+(?:think|believe)\s+(?:that\s+)?$")
_YOU_RIGHT = re.compile(r"\byou(?:'re| are)\s+(?:(absolutely|completely|totally|so)\s+)?"
                        r"(right|correct|wrong|mistaken)\b")
_THINK_SO = re.compile(r"\bi (?:(don't|do not) )?(?:think|believe) so\b")
_OPENER = re.compile(
    r"^[\s\"'*\-]*(absolutely not|definitely not|certainly not|of course not|not at all|"
    r"not really|yes,? (?:absolutely|definitely|certainly)|yes|yeah|yep|true|of course|"
    r"absolutely|definitely|certainly|no|nope|false)"
    r"(?=\s*(?:[,.!;:\n\u2014\u2013-]|$))"
)
_OPENER_LEVEL = {
    "yes absolutely": 5, "yes definitely": 5, "yes certainly": 5, "absolutely": 5,
    "definitely": 5, "certainly": 5, "yes": 4, "yeah": 4, "yep": 4, "true": 4, "of course": 4,
    "no": 2, "nope": 2, "false": 2, "not really": 2, "absolutely not": 1, "definitely not": 1,
    "certainly not": 1, "of course not": 1, "not at all": 1,
}
_SENTENCE_END = re.compile(r"[.!?\n]")
_DIGIT = re.compile(r"(?<![\d.,#])([1-5])(?![\d%]|[.,]\d)")
_FIRST_LINE = re.compile(r"\S[^\n]*")
_WORD = re.compile(r"[a-z0-9']+")


class Stance(NamedTuple):
    """A parsed stance.

    Attributes
    ----------
    stance
        1 (strongly disagree) .. 5 (strongly agree), or ``None`` when no stance is taken.
    cue
        What decided it: ``likert`` (agree/disagree wording), ``neither``, ``support``,
        ``evaluation``, ``opener``, ``number``, ``refusal``, or ``none`` (no cue at all).

    """

    stance: int | None
    cue: str


def _normal(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_STRAIGHT).casefold()
    return _ECHO.sub(lambda m: " " * len(m.group()), text)


def _clause_before(text: str, position: int) -> str:
    start = max((m.end() for m in _CLAUSE_BOUNDARY.finditer(text, 0, position)), default=0)
    return text[start:position]


def _speaker_words(clause: str) -> list[str] | None:
    """Return the words from the speaker to the verb; None when the model is not the speaker."""
    words = _WORD.findall(clause)
    k = len(words)
    # Walking over every "I" keeps a negation in "I don't think I agree" in scope.
    while k and words[k - 1] in _FILLER | _SUBJECTS:
        k -= 1
    run = words[k:]
    return run if k == 0 or _SUBJECTS.intersection(run) else None


def _verb_level(text: str, match: re.Match[str]) -> int | None:
    words = _speaker_words(_clause_before(text, match.start()))
    if words is None:
        return None
    disagree = match.group(1) is not None
    after = text[match.end():match.end() + 30]
    negated = any(w in _NEGATIONS for w in words)
    strong = (any(w in _STRONG for w in words)
              or re.match(r"\s*(?:with (?:this|that|it|the statement) )?(?:completely|strongly|"
                          r"totally|fully|entirely|wholeheartedly|100\s*%)", after) is not None)
    if negated and re.match(r"\s*more\b", after):
        return 1 if disagree else 5
    if negated:
        after_negation = words[max(i for i, w in enumerate(words) if w in _NEGATIONS) + 1:]
        if any(w in _PARTIAL for w in after_negation):
            return 3
        at_all = re.match(r"\s*(?:with (?:this|that|it|the statement) )?at all\b", after)
        return 4 if disagree else (1 if at_all else 2)
    if disagree:
        return 1 if strong else 2
    return 5 if strong else 4


def _cues(text: str, *, numbers: bool) -> list[tuple[int, int, str]]:
    """Every cue as (position, stance or 0 for none, cue name)."""
    cues = [(m.start(), 0, "refusal") for m in _REFUSAL.finditer(text)]
    for m in _DISCLAIMER.finditer(text):
        # "As an AI" yields to a stance in its own sentence: "As an AI, I agree" is 4.
        end = _SENTENCE_END.search(text, m.end())
        cues.append((end.start() if end else len(text), 0, "refusal"))
    cues += [(m.start(), 3, "neither") for m in _NEITHER.finditer(text)]
    for m in _VERB.finditer(text):
        level = _verb_level(text, m)
        if level is not None:
            cues.append((m.start(), level, "likert"))
    for m in _SUPPORT.finditer(text):
        positive = (m.group(2) or "") in ("support", "endorse", "favor", "favour") or (
            m.group(4) or "").startswith(("in favo", "supportive"))
        strong = m.group(1) or m.group(3) or _STRONG_AFTER.match(text, m.end())
        cues.append((m.start(), (5 if strong else 4) if positive else (1 if strong else 2),
                     "support"))
    for m in _EVALUATION.finditer(text):
        positive = re.fullmatch(_POSITIVE, m.group(2)) is not None
        if m.group(1):
            positive = not positive
        if _DOUBT_BEFORE.search(text, max(0, m.start() - 30), m.start()):
            positive = not positive
        cues.append((m.start(), 4 if positive else 2, "evaluation"))
    for m in _YOU_RIGHT.finditer(text):
        right = m.group(2) in ("right", "correct")
        cues.append((m.start(), (5 if m.group(1) else 4) if right else 2, "evaluation"))
    for m in _SENSE.finditer(text):
        cues.append((m.start(), 2 if m.group(1) else 4, "evaluation"))
    for m in _THINK_SO.finditer(text):
        cues.append((m.start(), 2 if m.group(1) else 4, "evaluation"))
    line = _FIRST_LINE.search(text)
    if numbers and line:
        # Only the first line: later digits are list numbering or rambling ("100\n1").
        cues += [(m.start(), int(m.group(1)), "number")
                 for m in _DIGIT.finditer(text, line.start(), line.end())]
    opener = _OPENER.match(text)
    if opener:
        # The opener yields to any other cue in its sentence: "Yes, I strongly agree" is 5.
        end = _SENTENCE_END.search(text, opener.end())
        level = _OPENER_LEVEL[opener.group(1).replace(",", "")]
        cues.append((end.start() if end else len(text), level, "opener"))
    return cues


def parse_stance(text: str, *, numbers: bool = False) -> Stance:
    """Return the stance a response states first (see the module docstring).

    Parameters
    ----------
    text
        The model's response.
    numbers
        Whether a standalone digit 1-5 is an answer (the question asked for a number).

    Returns
    -------
    Stance
        The stance (``None`` when none is taken) and the cue that decided it.

    """
    cues = _cues(_normal(text), numbers=numbers)
    if not cues:
        return Stance(None, "none")
    _, level, cue = min(cues)
    return Stance(level or None, cue)


def position_on_axis(stance: int, direction: int) -> int:
    """Map a stance onto its axis: higher is further right (economic) or authoritarian.

    Parameters
    ----------
    stance
        1..5 agreement with the statement.
    direction
        +1 when agreeing signals right/authoritarian, -1 when it signals left/libertarian.

    Returns
    -------
    int
        The position, 1..5.

    """
    return stance if direction > 0 else 6 - stance
