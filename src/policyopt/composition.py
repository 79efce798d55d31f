"""The paper's table as data: surrogate × proximity × solver, one vocabulary for both levels.

The seed's thesis is that PG, NPG, TRPO, PPO-clip, PPO-KL, MDPO and Adaptive TRPO all solve

    θ_{k+1} = argmin_θ  surrogate(θ; θ_k) + proximity(θ, θ_k)

in different ways. This module names the building blocks, says which combinations make sense
(and why the others do not), and holds the named algorithms as rows of a table. It imports
nothing heavy: the deep level (:mod:`policyopt.algorithms`) and the exact level
(:mod:`policyopt.tabular.algorithms`) each build an update from a :class:`Composition`.

Conventions: the deep level speaks reward (surrogates are negated objectives, minimised),
the exact level speaks cost (the paper's f, minimised). Either way every block below is a
term of a loss that is *minimised*.

Blocks
------
* **surrogates** — ``score`` ⟨∇f, θ−θ_k⟩ through log π; ``ratio`` the importance-weighted
  L_{π_k}; ``clipped_ratio`` PPO's pessimistic clip. All three share their gradient at θ_k.
  An entropy term (coefficient ``ent_coef``, the regulariser λ of Adaptive TRPO) is added
  wherever the config has that field.
* **proximities** — ``none``; ``euclidean`` ½‖θ−θ_k‖²; ``kl_forward`` KL(π_k‖π_θ);
  ``kl_reverse`` KL(π_θ‖π_k). Each is a **penalty** weighted by a coefficient rule, or a
  **constraint** D ≤ δ.
* **coefficient rules** (penalties) — ``fixed`` β; ``adaptive`` PPO-KL's β halved/doubled
  toward ``kl_target``; ``annealed`` 1/t_k with MDPO's t_k (:mod:`policyopt.schedules`);
  ``shani`` 1/t_k with Adaptive TRPO's t_k.
* **solvers** — ``first_order`` (an optax optimiser, epochs × minibatches or full batch);
  ``natural`` (the direction (∇²D)⁻¹g, for the KLs the Fisher F⁻¹g, by CG, then the step 1/β,
  t_k or √(2δ/gᵀF⁻¹g)); ``natural_linesearch`` (TRPO's backtracking on the real D and
  surrogate); ``closed_form`` (the exact level's mirror/gradient step, where one exists).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from policyopt.errors import ConfigError, check_choice

__all__ = [
    "COEFFICIENTS",
    "LEVELS",
    "NAMED",
    "PROXIMITIES",
    "PROXIMITY_AS",
    "SOLVERS",
    "SURROGATES",
    "Block",
    "Composition",
    "CompositionFields",
    "algorithm_table",
    "composition_fields",
    "display_name",
    "file_safe",
    "parse_proximity",
    "parse_recipe",
    "recipe_label",
]

LEVELS = ("deep", "exact")


@dataclass(frozen=True)
class Block:
    """One named building block: what it is, its formula (loss form) and where it exists."""

    name: str
    formula: str
    doc: str
    levels: tuple[str, ...] = LEVELS


def _registry(*blocks: Block) -> dict[str, Block]:
    return {b.name: b for b in blocks}


SURROGATES = _registry(
    Block("score", "−E[log π_θ · Â]", "linearised objective ⟨∇f, θ−θ_k⟩ through log π (§3, §4)"),
    Block("ratio", "−E[r_θ · Â]", "importance-weighted L_{π_k} (§5; Kakade & Langford 2002)"),
    Block(
        "clipped_ratio",
        "−E[min(r_θ Â, clip(r_θ, 1±ε) Â)]",
        "PPO's pessimistic surrogate; the clip itself limits the step (§6)",
    ),
)
PROXIMITIES = _registry(
    Block("none", "0", "no proximity term (the surrogate must limit the step itself)"),
    Block(
        "euclidean", "½‖θ−θ_k‖²", "parameter distance; its proximal step is a gradient step (§3)"
    ),
    Block("kl_forward", "KL(π_k‖π_θ)", "mass-covering KL of TRPO/PPO-KL; Hessian = Fisher (§4–§6)"),
    Block("kl_reverse", "KL(π_θ‖π_k)", "mode-seeking KL, mirror descent's Bregman term (§8.2)"),
)
PROXIMITY_AS = ("penalty", "constraint")
COEFFICIENTS = _registry(
    Block("fixed", "β·D", "a constant weight β (NPG's λ of §4: step 1/β)"),
    Block("adaptive", "β_k·D", "PPO-KL's rule: β halves below kl_target/1.5, doubles above 1.5×"),
    Block("annealed", "D/t_k", "MDPO's t_k: linear (Tomar et al.), geometric (Xiao) or constant"),
    Block("shani", "D/t_k", "Adaptive TRPO's t_k = c/(λ(k+2)) or c/√(k+1) (Shani et al. 2019)"),
)
SOLVERS = _registry(
    Block("first_order", "optax steps", "an optax optimiser: epochs × minibatches or full batch"),
    Block(
        "natural", "θ_k − s·(∇²D)⁻¹g", "CG on curvature-vector products, step 1/β, t_k or √(2δ/gᵀd)"
    ),
    Block("natural_linesearch", "+ backtracking", "the natural step, then TRPO's backtracking"),
    Block("closed_form", "exact argmin", "the mirror or gradient step in closed form", ("exact",)),
)

_REGISTRIES: dict[str, Mapping[str, Block | None]] = {
    "surrogate": SURROGATES,
    "proximity": PROXIMITIES,
    "proximity_as": dict.fromkeys(PROXIMITY_AS),
    "coefficient": COEFFICIENTS,
    "solver": SOLVERS,
}


def parse_proximity(spec: str) -> tuple[str, str | None, str | None]:
    """``"kl_forward:constraint"`` → (proximity, proximity_as, coefficient); parts may be absent.

    The short form of the CLI and of :func:`policyopt.compose`: ``"kl_reverse:annealed"`` is a
    penalty with the annealed rule, ``"kl_forward:constraint"`` a trust region, ``"none"``
    nothing.
    """
    name, _, rule = spec.partition(":")
    if not rule:
        return name, None, None
    if rule == "constraint":
        return name, "constraint", None
    if rule == "penalty":
        return name, "penalty", None
    return name, "penalty", rule


@dataclass(frozen=True)
class Composition:
    """One row of the table: which surrogate, proximity (and how), and which solver.

    ``coefficient`` only matters for a penalty; ``entropy`` says whether the surrogate carries
    the entropy term (−ent_coef·H at the deep level; the entropy-regularised objective at the
    exact level).
    """

    surrogate: str
    proximity: str
    solver: str
    proximity_as: str = "penalty"
    coefficient: str = "fixed"
    entropy: bool = False

    def check(self, level: str, owner: str = "compose") -> Composition:
        """Refuse a combination that makes no sense at ``level``, saying why and what works.

        Returns ``self`` so it can be chained. Raises :class:`~policyopt.errors.ConfigError`
        naming the field, before anything is built or compiled.
        """
        check_choice(owner, "level", level, LEVELS)
        for field, registry in _REGISTRIES.items():
            check_choice(owner, field, getattr(self, field), list(registry))
        s, p, solver = self.surrogate, self.proximity, self.solver
        natural = solver in ("natural", "natural_linesearch")
        if level not in SOLVERS[solver].levels:
            ok = [n for n, b in SOLVERS.items() if level in b.levels]
            raise ConfigError(
                owner,
                "solver",
                f"{solver!r} has no {level}-level form (a closed-form step exists only for "
                "tabular softmax policies, not for neural parameters); valid here: "
                + ", ".join(ok),
            )
        if p == "none" and self.proximity_as == "constraint":
            raise ConfigError(
                owner, "proximity_as", "a constraint needs a distance: choose euclidean, "
                "kl_forward or kl_reverse, or proximity_as='penalty'"
            )  # fmt: skip
        if p == "none" and natural:
            raise ConfigError(
                owner,
                "proximity",
                f"solver {solver!r} preconditions by the proximity's curvature, and 'none' has "
                "none; choose euclidean, kl_forward or kl_reverse, or solver='first_order'",
            )
        if self.proximity_as == "constraint" and not natural:
            raise ConfigError(
                owner,
                "proximity_as",
                f"solver {solver!r} cannot enforce a constraint; use solver 'natural' (trust-"
                "region step √(2δ/gᵀF⁻¹g)) or 'natural_linesearch' (TRPO), or make the "
                "proximity a penalty",
            )
        if solver == "natural_linesearch" and self.proximity_as != "constraint":
            raise ConfigError(
                owner,
                "proximity_as",
                "natural_linesearch backtracks until the constraint D ≤ δ holds, so the "
                "proximity must be a constraint; for a penalised natural step use solver 'natural'",
            )
        if (
            self.proximity_as == "penalty"
            and self.coefficient == "adaptive"
            and (not p.startswith("kl_"))
        ):
            raise ConfigError(
                owner,
                "coefficient",
                f"the adaptive rule compares the step's KL to kl_target; with proximity {p!r} "
                "use fixed, annealed or shani, or a KL proximity",
            )
        if solver == "closed_form":
            closed = {("ratio", "kl_reverse"), ("score", "euclidean")}
            if (s, p) not in closed or self.proximity_as != "penalty":
                raise ConfigError(
                    owner,
                    "solver",
                    f"no closed-form minimiser for surrogate {s!r} with proximity {p!r} "
                    f"({self.proximity_as}); closed forms: ratio + kl_reverse penalty (the "
                    "mirror step π ∝ π_k e^{−A/c}), score + euclidean penalty (the gradient "
                    "step); otherwise use first_order or natural",
                )
        return self

    @property
    def proximity_label(self) -> str:
        if self.proximity == "none":
            return "none"
        how = (
            "constraint ≤ δ" if self.proximity_as == "constraint" else f"{self.coefficient} penalty"
        )
        return f"{self.proximity} {how}"

    def describe(self) -> str:
        """``ratio + entropy · kl_reverse shani penalty · first_order``: one line, the table's."""
        surrogate = self.surrogate + (" + entropy" if self.entropy else "")
        return f"{surrogate} · {self.proximity_label} · {self.solver}"


