"""The exact level's update engine: every composition as one step on the softmax table.

Each update is the seed's problem ``θ_{k+1} = argmin_θ surrogate(θ; θ_k) + proximity`` (cost,
minimised) with the blocks of :mod:`policyopt.composition`, solved exactly where a closed
form exists. The seven named algorithms are rows of :data:`policyopt.composition.NAMED`
(``"exact"``), each a frozen dataclass of defaults over one engine (:class:`_Exact`):

{table}

:func:`compose` builds any other valid row (``compose("ratio", "kl_reverse:constraint",
"natural_linesearch")``: TRPO with the reverse KL). Hyperparameters share the deep level's
names (``learning_rate``, ``n_epochs``, ``beta``, ``delta``, ``t_init``, ``ent_coef``, …).
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, cast

import jax
import jax.numpy as jnp
import numpy as np
import optax

from policyopt.composition import (
    NAMED,
    Composition,
    CompositionFields,
    algorithm_table,
    composition_fields,
    recipe_label,
)
from policyopt.divergences import adapt_kl_coefficient
from policyopt.errors import (
    ConfigError,
    check_choice,
    check_int,
    check_range,
    coerce_fields,
    suggest,
)
from policyopt.schedules import MIRROR_SCHEDULES, mirror_step_size, shani
from policyopt.solvers.directions import natural_direction as deep_natural_direction
from policyopt.solvers.natural import step_size_trust_region
from policyopt.tabular.exact import (
    Evaluation,
    evaluate_arrays,
    fisher_blocks,
    gradient_from_q,
    kl_per_state,
    kl_rho,
    softmax,
    x64,
)
from policyopt.tabular.mdp import TabularMDP

__all__ = [
    "ALGORITHMS",
    "FISHER_SOLVERS",
    "MDPO",
    "NPG",
    "PG",
    "PPOKL",
    "TRPO",
    "AdaptiveTRPO",
    "AlgoState",
    "Composed",
    "PPOClip",
    "StepInfo",
    "TabularAlgorithm",
    "compose",
    "make_config",
    "mirror_step",
    "natural_direction",
    "npg_closed_form",
]


@dataclass(frozen=True)
class StepInfo:
    """What one update did. ``kl`` is ``KL^ρ(π_k, π_{k+1})`` with ρ = ρ^{π_k} (unnormalised)."""

    step_size: float
    kl: float
    backtracks: int = 0
    accepted: bool = True
    extra: dict[str, float] = field(default_factory=dict)


@dataclass
class AlgoState:
    """Softmax logits θ[s, a] plus whatever an algorithm carries (β, Adam state, …)."""

    theta: np.ndarray
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.theta = np.asarray(self.theta, dtype=np.float64)


class TabularAlgorithm(Protocol):
    name: ClassVar[str]

    def init(self, mdp: TabularMDP, theta: np.ndarray) -> AlgoState: ...

    def step(
        self, mdp: TabularMDP, state: AlgoState, k: int, ev: Evaluation
    ) -> tuple[AlgoState, StepInfo]: ...


# --------------------------------------------------------------------------- shared pieces


FISHER_SOLVERS = ("exact", "dense", "cg", "krylov")


def natural_direction(
    blocks: jax.Array,
    g: jax.Array,
    A: jax.Array,
    solver: str = "exact",
    damping: float = 0.0,
    iterations: int = 10,
) -> jax.Array:
    """A solution of ``F d = g`` for the softmax table, per state (F is block diagonal).

    ``exact`` (the default) is the exact minimum-norm (pseudo-inverse) solution. With
    ``F_s = ρ(s)(diag π_s − π_s π_sᵀ)`` and ``g_s = ρ(s) π_s ⊙ A_s`` (formula (1)),
    ``(diag π − π πᵀ) A_s = π ⊙ A_s`` because ``Σ_a π A = 0``; the null space of the block is
    the constant vector, so ``F_s^† g_s = A_s − mean_a A_s``. It needs no damping and stays
    exact when π is nearly deterministic (the damped solve below then zeroes the update of
    every action with ρ(s)π(a|s) below the damping, so a policy that became nearly
    deterministic on a wrong action could never recover). On a state with ρ(s) = 0, F_s = 0
    and every direction solves the system; we take the ρ(s) → 0 limit, the same A_s − mean A_s.

    ``dense`` solves ``(F_s + damping·I) d = g_s`` with a dense factorisation per block: the
    approximation a deep-level solver makes, kept so its error is visible against the exact
    one (it needs damping > 0, F being singular along per-state constants). ``cg`` and
    ``krylov`` are the deep level's iterative solvers (:mod:`policyopt.solvers.directions`)
    on the whole table with ``iterations`` products, so their truncation error is visible too.
    """
    if solver == "exact":
        del blocks, g
        return _centred(A)
    if solver == "dense":
        return _damped_block_solve(blocks, g, damping)
    if solver in ("cg", "krylov"):
        return _iterative_solve(blocks, g, damping, solver, iterations)
    raise ValueError(f"fisher_solver: got {solver!r}; allowed: {', '.join(FISHER_SOLVERS)}")


@functools.partial(jax.jit, static_argnums=(3, 4))
def _iterative_solve(
    blocks: jax.Array, g: jax.Array, damping: float, solver: str, iterations: int
) -> jax.Array:
    """The deep level's solvers on the whole table (all states at once, as a network's F)."""

    def fisher(v: jax.Array) -> jax.Array:
        return jnp.einsum("sab,sb->sa", blocks, v)

    return deep_natural_direction(solver, fisher, g, damping, iterations, 0.0).d


@jax.jit
def _centred(A: jax.Array) -> jax.Array:
    return A - jnp.mean(A, axis=-1, keepdims=True)


@jax.jit
def _damped_block_solve(blocks: jax.Array, g: jax.Array, damping: float) -> jax.Array:
    eye = jnp.eye(blocks.shape[-1], dtype=blocks.dtype)
    return jnp.linalg.solve(blocks + damping * eye, g[..., None])[..., 0]


@jax.jit
def mirror_step(log_pi_k: jax.Array, scores: jax.Array, step: float | jax.Array) -> jax.Array:
    """Normalised logits of ``π ∝ π_k · exp(−step · scores)``, the KL-proximal (mirror) step.

    NPG's closed form, MDPO and (Adaptive/uniform) TRPO all reduce to it on the simplex.
    """
    return jax.nn.log_softmax(log_pi_k - step * scores, axis=-1)


def npg_closed_form(
    pi_k: np.ndarray, A: np.ndarray, eta: float, gamma: float, measure: str = "rho"
) -> np.ndarray:
    """The policy after one NPG step ``θ − η F⁻¹∇f`` from ``π_k`` (cost convention).

    With the seed's Fisher (weighted by ρ) ``F⁻¹∇f = A`` up to a per-state constant, hence
    ``π ∝ π_k exp(−η A)``. With Agarwal et al.'s Fisher weighted by ``d = (1−γ)ρ`` the same η
    gives ``π ∝ π_k exp(−η A/(1−γ))`` (their Lemma 15, reward form ``exp(+η A/(1−γ))``).
    """
    scale = 1.0 if measure == "rho" else 1.0 / (1.0 - gamma)
    with jax.enable_x64(True):
        return np.asarray(
            softmax(mirror_step(jnp.log(jnp.asarray(pi_k)), jnp.asarray(A), eta * scale))
        )


@jax.jit
def _normalise(theta: jax.Array) -> jax.Array:
    # Logits are defined up to a per-state constant; keep them centred (log π) so long runs
    # cannot drift to overflow.
    return jax.nn.log_softmax(theta, axis=-1)


# One compiled call per quantity a step reports, instead of a chain of eager operations:
# every eager jnp operation is a program of its own (traced, looked up in the compilation
# cache and dispatched one by one), which made a 200-iteration run mostly dispatch.


@jax.jit
def _moved(theta: jax.Array, step: jax.Array, d: jax.Array) -> jax.Array:
    """``normalise(θ − step·d)``."""
    return _normalise(theta - step * d)


@jax.jit
def _mirror_from_logits(theta: jax.Array, scores: jax.Array, step: jax.Array) -> jax.Array:
    return mirror_step(jax.nn.log_softmax(theta, axis=-1), scores, step)


@jax.jit
def _clip_fraction(theta: jax.Array, pi: jax.Array, d: jax.Array, eps: jax.Array) -> jax.Array:
    """Mass (under d and π_k) of the pairs whose ratio left [1−ε, 1+ε]."""
    outside = jnp.abs(softmax(theta) / pi - 1) > eps
    return d @ jnp.sum(pi * outside, axis=1)


@functools.partial(jax.jit, static_argnums=0)
def _mirror_step_size(schedule: str, *args: jax.Array) -> jax.Array:
    return mirror_step_size(schedule, *args)


_shani = jax.jit(shani)
_adapt_kl_coefficient = jax.jit(adapt_kl_coefficient)
_trust_region_step = jax.jit(step_size_trust_region)


@jax.jit
def _weighted_fisher_blocks(rho: jax.Array, pi: jax.Array, weight: jax.Array) -> jax.Array:
    return weight * fisher_blocks(rho, pi)


@jax.jit
def _kl_between(rho: jax.Array, theta_k: jax.Array, theta: jax.Array) -> jax.Array:
    return kl_rho(rho, softmax(theta_k), softmax(theta))


# --------------------------------------------------------------------------- the blocks
#
# Measures: ``score`` is the paper's linearisation ⟨∇f(θ_k), θ−θ_k⟩ with ∇f of formula (1)
# (ρ-weighted); ``ratio`` and ``clipped_ratio`` are expectations under d = (1−γ)ρ as a sample
# mean would be (their gradient at θ_k is (1−γ)∇f); penalties are under d too. Constraints
# and the line search's test use the paper's KL^ρ (§5, unnormalised ρ), and ``StepInfo.kl``
# is always KL^ρ(π_k, π_{k+1}).


def _surrogate(name: str, theta: jax.Array, data: dict[str, jax.Array], w: jax.Array) -> jax.Array:
    """The surrogate ``name`` at θ (cost, minimised), states weighted by ``w``."""
    if name == "score":
        return jnp.vdot(data["g"], theta - data["theta_k"])
    pi_k = data["pi_k"]
    if name == "ratio":
        return w @ jnp.sum(softmax(theta) * data["A"], axis=1)
    if name == "clipped_ratio":
        r = softmax(theta) / pi_k
        eps = data["clip_eps"]
        per = jnp.maximum(r * data["A"], jnp.clip(r, 1 - eps, 1 + eps) * data["A"])
        return w @ jnp.sum(pi_k * per, axis=1)
    raise ValueError(f"surrogate: got {name!r}")


def _divergence(name: str, theta: jax.Array, data: dict[str, jax.Array], w: jax.Array) -> jax.Array:
    """The proximity ``name`` between π_θ and π_k, states weighted by ``w``."""
    if name == "euclidean":
        diff = theta - data["theta_k"]
        return 0.5 * jnp.vdot(diff, diff)
    if name == "kl_forward":
        return w @ kl_per_state(data["pi_k"], softmax(theta))
    if name == "kl_reverse":
        return w @ kl_per_state(softmax(theta), data["pi_k"])
    return jnp.zeros((), theta.dtype)


_divergence_jit = jax.jit(_divergence, static_argnums=0)


def clipped_surrogate(theta: jax.Array, data: dict[str, jax.Array]) -> jax.Array:
    """Exact ``E_{s∼d_k, a∼π_k}[max(r A, clip(r, 1−ε, 1+ε) A)]`` (cost form of PPO-clip)."""
    return _surrogate("clipped_ratio", theta, data, data["d"])


def kl_penalised_surrogate(theta: jax.Array, data: dict[str, jax.Array]) -> jax.Array:
    """Exact ``E_{s∼d_k, a∼π_k}[r A] + β E_{s∼d_k} KL(π_k ‖ π_θ)`` (PPO-KL, cost form)."""
    d = data["d"]
    return _surrogate("ratio", theta, data, d) + data["beta"] * _divergence(
        "kl_forward", theta, data, d
    )


def _optax(name: str, lr: float) -> optax.GradientTransformation:
    return {"adam": optax.adam, "sgd": optax.sgd, "rmsprop": optax.rmsprop}[name](lr)


@functools.cache
def _descent(comp: Composition, optimizer: str, lr: float, steps: int, divide: bool) -> Any:
    """A jitted K-step optax loop on surrogate + penalty (cached per composition and settings).

    The penalty's weight arrives in ``data["coef"]``: β (``D·β``) or t_k (``D/t_k``, divide).
    """
    opt = _optax(optimizer, lr)

    def loss(theta: jax.Array, data: dict[str, jax.Array]) -> jax.Array:
        out = _surrogate(comp.surrogate, theta, data, data["d"])
        if comp.proximity != "none":
            dist = _divergence(comp.proximity, theta, data, data["d"])
            out = out + (dist / data["coef"] if divide else data["coef"] * dist)
        return out

    @jax.jit
    def run(theta: jax.Array, opt_state: Any, data: dict[str, jax.Array]) -> tuple[jax.Array, Any]:
        def body(_: int, carry: tuple[jax.Array, Any]) -> tuple[jax.Array, Any]:
            th, st = carry
            updates, st = opt.update(jax.grad(loss)(th, data), st, th)
            return optax.apply_updates(th, updates), st

        return jax.lax.fori_loop(0, steps, body, (theta, opt_state))

    return run, opt


def _trials(
    proximity: str,
    model: str,
    theta_k: jax.Array,
    step: jax.Array,
    d: jax.Array,
    fractions: jax.Array,
    rho: jax.Array,
    data: dict[str, jax.Array],
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Proximity and surrogate improvement at ``θ_k − fraction·step·d`` for every fraction
    of the line search, and ``gᵀd`` (the expected improvement per unit step)."""
    full_step = -step * d
    cands = theta_k[None] + fractions[:, None, None] * full_step[None]
    dist = jax.vmap(lambda th: _divergence(proximity, th, data, rho))(cands)
    # L(π) − L(π_k) with L under ρ; L(π_k) = 0 for ratio and clipped_ratio (Σ_a π_k A = 0),
    # so the improvement is −L(π) (cost).
    improve = -jax.vmap(lambda th: _surrogate(model, th, data, rho))(cands)
    return dist, improve, jnp.vdot(data["g"], d)


