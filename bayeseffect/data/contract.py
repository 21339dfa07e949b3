"""The responses/outcomes dataset contract: canonical dims, coordinates, variables and attrs.

ARCHITECTURE.md describes the same contract in prose; :func:`validate_dataset` checks a
dataset against it, and the tests check every dataset the pipeline writes.
"""

import xarray as xr

from bayeseffect.errors import BayesEffectError

CONTRACT_VERSION = "1"
DIMS = ("arm", "prompt", "replicate")
ARM_LABELS = ("base", "instruct")

#: Coordinates on the ``prompt`` dim every dataset carries (design factors come on top).
PROMPT_COORDS = ("family", "expected", "question")

#: Variables on ``arm x prompt x replicate`` that every dataset carries, with their dtype kind.
RESPONSE_VARS = {
    "completed": "b",
    "response": "U",
    "n_prompt_tokens": "i",
    "n_completion_tokens": "i",
    "finish_reason": "U",
    "seed": "i",
}

#: Attributes every dataset carries (its provenance).
REQUIRED_ATTRS = (
    "contract_version",
    "variable",
    "outcome_kind",
    "primary_outcome",
    "outcomes",
    "factors",
    "pair_name",
    "cross_family",
    "cross_family_reasons",
    "base_model_path",
    "base_model_sha256",
    "instruct_model_path",
    "instruct_model_sha256",
    "base_prompting",
    "instruct_prompting",
    "llama_cpp_python_version",
    "llama_cpp_system_info",
    "prompt_set",
    "prompt_set_version",
    "prompt_set_sha256",
    "prompt_set_seed",
    "sampling_params",
    "seed",
    "replicates",
    "bayeseffect_version",
    "run_fingerprint",
    "created_utc",
)


def validate_dataset(ds: xr.Dataset) -> None:
    """Raise :class:`BayesEffectError` naming the first way ``ds`` breaks the contract.

    Parameters
    ----------
    ds
        A responses/outcomes dataset.

    """
    problems = list(_problems(ds))
    if problems:
        raise BayesEffectError(f"the dataset breaks the contract: {problems[0]}"
                               + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))


def _problems(ds: xr.Dataset) -> list[str]:
    problems = []
    missing_attrs = [a for a in REQUIRED_ATTRS if a not in ds.attrs]
    if missing_attrs:
        problems.append(f"missing attrs {', '.join(missing_attrs)}")
        return problems
    if set(ds.sizes) != set(DIMS):
        problems.append(f"dims are {tuple(ds.sizes)}, expected {DIMS}")
        return problems
    if tuple(ds["arm"].values.tolist()) != ARM_LABELS:
        problems.append(f"arm coordinate is {ds['arm'].values.tolist()}, expected {ARM_LABELS}")
    if ds.sizes["prompt"] == 0:
        problems.append("the prompt dim is empty")
    factors = [f for f in str(ds.attrs["factors"]).split(",") if f]
    for coord in (*PROMPT_COORDS, *factors):
        if coord not in ds.coords or ds[coord].dims != ("prompt",):
            problems.append(f"coordinate {coord!r} on ('prompt',) is missing")
    crossed = str(ds.attrs.get("crossed_factor", ""))
    if crossed and crossed not in factors:
        problems.append(f"crossed_factor {crossed!r} is not one of the factors")
    outcomes = [o for o in str(ds.attrs["outcomes"]).split(",") if o]
    expected_vars = {**RESPONSE_VARS, **{o: "" for o in outcomes}}
    for name, kind in expected_vars.items():
        if name not in ds.data_vars:
            problems.append(f"variable {name!r} is missing")
            continue
        if set(ds[name].dims) != set(DIMS):
            problems.append(f"variable {name!r} has dims {ds[name].dims}, expected {DIMS}")
        if kind and ds[name].dtype.kind not in (kind, "O" if kind == "U" else kind):
            problems.append(f"variable {name!r} has dtype {ds[name].dtype}, expected kind {kind}")
    if ds.attrs["primary_outcome"] not in outcomes:
        problems.append(f"primary_outcome {ds.attrs['primary_outcome']!r} is not an outcome")
    return problems