@dataclass(frozen=True)
class CompositionFields:
    """The fields a composed recipe shares at both levels: one vocabulary, one declaration.

    The deep ``ComposedConfig`` and the exact ``Composed`` inherit these and override a few
    defaults (the exact level's step sizes are larger: exact advantages need no trust).

    Attributes:
        surrogate: score, ratio or clipped_ratio (plus −ent_coef·H; exact level: the
            entropy-regularised objective, linearised at π_k).
        proximity: none, euclidean, kl_forward or kl_reverse.
        proximity_as: "penalty" (weighted by ``coefficient``) or "constraint" (≤ δ).
        coefficient: the penalty's rule: fixed (β), adaptive (β from beta_init toward
            kl_target), annealed (1/t_k, MDPO's schedule) or shani (1/t_k, Adaptive TRPO's).
        solver: first_order, natural, natural_linesearch (or closed_form, exact level).
        learning_rate, optimizer, n_epochs: the first-order solver (adam, rmsprop or sgd).
        clip_eps: ε of clipped_ratio. ent_coef: the entropy weight λ.
        beta: the fixed rule's β (a natural step is 1/β). beta_init, kl_target: the adaptive
            rule. schedule, t_init, t_min, t_max: the annealed rule. step_scale: shani's c.
        delta: the constraint's radius δ.
        backtrack_coef, max_backtracks: natural_linesearch.
    """

    surrogate: str = "ratio"
    proximity: str = "kl_forward"
    proximity_as: str = "penalty"
    coefficient: str = "fixed"
    solver: str = "first_order"
    learning_rate: float = 3e-4
    optimizer: str = "adam"
    n_epochs: int = 10
    clip_eps: float = 0.2
    ent_coef: float = 0.0
    beta: float = 1.0
    beta_init: float = 1.0
    kl_target: float = 0.01
    schedule: str = "linear"
    t_init: float = 1.0
    t_min: float = 0.01
    t_max: float = 1e6
    step_scale: float = 1.0
    delta: float = 0.01
    backtrack_coef: float = 0.8
    max_backtracks: int = 10

    @property
    def composition(self) -> Composition:
        return Composition(
            self.surrogate, self.proximity, self.solver, self.proximity_as, self.coefficient, True
        )