_trials_jit = jax.jit(_trials, static_argnums=(0, 1))


def _step_kl(ev: Evaluation, theta_k: jax.Array, theta: jax.Array) -> float:
    return float(_kl_between(ev.rho, theta_k, theta))


# --------------------------------------------------------------------------- the engine


class _Exact:
    """One step of any exact composition: the shared engine of every tabular algorithm.

    Subclasses are frozen dataclasses holding hyperparameters (the unified vocabulary of
    :mod:`policyopt.composition`); a named algorithm is only a row (``composition``) and
    defaults. Fields a block needs but a class lacks take the block's neutral value
    (``ent_coef`` 0, ``beta`` 0, ``clip_eps`` 0.2).
    """

    name: ClassVar[str]

    if TYPE_CHECKING:  # subclass fields the engine reads where its blocks need them
        learning_rate: float
        beta_init: float
        kl_target: float
        schedule: str
        horizon: int
        t_init: float
        t_min: float
        t_max: float
        step_scale: float
        fisher_solver: str
        damping: float
        cg_iters: int
        delta: float
        backtrack_coef: float
        max_backtracks: int

    @property
    def composition(self) -> Composition:
        return NAMED["exact"][self.name]

    @property
    def label(self) -> str:
        """The name, or for a composition its CLI spelling (histories, CSV files, legends)."""
        return recipe_label(self.composition) if self.name == "composed" else self.name

    def _get(self, field_name: str, default: Any = None) -> Any:
        return getattr(self, field_name, default)

    def init(self, mdp: TabularMDP, theta: np.ndarray) -> AlgoState:
        comp = self.composition
        extra: dict[str, Any] = {}
        if comp.solver == "first_order":
            _, opt = self._descent(False)
            with jax.enable_x64(True):
                extra["opt_state"] = jax.jit(opt.init)(np.asarray(theta))
        if comp.coefficient == "adaptive" and comp.proximity_as == "penalty":
            extra["beta"] = self.beta_init
        return AlgoState(theta, extra)

    def _descent(self, divide: bool) -> Any:
        optimizer, epochs = self._get("optimizer", "adam"), self._get("n_epochs", 1)
        return _descent(self.composition, optimizer, self.learning_rate, epochs, divide)

    def penalty_weight(self, k: int, mdp: TabularMDP, extra: dict[str, Any]) -> tuple[float, bool]:
        """The penalty's weight: (β, False) for β·D or (t_k, True) for D/t_k."""
        rule = self.composition.coefficient
        if rule == "fixed":
            return float(self._get("beta", 0.0)), False
        if rule == "adaptive":
            return float(extra["beta"]), False
        if rule == "annealed":
            return self.step_size(k, mdp.gamma), True
        if rule == "shani":
            return self.shani_step(k, mdp), True
        raise ValueError(f"coefficient: got {rule!r}")

    def step_size(self, k: int, gamma: float) -> float:
        """t_k of the annealed rule (:func:`policyopt.schedules.mirror_step_size`)."""
        return float(
            _mirror_step_size(
                self.schedule, k, k / self.horizon, gamma, self.t_init, self.t_min, self.t_max
            )
        )

    def shani_step(self, k: int, mdp: TabularMDP) -> float:
        """Shani et al.'s t_k with G = C_max/(1−γ); λ t_k capped at 1 (soft policy iteration)."""
        lam = float(self._get("ent_coef", 0.0))
        c_max = max(float(np.abs(mdp.cost).max()), 1e-12)
        with jax.enable_x64(True):
            t_k = float(_shani(k, lam, self.step_scale, c_max / (1 - mdp.gamma)))
        return min(t_k, 1.0 / lam) if lam > 0 else t_k

    @x64
    def step(
        self, mdp: TabularMDP, state: AlgoState, k: int, ev: Evaluation
    ) -> tuple[AlgoState, StepInfo]:
        comp = self.composition
        th = jnp.asarray(state.theta)
        pi = softmax(th)
        extra_info: dict[str, float] = {}
        scores, adv = ev.Q, ev.A
        lam = float(self._get("ent_coef", 0.0)) if comp.entropy else 0.0
        if lam > 0:
            # The entropy-regularised objective, linearised at π_k (Shani et al.): scores
            # q_λ + λ log π_k, whose per-state mean under π_k is removed for the advantage.
            ev_reg = evaluate_arrays(mdp.P, mdp.cost, mdp.gamma, mdp.mu, pi, lam)
            scores = ev_reg.Q + lam * jnp.log(pi)
            adv = scores - jnp.sum(pi * scores, axis=1, keepdims=True)
            extra_info["f_regularised"] = float(ev_reg.f)
        data = {
            "theta_k": th,
            "pi_k": pi,
            "A": adv,
            "g": gradient_from_q(ev.rho, pi, scores),
            "d": (1 - mdp.gamma) * ev.rho,
            "clip_eps": self._get("clip_eps", 0.2),
        }
        penalty = comp.proximity_as == "penalty" and comp.proximity != "none"
        coef, divide = self.penalty_weight(k, mdp, state.extra) if penalty else (0.0, False)
        if penalty:
            extra_info["t_k" if divide else "beta"] = coef
        new_extra = dict(state.extra)
        if comp.solver == "first_order":
            run, _ = self._descent(divide)
            new, new_extra["opt_state"] = run(th, state.extra["opt_state"], data | {"coef": coef})
            new = _normalise(new)
            info = StepInfo(self.learning_rate, _step_kl(ev, th, new))
            if comp.surrogate == "clipped_ratio":
                clipped = _clip_fraction(new, pi, data["d"], data["clip_eps"])
                extra_info["clip_fraction"] = float(clipped)
        elif comp.solver == "closed_form":
            step = coef if divide else 1.0 / coef
            if comp.proximity == "euclidean":  # the gradient step θ_k − η∇f
                new = _moved(th, step, data["g"])
            else:  # the mirror step π ∝ π_k exp(−t A)
                new = _mirror_from_logits(th, adv, step)
            info = StepInfo(step, _step_kl(ev, th, new))
        else:
            new, info = self._natural(mdp, ev, th, data, coef, divide)
            if new is None:
                return AlgoState(state.theta, state.extra), info
        if comp.coefficient == "adaptive" and penalty:
            moved = float(_divergence_jit(comp.proximity, new, data, data["d"]))
            new_extra["beta"] = float(_adapt_kl_coefficient(coef, moved, self.kl_target))
            extra_info |= {"beta": new_extra["beta"], "kl_d": moved}
        info.extra.update(extra_info)
        return AlgoState(np.asarray(new), new_extra), info

    def _natural(
        self,
        mdp: TabularMDP,
        ev: Evaluation,
        th: jax.Array,
        data: dict[str, jax.Array],
        coef: float,
        divide: bool,
    ) -> tuple[jax.Array | None, StepInfo]:
        """Direction F^†g (exact) or (F + λI)⁻¹g (dense), then the step, then the line search."""
        comp = self.composition
        g = data["g"]
        if comp.proximity == "euclidean":
            d = g  # the metric ½‖Δ‖² has identity curvature: the direction is g itself
        else:
            weight = 1.0 if self._get("fisher_measure", "rho") == "rho" else 1.0 - mdp.gamma
            blocks = _weighted_fisher_blocks(ev.rho, data["pi_k"], weight)
            d = natural_direction(
                blocks, g, data["A"] / weight, self.fisher_solver, self.damping, self.cg_iters
            )
        if comp.proximity_as == "constraint":
            # √(2δ/gᵀF^†g) grows without bound as gᵀF^†g → 0; with the exact direction that
            # is a policy-iteration step (π ∝ π_k e^{−sA}, s → ∞), which never increases f.
            step = float(_trust_region_step(g, d, self.delta))
        else:
            step = coef if divide else 1.0 / coef
        if comp.solver == "natural":
            new = _moved(th, step, d)
            return new, StepInfo(step, _step_kl(ev, th, new))
        model = "ratio" if comp.surrogate == "score" else comp.surrogate
        fractions = self.backtrack_coef ** np.arange(self.max_backtracks, dtype=np.float64)
        dist, improve, gd = (
            np.asarray(x)
            for x in _trials_jit(comp.proximity, model, th, step, d, fractions, ev.rho, data)
        )
        ok = (dist <= self.delta) & (improve > 0)
        expected = float(step * gd)
        if not ok.any():
            return None, StepInfo(
                0.0, 0.0, self.max_backtracks, False, {"expected_improve": expected}
            )
        i = int(ok.argmax())
        new = _moved(th, float(fractions[i]) * step, d)
        extra = {
            "expected_improve": expected * float(fractions[i]),
            "surrogate_improve": float(improve[i]),
        }
        return new, StepInfo(float(fractions[i] * step), _step_kl(ev, th, new), i, True, extra)


