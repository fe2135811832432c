"""The shape of the code, measured from its own text (no import runs): what issue 17 tracks.

Prints, per package: files and lines; the largest file and function; the package pairs that
import each other both ways; imports written inside functions; comparisons against a provider,
platform or kind name outside the data tables; public functions returning `dict[str, Any]`.

    python bench/layout.py [--json]
"""

from __future__ import annotations

import ast
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# the import roots of the repository and where their code lives ("lab": where it stood
# before it moved into onramp/, to measure older trees alike; the card's folders are
# linked into onramp/ by their import names, so each file is read once, under its real path)
SOURCES = ["onramp", "csp", "tasks", "validation", "runbooks", "napalm_frr", "lab"]
NAMES = {
    "provider": {"aws", "azure", "gcp", "ibm", "alibaba", "enterprise", "manual"},
    "platform": {"frr", "iosxr", "junos", "eos", "ios", "nxos"},
    "kind": {"connector", "link"},
}


def module_of(path: Path) -> str:
    """`csp/aws/adapter.py` -> `onramp.csp.aws.adapter` when csp/ is linked into onramp/."""
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    if parts[0] != "onramp" and (ROOT / "onramp" / parts[0]).is_symlink():
        parts.insert(0, "onramp")
    return ".".join(parts)


def package_of(module: str) -> str:
    """The unit pairs are counted between: a top-level package, or onramp's first level."""
    parts = module.split(".")
    if parts[0] == "onramp" and len(parts) > 1 and (ROOT / "onramp" / parts[1]).is_dir():
        return ".".join(parts[:2])
    return parts[0]


def absolute(module: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if is_pkg else base[:-1]
    base = base[: len(base) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def files() -> list[Path]:
    seen: list[Path] = []
    for src in SOURCES:
        top = ROOT / src
        if top.is_dir() and not top.is_symlink():
            seen += [p for p in sorted(top.rglob("*.py")) if "migrations" not in p.parts]
    return seen


def measure() -> dict[str, object]:
    roots = set(SOURCES) | {"onramp"}
    per_package: dict[str, Counter[str]] = defaultdict(Counter)
    pairs: Counter[tuple[str, str]] = Counter()
    in_functions: Counter[str] = Counter()
    largest_file = ("", 0)
    largest_fn = ("", 0)
    branches: Counter[str] = Counter()
    branch_sites: list[str] = []
    dict_any: list[str] = []
    for path in files():
        text = path.read_text()
        tree = ast.parse(text)
        module = module_of(path)
        pkg = package_of(module)
        lines = len(text.splitlines())
        per_package[pkg]["files"] += 1
        per_package[pkg]["lines"] += lines
        rel = str(path.relative_to(ROOT))
        if lines > largest_file[1]:
            largest_file = (rel, lines)
        top_level = {id(n) for n in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                targets = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [absolute(module, path.name == "__init__.py", node)]
                )
                for target in targets:
                    if target.split(".")[0] not in roots:
                        continue
                    other = package_of(target)
                    if other != pkg:
                        pairs[(pkg, other)] += 1
                    guarded = _under_type_checking(tree, node)
                    if id(node) not in top_level and not guarded:
                        in_functions[pkg] += 1
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                if size > largest_fn[1]:
                    largest_fn = (f"{rel}:{node.name}", size)
                ret = ast.unparse(node.returns) if node.returns else ""
                if "dict[str, Any]" in ret and not node.name.startswith("_"):
                    dict_any.append(f"{rel}:{node.name}")
            elif isinstance(node, ast.Compare):
                for what, names in NAMES.items():
                    if _compares_to(node, names):
                        branches[what] += 1
                        branch_sites.append(f"{rel}:{node.lineno} ({what})")
    two_way = sorted(
        {tuple(sorted(p)) for p in pairs if (p[1], p[0]) in pairs},
    )
    return {
        "packages": {k: dict(v) for k, v in sorted(per_package.items())},
        "largest_file": {"path": largest_file[0], "lines": largest_file[1]},
        "largest_function": {"name": largest_fn[0], "lines": largest_fn[1]},
        "two_way_pairs": [
            {"pair": f"{a}<->{b}", "imports": [pairs[(a, b)], pairs[(b, a)]]} for a, b in two_way
        ],
        "imports_in_functions": sum(in_functions.values()),
        "imports_in_functions_per_package": dict(in_functions),
        "name_branches": dict(branches),
        "name_branch_sites": branch_sites,
        "public_functions_returning_dict_str_any": len(dict_any),
        "dict_str_any_sites": dict_any,
    }


def _compares_to(node: ast.Compare, names: set[str]) -> bool:
    """`x == "aws"`, `x != "frr"`, `x in ("aws", "azure")`: a branch on a name."""
    for side in [node.left, *node.comparators]:
        if isinstance(side, ast.Constant) and side.value in names:
            return True
        if isinstance(side, ast.Tuple | ast.List | ast.Set) and any(
            isinstance(e, ast.Constant) and e.value in names for e in side.elts
        ):
            return True
    return False


def _under_type_checking(tree: ast.Module, target: ast.AST) -> bool:
    for node in tree.body:
        if (
            isinstance(node, ast.If)
            and "TYPE_CHECKING" in ast.unparse(node.test)
            and any(n is target for n in ast.walk(node))
        ):
            return True
    return False


def main() -> None:
    figures = measure()
    if "--json" in sys.argv:
        print(json.dumps(figures, indent=2))
        return
    print(f"{'package':24} {'files':>5} {'lines':>6}")
    for name, v in figures["packages"].items():  # type: ignore[union-attr]
        print(f"{name:24} {v['files']:>5} {v['lines']:>6}")
    lf, fn = figures["largest_file"], figures["largest_function"]
    print(f"largest file: {lf['path']} ({lf['lines']} lines)")  # type: ignore[index]
    print(f"largest function: {fn['name']} ({fn['lines']} lines)")  # type: ignore[index]
    pairs = figures["two_way_pairs"]
    print(f"two-way package pairs: {len(pairs)}")  # type: ignore[arg-type]
    for p in pairs:  # type: ignore[attr-defined]
        print(f"  {p['pair']}: {p['imports'][0]}/{p['imports'][1]} imports")
    print(
        f"imports inside functions: {figures['imports_in_functions']} "
        f"{figures['imports_in_functions_per_package']}"
    )
    print(f"branches on names: {figures['name_branches']}")
    for site in figures["name_branch_sites"]:  # type: ignore[attr-defined]
        print(f"  {site}")
    print(
        f"public functions returning dict[str, Any]: {figures['public_functions_returning_dict_str_any']}"
    )


if __name__ == "__main__":
    main()