_FO, _NAT, _LS, _CF = "first_order", "natural", "natural_linesearch", "closed_form"

#: The seven named algorithms of the paper as rows, per level. NPG's row is its default
#: ``step_rule="fixed"``; ``step_rule="trust_region"`` makes its proximity a constraint.
NAMED: dict[str, dict[str, Composition]] = {
    "deep": {
        "pg": Composition("score", "euclidean", _FO, entropy=True),
        "npg": Composition("score", "kl_forward", _NAT),
        "trpo": Composition("ratio", "kl_forward", _LS, "constraint"),
        "ppo": Composition("clipped_ratio", "none", _FO, entropy=True),
        "ppo_kl": Composition("ratio", "kl_forward", _FO, coefficient="adaptive", entropy=True),
        "mdpo": Composition("ratio", "kl_reverse", _FO, coefficient="annealed"),
        "adaptive_trpo": Composition("ratio", "kl_reverse", _FO, coefficient="shani", entropy=True),
        "acktr": Composition("score", "kl_forward", _NAT, "constraint", entropy=True),
    },
    "exact": {
        "pg": Composition("score", "euclidean", _FO),
        "npg": Composition("score", "kl_forward", _NAT),
        "trpo": Composition("ratio", "kl_forward", _LS, "constraint"),
        "ppo": Composition("clipped_ratio", "none", _FO),
        "ppo_kl": Composition("ratio", "kl_forward", _FO, coefficient="adaptive"),
        "mdpo": Composition("ratio", "kl_reverse", _CF, coefficient="annealed"),
        "adaptive_trpo": Composition("ratio", "kl_reverse", _CF, coefficient="shani", entropy=True),
    },
}


