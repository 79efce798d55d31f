"""A griffe extension for the documentation site: Sphinx roles in docstrings become links.

The sources write cross-references the Sphinx way (``:class:`~policyopt.errors.ConfigError```,
``:func:`compose```). mkdocstrings reads Markdown, where those would show as literal text.
This rewrites each role into an *optional* mkdocs-autorefs reference: a link when the target
is documented on the site, plain code otherwise (so a reference to an undocumented helper never
breaks the strict build). ``~`` keeps the last component as the title, as in Sphinx.
Nothing in ``src/`` changes; only what the site renders.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(class|func|meth|mod|data|attr|exc|obj|const):`(~?)([^`]+)`")


def _curated() -> dict[str, str]:
    """``policyopt.Agent`` → ``policyopt.agent.Agent``: the curated names' documented paths."""
    import policyopt  # light: the names are loaded lazily

    out = {}
    for name, module in policyopt._LAZY.items():
        # policyopt.experiments re-exports its names from policyopt.experiments.training
        home = "policyopt.experiments.training" if module == "policyopt.experiments" else module
        out[f"policyopt.{name}"] = f"{home}.{name}"
    return out


CURATED = _curated()


def _identifier(obj: griffe.Object, target: str) -> str:
    """The full path a role's target most likely means, seen from ``obj``."""
    if target.startswith("policyopt"):
        return CURATED.get(target, target)
    scope = obj if obj.is_class or obj.is_module else obj.parent
    while scope is not None and not (scope.is_class or scope.is_module):
        scope = scope.parent
    if scope is None:
        return target
    if scope.is_class and scope.parent is not None and target.split(".")[0] not in scope.members:
        scope = scope.parent  # a sibling of the class in its module
    return f"{scope.path}.{target}"


class SphinxRoles(griffe.Extension):
    """Rewrite ``:role:`target``` into ``<autoref optional>`` in every docstring."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.is_alias or obj.docstring is None or ":" not in obj.docstring.value:
            return

        def link(match: re.Match[str]) -> str:
            _, tilde, target = match.groups()
            title = target.split(".")[-1] if tilde else target
            ident = _identifier(obj, target)
            return f'<autoref identifier="{ident}" optional><code>{title}</code></autoref>'

        obj.docstring.value = ROLE.sub(link, obj.docstring.value)
