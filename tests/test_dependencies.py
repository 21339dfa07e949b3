"""What bayeseffect imports is what it declares (issue 13: 17).

A package imported only because another dependency happens to pull it in today breaks
the day that dependency drops it; a package only tests use does not belong in an extra
that users install.
"""

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


def _imports(folder: Path) -> dict[str, set[str]]:
    """Top-level third-party modules imported anywhere under ``folder``, with the files."""
    found: dict[str, set[str]] = {}
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top not in sys.stdlib_module_names and top != "bayeseffect":
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_every_imported_package_is_declared():
    project = _pyproject()["project"]
    core = {_name(r) for r in project["dependencies"]}
    llm = {_name(r) for r in project["optional-dependencies"]["llm"]}
    distributions = importlib.metadata.packages_distributions()
    # llama_cpp may be absent here (it builds from source); its distribution is known.
    distributions.setdefault("llama_cpp", ["llama-cpp-python"])
    missing = []
    for module, files in sorted(_imports(ROOT / "bayeseffect").items()):
        names = {_name(d) for d in distributions.get(module, [module])}
        # The LLM layer may use the llm extra; everything else only core dependencies.
        allowed = core | llm if all(f.startswith("bayeseffect/engines/") for f in files) else core
        if not names & allowed:
            missing.append(f"{module} ({', '.join(sorted(files))})")
    assert missing == [], "imported but not declared: " + "; ".join(missing)


def test_test_only_packages_are_in_the_dev_group_not_the_llm_extra():
    data = _pyproject()
    llm = {_name(r) for r in data["project"]["optional-dependencies"]["llm"]}
    dev = {_name(r) for r in data["dependency-groups"]["dev"] if isinstance(r, str)}
    used_by_package = set(_imports(ROOT / "bayeseffect"))
    assert "gguf" not in used_by_package
    assert "gguf" in dev and "gguf" not in llm
    assert "httpx" in llm
