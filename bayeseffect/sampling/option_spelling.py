"""How an answer option can be spelled, and the token prefixes that tell options apart."""

from collections.abc import Mapping, Sequence

from bayeseffect.errors import BayesEffectError

#: How an option is written when the prompt names it as itself (``yes``, ``A``).
BARE_FORMS: tuple[str, ...] = ("{}",)


def option_spellings(option: str, *, spaced: bool,
                     forms: Sequence[str] = BARE_FORMS) -> tuple[str, ...]:
    """Return the texts with which an answer can pick ``option``, to sum over.

    A model asked for yes or no answers " Yes" as often as " yes" (gemma-3-270m put 0.47
    on " Yes" and 0.07 on " yes" after a logic item's "Answer:"), so an option's
    probability is that of its lower-case, capitalized and upper-case spellings together.
    A one-letter label (``A``) keeps its case: " a" is an article, not option A.

    Parameters
    ----------
    option
        The option as written in the prompt set (``"yes"``, ``"A"``).
    spaced
        Whether the answer follows the frame after a space (a completion frame ending in
        ``Answer:``) rather than at the start of a turn.
    forms
        Format strings for the ways the prompt lets an answer name the option:
        ``("({})", "{}")`` when it lists options as "(A) ..." (an answer may be "(A)" or
        "A").

    Returns
    -------
    tuple of str
        Distinct spellings, with the leading space when ``spaced``.
    """
    cases = ((option,) if len(option) == 1 else
             (option, option.lower(), option[:1].upper() + option[1:], option.upper()))
    prefix = " " if spaced else ""
    return tuple(dict.fromkeys(prefix + form.format(case) for form in forms for case in cases))


def distinguishing_prefixes(sequences: Mapping[str, Sequence[tuple[int, ...]]]
                            ) -> dict[str, list[tuple[int, ...]]]:
    """Cut each option's token sequences to the shortest prefix no other option shares.

    An option's probability is then the total of its prefixes' probabilities: the events
    are disjoint (no kept prefix of one option begins another option's sequences), and
    what follows the deciding token (the ")" of "(A)", which a tokenizer may merge with
    the next character) does not matter.

    Parameters
    ----------
    sequences
        Option -> the token sequences of its spellings.

    Returns
    -------
    dict
        Option -> distinct prefixes, none of them beginning another of the same option.

    Raises
    ------
    BayesEffectError
        When a spelling has no tokens, or one option's whole spelling begins another
        option's (then no token decides between them).
    """
    out: dict[str, list[tuple[int, ...]]] = {}
    for option, own in sequences.items():
        others = [seq for name, seqs in sequences.items() if name != option for seq in seqs]
        cut: list[tuple[int, ...]] = []
        for seq in own:
            if not seq:
                raise BayesEffectError(f"a spelling of the answer option {option!r} has no "
                                       "tokens")
            k = next((k for k in range(1, len(seq) + 1)
                      if not any(other[:k] == seq[:k] for other in others)), None)
            if k is None:
                raise BayesEffectError(
                    f"the answer option {option!r} is spelled as the start of another "
                    f"option, so no token tells them apart; rename the options")
            cut.append(seq[:k])
        kept = sorted(set(cut), key=lambda s: (len(s), s))
        out[option] = [s for i, s in enumerate(kept)
                       if not any(s[:len(t)] == t for t in kept[:i])]
    return out
