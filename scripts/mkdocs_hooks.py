"""mkdocs hooks: tables generated from the code when the site is built, so they cannot drift.

A page asks for one with an HTML comment on a line of its own, ``<!-- generated: NAME -->``:

* ``curated-namespace``: every name of ``policyopt.__all__`` with its summary line and a link
  to where it is documented (read statically with griffe, as mkdocstrings reads the sources);
* ``composition-registries``: the blocks of :mod:`policyopt.composition` and the named rows
  of both levels (imported: the module is light, it needs no JAX).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MARKER = re.compile(r"^<!-- generated: ([a-z-]+) -->$", re.MULTILINE)


ROLE = re.compile(r":(?:py:)?[a-z]+:`(~?)([^`]+)`")


def _role_as_code(match: re.Match[str]) -> str:
    tilde, target = match.groups()
    return f"`{target.split('.')[-1] if tilde else target}`"


def _summary(obj: Any) -> str:
    """The docstring's first paragraph on one line (Sphinx roles as code), or a dash."""
    doc = obj.docstring.value if obj.docstring else ""
    first = doc.strip().split("\n\n")[0].replace("\n", " ")
    first = ROLE.sub(_role_as_code, first)
    return first.replace("|", "\\|") or "—"


def curated_namespace() -> str:
    """The curated ``policyopt`` namespace: name, kind, summary, link to its documentation."""
    import griffe

    import policyopt

    pkg = griffe.load("policyopt", search_paths=[str(ROOT / "src")], resolve_aliases=True)
    rows = ["| name | kind | summary |", "|---|---|---|"]
    for name in policyopt.__all__:
        if name == "__version__":
            continue
        module = pkg[policyopt._LAZY[name].removeprefix("policyopt.")]
        obj = module[name]
        target = obj.final_target if obj.is_alias else obj
        kind = target.kind.value
        rows.append(f"| [`{name}`][{target.path}] | {kind} | {_summary(target)} |")
    return "\n".join(rows)


def composition_registries() -> str:
    """The registries of :mod:`policyopt.composition` and the named rows, as Markdown."""
    from policyopt import composition as c

    out = []
    for title, registry in (
        ("Surrogates (`SURROGATES`)", c.SURROGATES),
        ("Proximities (`PROXIMITIES`)", c.PROXIMITIES),
        ("Penalty rules (`COEFFICIENTS`)", c.COEFFICIENTS),
        ("Solvers (`SOLVERS`)", c.SOLVERS),
    ):
        out += [
            f"### {title}",
            "",
            "| name | loss term | what it is | levels |",
            "|---|---|---|---|",
        ]
        for block in registry.values():
            levels = ", ".join(block.levels)
            out.append(f"| `{block.name}` | {block.formula} | {block.doc} | {levels} |")
        out.append("")
    out += [f"A proximity is a penalty or a constraint (`PROXIMITY_AS` = {c.PROXIMITY_AS}).", ""]
    for level, title in (("deep", "Deep level (reward)"), ("exact", "Exact level (cost)")):
        out += [f'### Named rows, {title}: `NAMED["{level}"]`', "", c.algorithm_table(level), ""]
    return "\n".join(out)


GENERATORS = {
    "curated-namespace": curated_namespace,
    "composition-registries": composition_registries,
}


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in GENERATORS:
            raise ValueError(f"{page.file.src_path}: unknown generated table {name!r}")
        return GENERATORS[name]()

    return MARKER.sub(replace, markdown)