def algorithm_table(level: str = "deep") -> str:
    """The named rows of ``level`` as a Markdown table (the README's is checked against it)."""
    rows = [
        "| name | surrogate | proximity | solver |",
        "|---|---|---|---|",
    ]
    for name, c in NAMED[level].items():
        surrogate = f"`{c.surrogate}`" + (" + entropy" if c.entropy else "")
        prox = "`none`" if c.proximity == "none" else (
            f"`{c.proximity}` ≤ δ" if c.proximity_as == "constraint"
            else f"`{c.proximity}`, `{c.coefficient}` penalty"
        )  # fmt: skip
        rows.append(f"| `{name}` | {surrogate} | {prox} | `{c.solver}` |")
    return "\n".join(rows)


def parse_recipe(text: str) -> tuple[str, dict[str, str]]:
    """A CLI recipe: a name (``ppo``) or ``SURROGATE/PROXIMITY[:RULE]/SOLVER``.

    ``"ratio/kl_reverse:constraint/natural_linesearch"`` → ``("composed", {"surrogate":
    "ratio", "proximity": "kl_reverse", "proximity_as": "constraint", "solver":
    "natural_linesearch"})``; a plain name is returned with no fields. The fields are then
    checked by the config like any ``--set``.
    """
    if "/" not in text:
        return text, {}
    parts = text.split("/")
    if len(parts) != 3 or not all(parts):
        raise ConfigError(
            "recipe",
            "composition",
            f"expected SURROGATE/PROXIMITY[:RULE]/SOLVER (e.g. clipped_ratio/kl_forward:"
            f"constraint/natural), got {text!r}",
        )
    return "composed", composition_fields(parts[0], parts[1], parts[2])


def composition_fields(surrogate: str, proximity: str, solver: str, **fields: Any) -> dict:
    """The config fields of a composition, with ``proximity``'s rule spelled out.

    ``composition_fields("ratio", "kl_forward:constraint", "natural", delta=0.02)`` →
    ``{"surrogate": "ratio", "proximity": "kl_forward", "proximity_as": "constraint",
    "solver": "natural", "delta": 0.02}``; a field given both ways is refused.
    """
    name, how, rule = parse_proximity(proximity)
    spec: dict[str, Any] = {"surrogate": surrogate, "proximity": name, "solver": solver}
    if how is not None:
        spec["proximity_as"] = how
    if rule is not None:
        spec["coefficient"] = rule
    clash = sorted(set(spec) & set(fields))
    if clash:
        raise ConfigError("compose", clash[0], "given twice (positionally and as a keyword)")
    return {**spec, **fields}


def file_safe(label: str) -> str:
    """A composition's spelling as a file or directory name (``/`` → ``+``, ``:`` → ``-``)."""
    return label.replace("/", "+").replace(":", "-")


def recipe_label(composition: Composition) -> str:
    """The CLI spelling of a composition, ``SURROGATE/PROXIMITY:RULE/SOLVER`` (file-safe with
    ``/`` → ``+``, ``:`` → ``-`` where it names a directory)."""
    rule = composition.proximity_as if composition.proximity_as == "constraint" else (
        composition.coefficient
    )  # fmt: skip
    prox = composition.proximity if composition.proximity == "none" else (
        f"{composition.proximity}:{rule}"
    )  # fmt: skip
    return f"{composition.surrogate}/{prox}/{composition.solver}"


def display_name(name: str, fields: dict) -> str:
    """A recipe's name for legends and titles: the name, or a composition's spelling."""
    if name != "composed":
        return name
    keys = ("surrogate", "proximity", "solver", "proximity_as", "coefficient")
    defaults = {"proximity_as": "penalty", "coefficient": "fixed"}
    try:
        return recipe_label(Composition(*(cast(Any, fields.get(k, defaults.get(k))) for k in keys)))
    except TypeError:
        return name
