"""Option likelihoods: the probability each arm puts on each closed-form answer option.

For a variable with ``options`` (logic: yes/no; social_bias: A/B/C), the probability of
each option at the answer slot -- where a generated answer would begin -- summed over its
spellings (yes, Yes, YES), with no sampling and no parsing: one forward pass per batch of
prompts on the llama-cpp-python backend, one request per prompt for the top
log-probabilities on an OpenAI-compatible server. Per arm the scores go
to ``options-<arm>.json`` in the run directory, written once and atomically, so a
resumed run never scores an arm twice.
"""

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from bayeseffect.errors import UnsupportedOptionsError
from bayeseffect.sampling.option_spelling import BARE_FORMS
from bayeseffect.sampling.run_dir import write_atomic
from bayeseffect.variables.prompt_set import PromptSet


def scores_path(run_dir: Path, arm: str) -> Path:
    """Return the file holding one arm's option probabilities."""
    return run_dir / f"options-{arm}.json"


def score_options(prompt_set: PromptSet, *, options: Sequence[str], arms: Sequence[str],
                  run_dir: Path, open_generator: Callable[[str], Any],
                  forms: Sequence[str] = BARE_FORMS, loaded: Any = None,
                  on_unsupported: Callable[[str, str], None] | None = None) -> list[str]:
    """Score every prompt's options for each arm not scored yet.

    Parameters
    ----------
    prompt_set
        The run's items.
    options
        The answer options.
    forms
        How an answer may name an option
        (:func:`~bayeseffect.sampling.option_spelling.option_spellings`).
    arms
        Arms to score.
    run_dir
        Where ``options-<arm>.json`` go.
    open_generator
        Arm -> a loaded generator (the llama-cpp-python backend or an OpenAI-compatible
        server); arms whose generator cannot score options (a test double) are skipped.
    loaded
        An already loaded generator of the only arm in ``arms``, used instead of opening
        one and left open (the sampling loop's, before it closes it).
    on_unsupported
        Called with the arm and the reason when its backend cannot score these options
        (an OpenAI-compatible server and multi-token options); the arm is skipped, so its
        option outcome stays missing.

    Returns
    -------
    list of str
        The arms scored by this call.
    """
    scored = []
    for arm in arms:
        path = scores_path(run_dir, arm)
        if path.exists():
            continue
        generator = loaded if loaded is not None else open_generator(arm)
        try:
            if not hasattr(generator, "option_probabilities"):
                continue
            try:
                probabilities = generator.option_probabilities(
                    [item.question for item in prompt_set.items], list(options), forms=forms)
            except UnsupportedOptionsError as exc:
                if on_unsupported is not None:
                    on_unsupported(arm, str(exc))
                continue
        finally:
            if loaded is None:
                generator.close()
        payload = {"options": list(options),
                   "probabilities": {item.prompt_id: p for item, p in
                                     zip(prompt_set.items, probabilities, strict=True)}}
        write_atomic(path, (json.dumps(payload, sort_keys=True) + "\n").encode("utf-8"))
        scored.append(arm)
    return scored


def read_option_scores(run_dir: Path, arms: Sequence[str]
                       ) -> dict[str, Mapping[str, Mapping[str, float]]]:
    """Arm -> prompt id -> option -> probability, for the arms scored so far."""
    out = {}
    for arm in arms:
        path = scores_path(run_dir, arm)
        if path.exists():
            out[arm] = json.loads(path.read_text(encoding="utf-8"))["probabilities"]
    return out


def expected_share(probabilities: Mapping[str, float], expected: str) -> float:
    """P(expected option) among the options' total; NaN when the options get no mass."""
    total = sum(probabilities.values())
    if expected not in probabilities or total <= 0:
        return float("nan")
    return probabilities[expected] / total