# --------------------------------------------------------------------------- shared fields


def _check_natural(owner: str, cfg: Any) -> None:
    check_choice(owner, "fisher_solver", cfg.fisher_solver, FISHER_SOLVERS)
    check_range(owner, "damping", cfg.damping, 0.0, low_open=False)
    check_int(owner, "cg_iters", cfg.cg_iters, 1)
    if cfg.fisher_solver != "exact" and cfg.damping <= 0:
        raise ConfigError(
            owner,
            "damping",
            f"must be > 0 with fisher_solver={cfg.fisher_solver!r} (F is singular along per-state "
            "constants); fisher_solver='exact' is the exact pseudo-inverse and needs none",
        )


def _check_first_order(owner: str, cfg: Any) -> None:
    check_range(owner, "learning_rate", cfg.learning_rate, 0.0)
    check_int(owner, "n_epochs", cfg.n_epochs, 1)
    check_choice(owner, "optimizer", cfg.optimizer, ["adam", "sgd", "rmsprop"])


def _check_annealed(owner: str, cfg: Any) -> None:
    check_choice(owner, "schedule", cfg.schedule, MIRROR_SCHEDULES)
    check_range(owner, "t_init", cfg.t_init, 0.0)
    check_range(owner, "t_max", cfg.t_max, 0.0)
    check_range(owner, "t_min", cfg.t_min, 0.0)
    check_int(owner, "horizon", cfg.horizon, 1)


