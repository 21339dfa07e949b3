"""Run directories: the manifest that identifies a run, and the files a run holds.

A run directory holds ``run.json`` (configuration and provenance), ``prompts.jsonl``,
``responses.jsonl`` (the journal), ``dataset.nc``, and after fitting ``posterior.nc``,
``fit.json`` and ``report/``, plus ``.lock`` (:mod:`bayeseffect.sampling.run_lock`). The manifest's
fingerprint is a hash of everything that determines a response, so a directory is never
filled by two configurations.
"""

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bayeseffect.common.os_errors import replace_atomically, reporting_os_errors
from bayeseffect.errors import BayesEffectError
from bayeseffect.sampling.run_lock import LOCK, RunLockedError, run_lock

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
    """Write ``data`` to ``path`` through a temporary file and a rename: never half-written.

    The temporary file's name is unique to this process and call (two writers never share
    one), and it is removed when the write fails.

    Raises
    ------
    BayesEffectError
        When the OS refuses (a full disk, a read-only folder), naming ``path``.
    """
    def write(tmp: Path) -> None:
        with tmp.open("xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())

    replace_atomically(path, write)


def remove_stale_temporaries(run_dir: Path) -> None:
    """Delete temporary files a killed writer left in ``run_dir``; call under the run lock."""
    for tmp in run_dir.glob(".*.tmp"):
        with contextlib.suppress(OSError):  # only tidying: never a reason to stop
            tmp.unlink(missing_ok=True)


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


def check_run_dir(run_dir: Path, manifest: Mapping[str, Any]) -> bool:
    """Check, writing nothing, that ``run_dir`` can hold the run of ``manifest``.

    Parameters
    ----------
    run_dir
        The directory, existing or not.
    manifest
        The run's manifest; its ``fingerprint`` identifies the configuration.

    Returns
    -------
    bool
        True when it holds a run of the same configuration (to resume), False when it is
        missing or empty (a new run).

    Raises
    ------
    BayesEffectError
        When it is a file, a folder that is not a run, or a run of another configuration.
    """
    with reporting_os_errors(run_dir, doing="reading"):
        if run_dir.exists() and not run_dir.is_dir():
            raise BayesEffectError(
                f"output path {run_dir} is a file; give a directory with --out")
        # A lock file alone is what a new run leaves before its manifest is written.
        if not run_dir.is_dir() or all(p.name == LOCK for p in run_dir.iterdir()):
            return False
        if not (run_dir / MANIFEST).exists():
            raise BayesEffectError(
                f"{run_dir} exists and is not a bayeseffect run; choose another --out")
    existing = read_manifest(run_dir)
    if existing.get("fingerprint") != manifest["fingerprint"]:
        changed = _changed_keys(existing.get("determinants", {}), manifest["determinants"])
        raise BayesEffectError(
            f"{run_dir} holds a run with a different configuration (changed: "
            f"{', '.join(changed) or 'unknown'}); refusing to mix them -- use another "
            f"--out, or delete {run_dir} to start fresh"
        )
    return True


def make_run_dir(run_dir: Path) -> Path | None:
    """Create ``run_dir`` and its missing parents.

    Returns
    -------
    Path or None
        The topmost folder created now (see :func:`remove_created`), or None when
        ``run_dir`` existed.

    Raises
    ------
    BayesEffectError
        When the OS refuses (a parent that is a file, a read-only or special file system);
        folders created before the refusal are removed again.
    """
    created = None
    for folder in (run_dir, *run_dir.parents):
        if folder.exists():
            break
        created = folder
    try:
        with reporting_os_errors(run_dir, doing="creating the run directory"):
            run_dir.mkdir(parents=True, exist_ok=True)
    except BayesEffectError:
        if created is not None:
            remove_created(run_dir, created)
        raise
    return created


def remove_created(run_dir: Path, created: Path) -> None:
    """Undo :func:`make_run_dir`: remove ``run_dir`` and the parents it created, if empty.

    A created parent that holds anything else now (another process's run) stays. Best
    effort: what cannot be removed stays.
    """
    shutil.rmtree(run_dir, ignore_errors=True)
    if created == run_dir:
        return
    for folder in run_dir.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        if folder == created:
            return


def prepare_run_dir(run_dir: Path, manifest: Mapping[str, Any]) -> bool:
    """Create a run directory for ``manifest`` or check that an existing one matches it.

    Call it holding the run's lock (:func:`bayeseffect.sampling.run_lock.run_lock`), so that no
    other process writes a manifest between the check and the write.

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
    if check_run_dir(run_dir, manifest):
        return True
    make_run_dir(run_dir)
    write_atomic(run_dir / MANIFEST,
                 (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode("utf-8"))
    return False


@dataclass(frozen=True)
class RunClaim:
    """A run directory held by this process for sampling.

    Attributes
    ----------
    resumed
        It held a run of the same configuration.
    restored_prompts
        Its ``prompts.jsonl`` was missing and has been written again.
    """

    resumed: bool
    restored_prompts: bool


@contextmanager
def claim_run_dir(run_dir: Path, manifest: Mapping[str, Any], *, prompts_sha256: str,
                  prompts_jsonl: str) -> Iterator[RunClaim]:
    """Hold a run directory for sampling: checked, created, locked, with its prompts.

    Everything that could refuse the directory is checked before anything is written in
    it. Then it is created, locked (:func:`bayeseffect.sampling.run_lock.run_lock`) and checked
    again under the lock, the manifest and ``prompts.jsonl`` are written (restored when a
    resumed run lost its prompts) and temporary files a killed writer left are removed.
    When the block fails (not on Ctrl-C) in a directory created by this call that holds
    no response yet, everything this call created is removed: no half-made run is left.

    Parameters
    ----------
    run_dir
        The run directory.
    manifest
        The run's manifest.
    prompts_sha256, prompts_jsonl
        The prompt set's hash and its items as JSON lines.

    Yields
    ------
    RunClaim
        Whether the run is resumed and its prompts were restored.

    Raises
    ------
    RunLockedError
        When another process works on the directory.
    BayesEffectError
        When the directory cannot hold this run or cannot be written.
    """
    check_run_dir(run_dir, manifest)
    created = make_run_dir(run_dir)
    with ExitStack() as stack:
        try:
            stack.enter_context(run_lock(run_dir, doing="sampling"))
        except RunLockedError:
            raise  # the folder is the other process's now
        except BaseException:
            if created is not None:
                remove_created(run_dir, created)
            raise
        try:
            resumed = prepare_run_dir(run_dir, manifest)
            remove_stale_temporaries(run_dir)
            if resumed:
                restored = restore_prompts(run_dir, read_manifest(run_dir),
                                           sha256=prompts_sha256, jsonl=prompts_jsonl)
            else:
                write_atomic(run_dir / PROMPTS, prompts_jsonl.encode("utf-8"))
                restored = False
            yield RunClaim(resumed=resumed, restored_prompts=restored)
        except Exception:
            if created is not None and not _holds_responses(run_dir):
                remove_created(run_dir, created)
            raise


def _holds_responses(run_dir: Path) -> bool:
    """Whether anything generated is saved (a journal line, an option score file)."""
    try:
        journal = run_dir / JOURNAL
        return ((journal.exists() and journal.stat().st_size > 0)
                or any(run_dir.glob("options-*.json")))
    except OSError:
        return True  # when in doubt, keep it


def restore_prompts(run_dir: Path, manifest: Mapping[str, Any], *, sha256: str,
                    jsonl: str) -> bool:
    """Write ``prompts.jsonl`` again when it is missing from a resumed run.

    Parameters
    ----------
    run_dir
        The run directory.
    manifest
        The run's manifest as saved in it.
    sha256
        The hash of the prompt set just generated.
    jsonl
        Its items as JSON lines (:meth:`PromptSet.to_jsonl`).

    Returns
    -------
    bool
        True when the file was missing and has been written.

    Raises
    ------
    BayesEffectError
        When the prompt set's hash is not the one the manifest records.
    """
    path = run_dir / PROMPTS
    if path.exists():
        return False
    recorded = manifest.get("determinants", {}).get("prompt_set", {}).get("sha256")
    if recorded != sha256:
        raise BayesEffectError(
            f"{path} is missing and the prompt set generated now (sha256 {sha256[:12]}) is "
            f"not the one {run_dir / MANIFEST} records ({str(recorded)[:12]}); this "
            "bayeseffect generates other prompts: sample into another --out")
    write_atomic(path, jsonl.encode("utf-8"))
    return True


def _changed_keys(old: Mapping[str, Any], new: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Dotted names of the determinants that differ, compared as canonical JSON.

    ``old`` comes from JSON and ``new`` from dataclasses, so a tuple must equal the list
    JSON made of it (``models.base.prompting.stop``).
    """
    changed = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            changed += _changed_keys(a, b, f"{prefix}{key}.")
        elif _canonical(a) != _canonical(b):
            changed.append(prefix + key)
    return changed


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
