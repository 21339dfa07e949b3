"""Run directories: the manifest that identifies a run, and the files a run holds.

A run directory holds ``run.json`` (configuration and provenance), ``prompts.jsonl``,
``responses.jsonl`` (the journal), ``dataset.nc``, and after fitting ``posterior.nc``,
``fit.json`` and ``report/``. The manifest's fingerprint is a hash of everything that
determines a response, so a directory is never filled by two configurations.
"""

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bayeseffect.errors import BayesEffectError

MANIFEST = "run.json"
PROMPTS = "prompts.jsonl"
JOURNAL = "responses.jsonl"
DATASET = "dataset.nc"
POSTERIOR = "posterior.nc"
FIT_SUMMARY = "fit.json"
REPORT_DIR = "report"


def outcome_files(run_dir: Path, outcome: str, *, primary: str) -> tuple[Path, Path, Path]:
    """Posterior file, fit summary and report folder of one fitted outcome of a run.

    The primary outcome keeps the plain names (``posterior.nc``, ``fit.json``,
    ``report/``); another outcome gets its own (``posterior-<outcome>.nc``,
    ``fit-<outcome>.json``, ``report/<outcome>/``), so fitting it never overwrites the
    headline fit.
    """
    if outcome == primary:
        return run_dir / POSTERIOR, run_dir / FIT_SUMMARY, run_dir / REPORT_DIR
    return (run_dir / f"posterior-{outcome}.nc", run_dir / f"fit-{outcome}.json",
            run_dir / REPORT_DIR / outcome)


def fingerprint(determinants: Mapping[str, Any]) -> str:
    """Return the sha256 of the canonical JSON of ``determinants``."""
    payload = json.dumps(determinants, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename: never half-written."""
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)


def require_run_dir(run_dir: Path) -> None:
    """Raise a one-line error unless ``run_dir`` is an existing folder."""
    if not run_dir.exists():
        raise BayesEffectError(f"run directory {run_dir} does not exist; give the folder "
                               "`bayeseffect sample` printed")
    if not run_dir.is_dir():
        raise BayesEffectError(f"{run_dir} is a file, not a run directory")


def read_manifest(run_dir: Path) -> dict[str, Any]:
    """Read a run's manifest, with a one-line error when it is not a run directory."""
    path = run_dir / MANIFEST
    if not path.exists():
        raise BayesEffectError(
            f"{run_dir} is not a bayeseffect run directory (no {MANIFEST}); "
            "give the folder `bayeseffect sample` printed"
        )
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise BayesEffectError(f"cannot read {path}: {exc}") from exc
    return manifest


def prepare_run_dir(run_dir: Path, manifest: Mapping[str, Any]) -> bool:
    """Create a run directory for ``manifest`` or check that an existing one matches it.

    Parameters
    ----------
    run_dir
        The directory.
    manifest
        The run's manifest; its ``fingerprint`` identifies the configuration.

    Returns
    -------
    bool
        True when an existing run of the same configuration is being resumed.

    """
    if run_dir.exists() and not run_dir.is_dir():
        raise BayesEffectError(f"output path {run_dir} is a file; give a directory with --out")
    if run_dir.is_dir() and any(run_dir.iterdir()):
        existing = read_manifest(run_dir) if (run_dir / MANIFEST).exists() else None
        if existing is None:
            raise BayesEffectError(
                f"{run_dir} exists and is not a bayeseffect run; choose another --out"
            )
        if existing.get("fingerprint") != manifest["fingerprint"]:
            changed = _changed_keys(existing.get("determinants", {}), manifest["determinants"])
            raise BayesEffectError(
                f"{run_dir} holds a run with a different configuration (changed: "
                f"{', '.join(changed) or 'unknown'}); refusing to mix them -- use another "
                f"--out, or delete {run_dir} to start fresh"
            )
        return True
    run_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(run_dir / MANIFEST,
                 (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode("utf-8"))
    return False


def _changed_keys(old: Mapping[str, Any], new: Mapping[str, Any], prefix: str = "") -> list[str]:
    changed = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            changed += _changed_keys(a, b, f"{prefix}{key}.")
        elif a != b:
            changed.append(prefix + key)
    return changed