# --------------------------------------------------------------------------- the named rows


@dataclass(frozen=True)
class PG(_Exact):
    """Vanilla policy gradient (§3): ``θ ← θ − η ∇f(θ)`` with the exact gradient (1).

    Row: score · euclidean penalty · first_order (one SGD step of size η = ``learning_rate``,
    which *is* the proximal step of ½‖θ−θ_k‖²/η). Sign: the seed writes ``θ + η∇f``; f is a
    cost here, so the step descends.

    Attributes:
        learning_rate: the step size η.
        beta: weight of an explicit β·½‖θ−θ_k‖² (its gradient vanishes at θ_k, so with one
            step it changes nothing; it matters with ``n_epochs`` > 1).
    """

    learning_rate: float = 100.0
    beta: float = 0.0
    n_epochs: int = 1
    optimizer: str = "sgd"
    name: ClassVar[str] = "pg"

    def __post_init__(self) -> None:
        coerce_fields(self)
        _check_first_order("PG", self)
        check_range("PG", "beta", self.beta, 0.0, low_open=False)


@dataclass(frozen=True)
class NPG(_Exact):
    """Natural policy gradient (§4): ``θ ← θ − step · F^†∇f`` (cost, minimised).

    Row: score · kl_forward (penalty β·½ΔᵀFΔ, or constraint ≤ δ with ``step_rule``
    ``"trust_region"``) · natural. Sign: the seed writes ``θ + η F⁻¹∇f``, an ascent step; f
    is a cost here, so the step descends (``−``), as its argmin formulation requires.

    With the exact direction (``fisher_solver="exact"``) a step of size η from π_k is exactly
    ``π ∝ π_k · exp(−η A_k)`` for *any* η (Agarwal et al. 2021, Lemma 15 in cost form). A
    larger η gives a smaller convergence bound, but not always fewer iterations: as η → ∞,
    ``log π_k = −η Σ_{j<k} A_j`` makes π_k greedy in the *cumulative* advantage, which is not
    policy iteration (tests/test_tabular_algorithms.py keeps a counterexample).

    Attributes:
        step_rule: ``"fixed"`` (step 1/β) or ``"trust_region"`` (step √(2δ/gᵀF^†g); as
            gᵀF^†g → 0 at convergence this is a policy-iteration step, which the exact
            direction makes safe: see :class:`TRPO`'s tests).
        beta: the fixed rule's penalty β (the λ of §4; step η = 1/β).
        delta: trust-region radius δ for ``"trust_region"``.
        fisher_solver: ``"exact"`` (pseudo-inverse in closed form, no damping), ``"dense"``
            (damped block solve, the approximation deep solvers make), ``"cg"`` or
            ``"krylov"`` (the deep level's iterative solvers on the whole table).
        damping: Tikhonov damping of the approximate solvers (must be > 0 there).
        cg_iters: products of ``cg`` / the Krylov dimension of ``krylov``.
        fisher_measure: ``"rho"`` (the seed's F, weighted by ρ) or ``"d"`` (Agarwal et al.,
            weighted by (1−γ)ρ; the same η then moves 1/(1−γ) further).
    """

    step_rule: Literal["trust_region", "fixed"] = "fixed"
    beta: float = 0.1
    delta: float = 0.1
    fisher_solver: Literal["exact", "dense", "cg", "krylov"] = "exact"
    damping: float = 1e-10
    cg_iters: int = 10
    fisher_measure: Literal["rho", "d"] = "rho"
    name: ClassVar[str] = "npg"

    @property
    def composition(self) -> Composition:
        row = NAMED["exact"]["npg"]
        if self.step_rule == "trust_region":
            return dataclasses.replace(row, proximity_as="constraint")
        return row

    def __post_init__(self) -> None:
        coerce_fields(self)
        check_range("NPG", "delta", self.delta, 0.0)
        check_range("NPG", "beta", self.beta, 0.0)
        _check_natural("NPG", self)


@dataclass(frozen=True)
class TRPO(_Exact):
    """TRPO (§5.3): natural direction, maximal step √(2δ/gᵀF⁻¹g), backtracking α^i.

    Row: ratio · kl_forward constraint ≤ δ · natural_linesearch. A candidate is accepted iff
    ``KL^ρ(π_k, π) ≤ δ`` and the surrogate L improves; if none of ``max_backtracks``
    candidates is accepted, θ_k is kept (Schulman et al. 2015, App. C).

    Sign and return-value notes against the seed's text: the seed's §5.2 bound reads
    ``L − C·KL^max`` (reward form); in cost form it is ``f(π̃) ≤ L_π(π̃) + C·KL^max(π, π̃)``
    (tested, Schulman et al. 2015 Thm 1). The seed's line search returns "the last" step
    tried when none is accepted; we return θ_k (Schulman et al.'s choice, and the only one
    that keeps the monotone-improvement guarantee).
    """

    delta: float = 0.05
    backtrack_coef: float = 0.8
    max_backtracks: int = 15
    fisher_solver: Literal["exact", "dense", "cg", "krylov"] = "exact"
    damping: float = 1e-10
    cg_iters: int = 10
    name: ClassVar[str] = "trpo"

    def __post_init__(self) -> None:
        coerce_fields(self)
        check_range("TRPO", "delta", self.delta, 0.0)
        check_range("TRPO", "backtrack_coef", self.backtrack_coef, 0.0, 1.0)
        check_int("TRPO", "max_backtracks", self.max_backtracks, 1)
        _check_natural("TRPO", self)


@dataclass(frozen=True)
class PPOClip(_Exact):
    """PPO-clip (§6): K Adam steps on the exact clipped surrogate under (d_k, π_k).

    Row: clipped_ratio · none · first_order.
    """

    clip_eps: float = 0.2
    learning_rate: float = 0.1
    n_epochs: int = 10
    optimizer: str = "adam"
    name: ClassVar[str] = "ppo"

    def __post_init__(self) -> None:
        coerce_fields(self)
        check_range("PPOClip", "clip_eps", self.clip_eps, 0.0, 1.0)
        _check_first_order("PPOClip", self)


@dataclass(frozen=True)
class PPOKL(_Exact):
    """PPO with adaptive KL penalty (§6; Schulman et al. 2017, §4).

    Row: ratio · kl_forward adaptive penalty · first_order. After K Adam steps on
    ``L + β KL``, with ``d = E_{s∼d_k} KL(π_k‖π_{k+1})``: ``d < kl_target/1.5 ⇒ β ← β/2``;
    ``d > 1.5·kl_target ⇒ β ← 2β``.
    """

    kl_target: float = 0.01
    beta_init: float = 1.0
    learning_rate: float = 0.1
    n_epochs: int = 10
    optimizer: str = "adam"
    name: ClassVar[str] = "ppo_kl"

    def __post_init__(self) -> None:
        coerce_fields(self)
        check_range("PPOKL", "kl_target", self.kl_target, 0.0)
        check_range("PPOKL", "beta_init", self.beta_init, 0.0)
        _check_first_order("PPOKL", self)


@dataclass(frozen=True)
class MDPO(_Exact):
    """On-policy MDPO (§8.2; Tomar, Shani, Efroni, Ghavamzadeh 2020) on the simplex.

    Row: ratio · kl_reverse annealed penalty · closed_form.
    ``π_{k+1} = argmin_π E_{s∼ρ_k}[⟨π, A_k⟩ + KL(π ‖ π_k)/t_k]`` has the closed form
    ``π ∝ π_k exp(−t_k A_k)`` (policy mirror descent, Lan 2021). The seed writes the MDPO
    objective as argmin{L − β KL}; with L a cost the proximity term must be *added*
    (``+ KL/t_k``), which is what is solved here.

    Schedules (see :mod:`policyopt.schedules`; the two named ones anneal in opposite
    directions and are different algorithms):

    * ``"geometric"`` (default here): policy mirror descent's t_k = t_init/γ^k capped at
      ``t_max`` (Xiao 2022, Thm 10: η_{k+1} ≥ η_k/γ ⇒ linear convergence);
    * ``"linear"``: the MDPO paper's t_k = max(t_init(1 − k/K), t_min) over K = ``horizon``
      iterations (the deep level's default);
    * ``"constant"``: t_k = t_init (O(1/k)).
    """

    t_init: float = 1.0
    schedule: Literal["geometric", "linear", "constant"] = "geometric"
    t_max: float = 1e6
    t_min: float = 0.01
    horizon: int = 100
    name: ClassVar[str] = "mdpo"

    def __post_init__(self) -> None:
        coerce_fields(self)
        _check_annealed("MDPO", self)


@dataclass(frozen=True)
class AdaptiveTRPO(_Exact):
    """Uniform ("adaptive") TRPO of Shani, Efroni & Mannor (2019) with their step sizes.

    Row: ratio + entropy · kl_reverse shani penalty · closed_form. Update (KL Bregman, cost
    convention, regulariser ``λ Σ_a π log π``, λ = ``ent_coef``)::

        π_{k+1}(·|s) ∝ π_k(·|s) · exp(−t_k (q_λ^{π_k}(s,·) + λ log π_k(·|s)))

    Step sizes (:func:`policyopt.schedules.shani`, c = ``step_scale``, default 1, the
    theorem's): regularised (λ > 0) ``t_k = c/(λ(k+2))`` (rate Õ(1/k)); unregularised
    ``t_k = c·(1−γ)/(C_max √(k+1))`` (rate Õ(1/√k)), C_max = max |cost|. λ t_k is capped at
    1 (soft policy iteration), which only binds for c > 2. The unregularised rule moves
    slowly by design (FrozenLake: f − f* ≈ 0.5 after 300 iterations); raise ``step_scale``
    to trade the theorem's constant for speed.
    """

    ent_coef: float = 0.0
    step_scale: float = 1.0
    name: ClassVar[str] = "adaptive_trpo"

    def __post_init__(self) -> None:
        coerce_fields(self)
        check_range("AdaptiveTRPO", "ent_coef", self.ent_coef, 0.0, low_open=False)
        check_range("AdaptiveTRPO", "step_scale", self.step_scale, 0.0)


@dataclass(frozen=True)
class Composed(CompositionFields, _Exact):
    """Any exact-level row of :mod:`policyopt.composition` (name ``composed``).

    Build it with :func:`compose`. The fields are
    :class:`~policyopt.composition.CompositionFields` (one vocabulary with the deep level),
    with exact-level defaults; only those the chosen blocks use matter. Added here:

    Attributes:
        horizon: K of the linear annealed schedule (iterations).
        fisher_solver, damping, fisher_measure: the natural direction, as :class:`NPG`.
    """

    proximity: str = "kl_reverse"
    solver: str = "closed_form"
    learning_rate: float = 0.1
    beta: float = 0.1
    schedule: str = "geometric"
    delta: float = 0.05
    max_backtracks: int = 15
    horizon: int = 100
    fisher_solver: str = "exact"
    damping: float = 1e-10
    cg_iters: int = 10
    fisher_measure: str = "rho"
    name: ClassVar[str] = "composed"

    def __post_init__(self) -> None:
        coerce_fields(self)
        o = "Composed"
        comp = self.composition.check("exact", o)
        _check_first_order(o, self)
        check_range(o, "clip_eps", self.clip_eps, 0.0, 1.0)
        check_range(o, "ent_coef", self.ent_coef, 0.0, low_open=False)
        fixed_penalty = comp.coefficient == "fixed" and comp.proximity_as == "penalty"
        needs_positive = fixed_penalty and comp.solver != "first_order"
        check_range(o, "beta", self.beta, 0.0, low_open=needs_positive)
        check_range(o, "beta_init", self.beta_init, 0.0)
        check_range(o, "kl_target", self.kl_target, 0.0)
        _check_annealed(o, self)
        check_range(o, "step_scale", self.step_scale, 0.0)
        check_range(o, "delta", self.delta, 0.0)
        check_range(o, "backtrack_coef", self.backtrack_coef, 0.0, 1.0)
        check_int(o, "max_backtracks", self.max_backtracks, 1)
        _check_natural(o, self)
        check_choice(o, "fisher_measure", self.fisher_measure, ["rho", "d"])


ALGORITHMS: dict[str, type] = {
    cls.name: cls for cls in (PG, NPG, TRPO, PPOClip, PPOKL, MDPO, AdaptiveTRPO, Composed)
}


def make_config(name: str, **hparams: Any) -> TabularAlgorithm:
    """Build an algorithm by its CLI name; unknown names or fields list the valid ones."""
    if name not in ALGORITHMS:
        raise ConfigError(
            "tabular",
            "algorithm",
            f"unknown {name!r}; valid: {', '.join(ALGORITHMS)}{suggest(name, ALGORITHMS)}",
        )
    cls = ALGORITHMS[name]
    fields = [f for f in cast(Any, cls).__dataclass_fields__ if f != "name"]
    for key in hparams:
        if key not in fields:
            raise ConfigError(
                cls.__name__,
                key,
                f"unknown field; valid: {', '.join(fields)}{suggest(key, fields)}",
            )
    return cls(**hparams)


def compose(surrogate: str, proximity: str, solver: str, **fields: Any) -> Composed:
    """An exact-level algorithm of any valid surrogate × proximity × solver.

    The same vocabulary as :func:`policyopt.compose`: ``proximity`` may carry its rule
    (``"kl_forward:constraint"``, ``"kl_reverse:annealed"``, ``"kl_forward:adaptive"``).
    """
    spelled = composition_fields(surrogate, proximity, solver, **fields)
    return make_config("composed", **spelled)  # type: ignore[return-value]


__doc__ = (__doc__ or "").replace("{table}", algorithm_table("exact"))
