"""Exact update rules: every algorithm of the paper as one step on the softmax table.

Each algorithm is the seed's problem ``θ_{k+1} = argmin_θ ⟨∇f(θ_k), θ−θ_k⟩ + proximity``
(cost, minimised) solved one way, built from the shared pieces below:

======================  ==========================  =====================================
algorithm               proximity                   solver
======================  ==========================  =====================================
PG (§3)                 ½‖θ−θ_k‖²/η                 one gradient step
NPG (§4)                ½ΔᵀFΔ (KL's 2nd order)      damped solve F⁻¹g, step √(2δ/gᵀF⁻¹g) or 1/λ
TRPO (§5.3)             KL^ρ(π_k, π_θ) ≤ δ          natural step + backtracking α^i
PPO-clip (§6)           the clip                    K Adam steps on the exact clipped surrogate
PPO-KL (§6)             β·KL, β adapted             K Adam steps, β doubled/halved
MDPO (§8.2)             KL(π‖π_k)/t_k               closed form π ∝ π_k e^{−t_k A}
Adaptive TRPO (§8.2)    KL/t_k, Shani et al. t_k    closed form, optional entropy λ
======================  ==========================  =====================================

Expectations "under ρ" in the PPO surrogates use the normalised ``d = (1−γ)ρ`` (a
distribution, as a sample mean would); ``StepInfo.kl`` is always the unnormalised ``KL^ρ``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol

import jax
import jax.numpy as jnp
import numpy as np
import optax

from policyopt.divergences import adapt_kl_coefficient
from policyopt.errors import (
    ConfigError,
    check_int,
    check_range,
    coerce_fields,
    suggest,
)
from policyopt.schedules import mirror_step_size, shani
from policyopt.tabular.exact import (
    Evaluation,
    evaluate_arrays,
    fisher_blocks,
    formula1,
    kl_per_state,
    kl_rho,
    softmax,
    x64,
)
from policyopt.tabular.mdp import TabularMDP

__all__ = [
    "ALGORITHMS",
    "MDPO",
    "NATURAL_SOLVERS",
    "NPG",
    "PG",
    "PPOKL",
    "TRPO",
    "AdaptiveTRPO",
    "AlgoState",
    "PPOClip",
    "StepInfo",
    "TabularAlgorithm",
    "make_algorithm",
    "mirror_step",
    "natural_direction",
    "npg_closed_form",
    "trust_region_step_size",
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
    aux: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.theta = np.asarray(self.theta, dtype=np.float64)


class TabularAlgorithm(Protocol):
    name: ClassVar[str]

    def init(self, mdp: TabularMDP, theta: np.ndarray) -> AlgoState: ...

    def step(
        self, mdp: TabularMDP, state: AlgoState, k: int, ev: Evaluation
    ) -> tuple[AlgoState, StepInfo]: ...


# --------------------------------------------------------------------------- shared pieces


NATURAL_SOLVERS = ("closed_form", "dense")


def natural_direction(
    blocks: jax.Array, g: jax.Array, A: jax.Array, solver: str = "closed_form", damping: float = 0.0
) -> jax.Array:
    """A solution of ``F d = g`` for the softmax table, per state (F is block diagonal).

    ``closed_form`` (the default) is the exact minimum-norm (pseudo-inverse) solution. With
    ``F_s = ρ(s)(diag π_s − π_s π_sᵀ)`` and ``g_s = ρ(s) π_s ⊙ A_s`` (formula (1)),
    ``(diag π − π πᵀ) A_s = π ⊙ A_s`` because ``Σ_a π A = 0``; the null space of the block is
    the constant vector, so ``F_s^† g_s = A_s − mean_a A_s``. It needs no damping and stays
    exact when π is nearly deterministic (the damped solve below then zeroes the update of
    every action with ρ(s)π(a|s) below the damping, so a policy that became nearly
    deterministic on a wrong action could never recover). On a state with ρ(s) = 0, F_s = 0
    and every direction solves the system; we take the ρ(s) → 0 limit, the same A_s − mean A_s.

    ``dense`` solves ``(F_s + damping·I) d = g_s`` with a dense factorisation per block: the
    approximation a deep-level solver makes, kept so its error is visible against the exact
    one (it needs damping > 0, F being singular along per-state constants).
    """
    if solver == "closed_form":
        del blocks, g
        return A - jnp.mean(A, axis=-1, keepdims=True)
    if solver == "dense":
        return _damped_block_solve(blocks, g, damping)
    raise ValueError(f"solver: got {solver!r}; allowed: {', '.join(NATURAL_SOLVERS)}")


@jax.jit
def _damped_block_solve(blocks: jax.Array, g: jax.Array, damping: float) -> jax.Array:
    eye = jnp.eye(blocks.shape[-1], dtype=blocks.dtype)
    return jnp.linalg.solve(blocks + damping * eye, g[..., None])[..., 0]


def trust_region_step_size(g: jax.Array, d: jax.Array, delta: float) -> jax.Array:
    """The seed's §4 step ``√(2δ / gᵀF⁻¹g)``: the step that puts ½ΔᵀFΔ exactly at δ.

    As gᵀF^†g → 0 the step grows without bound. With the exact direction that is harmless:
    the step becomes a policy-iteration step (π ∝ π_k e^{−s A} with s → ∞ puts all mass on
    argmin_a A), which never increases f; the floor 1e-300 only keeps the division finite.
    """
    return jnp.sqrt(2.0 * delta / jnp.maximum(jnp.vdot(g, d), 1e-300))


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


@functools.cache
def _adam_descent(loss_name: str, lr: float, steps: int) -> Any:
    """A jitted K-step Adam loop on one exact surrogate (cached per (loss, lr, K))."""
    loss_fn = _SURROGATES[loss_name]
    opt = optax.adam(lr)

    @jax.jit
    def run(theta: jax.Array, opt_state: Any, data: dict[str, jax.Array]) -> tuple[jax.Array, Any]:
        def body(_: int, carry: tuple[jax.Array, Any]) -> tuple[jax.Array, Any]:
            th, st = carry
            grads = jax.grad(loss_fn)(th, data)
            updates, st = opt.update(grads, st, th)
            return optax.apply_updates(th, updates), st

        return jax.lax.fori_loop(0, steps, body, (theta, opt_state))

    return run, opt


@jax.jit
def _ratio(theta: jax.Array, pi_k: jax.Array) -> jax.Array:
    return softmax(theta) / pi_k


def clipped_surrogate(theta: jax.Array, data: dict[str, jax.Array]) -> jax.Array:
    """Exact ``E_{s∼d_k, a∼π_k}[max(r A, clip(r, 1−ε, 1+ε) A)]`` (cost form of PPO-clip)."""
    r = _ratio(theta, data["pi_k"])
    eps = data["clip_eps"]
    per = jnp.maximum(r * data["A"], jnp.clip(r, 1 - eps, 1 + eps) * data["A"])
    return data["d"] @ jnp.sum(data["pi_k"] * per, axis=1)


def kl_penalised_surrogate(theta: jax.Array, data: dict[str, jax.Array]) -> jax.Array:
    """Exact ``E_{s∼d_k, a∼π_k}[r A] + β E_{s∼d_k} KL(π_k ‖ π_θ)`` (PPO-KL, cost form)."""
    pi = softmax(theta)
    ratio_term = data["d"] @ jnp.sum(pi * data["A"], axis=1)
    return ratio_term + data["beta"] * (data["d"] @ kl_per_state(data["pi_k"], pi))


_SURROGATES = {"clip": clipped_surrogate, "kl": kl_penalised_surrogate}


def _step_kl(ev: Evaluation, theta_k: jax.Array, theta: jax.Array) -> float:
    return float(kl_rho(ev.rho, softmax(theta_k), softmax(theta)))


# --------------------------------------------------------------------------- algorithms


@dataclass(frozen=True)
class PG:
    """Vanilla policy gradient (§3): ``θ ← θ − η ∇f(θ)`` with the exact gradient (1).

    Sign: the seed writes ``θ + η∇f``; f is a cost to minimise here, so the step descends.
    """

    eta: float = 100.0
    name: ClassVar[str] = "pg"

    def __post_init__(self) -> None:
        coerce_fields(self)
        check_range("PG", "eta", self.eta, 0.0)

    def init(self, mdp: TabularMDP, theta: np.ndarray) -> AlgoState:
        return AlgoState(theta)

    @x64
    def step(
        self, mdp: TabularMDP, state: AlgoState, k: int, ev: Evaluation
    ) -> tuple[AlgoState, StepInfo]:
        th = jnp.asarray(state.theta)
        new = _normalise(th - self.eta * formula1(ev.rho, softmax(th), ev.Q))
        return AlgoState(new), StepInfo(self.eta, _step_kl(ev, th, new))


@dataclass(frozen=True)
class NPG:
    """Natural policy gradient (§4): ``θ ← θ − step · F^†∇f`` (cost, minimised).

    Sign: the seed writes ``θ + η F⁻¹∇f``, an ascent step; f is a cost here, so the step
    descends (``−``), as its argmin formulation requires.

    With the exact direction (``solver="closed_form"``) a step of size η from π_k is exactly
    ``π ∝ π_k · exp(−η A_k)`` for *any* η (Agarwal et al. 2021, Lemma 15 in cost form). A
    larger η gives a smaller convergence bound, but not always fewer iterations: as η → ∞,
    ``log π_k = −η Σ_{j<k} A_j`` makes π_k greedy in the *cumulative* advantage, which is not
    policy iteration (tests/test_tabular_algorithms.py keeps a counterexample).

    Attributes:
        step_rule: ``"fixed"`` (step 1/λ) or ``"trust_region"`` (step √(2δ/gᵀF^†g); as
            gᵀF^†g → 0 at convergence this is a policy-iteration step, which the exact
            direction makes safe: see :func:`trust_region_step_size`).
        delta: trust-region radius δ for ``"trust_region"``.
        lam: the fixed rule's λ (step η = 1/λ).
        solver: ``"closed_form"`` (exact pseudo-inverse, no damping) or ``"dense"`` (damped
            block solve, the approximation deep solvers make).
        damping: Tikhonov damping of the ``dense`` solve (must be > 0 there).
        fisher_measure: ``"rho"`` (the seed's F, weighted by ρ) or ``"d"`` (Agarwal et al.,
            weighted by (1−γ)ρ; the same η then moves 1/(1−γ) further).
    """

    step_rule: Literal["trust_region", "fixed"] = "fixed"
    delta: float = 0.1
    lam: float = 0.1
    solver: Literal["closed_form", "dense"] = "closed_form"
    damping: float = 1e-10
    fisher_measure: Literal["rho", "d"] = "rho"
    name: ClassVar[str] = "npg"

    def __post_init__(self) -> None:
        coerce_fields(self)
        check_range("NPG", "delta", self.delta, 0.0)
        check_range("NPG", "lam", self.lam, 0.0)
        _check_damping("NPG", self.solver, self.damping)

    def init(self, mdp: TabularMDP, theta: np.ndarray) -> AlgoState:
        return AlgoState(theta)

    @x64
    def step(
        self, mdp: TabularMDP, state: AlgoState, k: int, ev: Evaluation
    ) -> tuple[AlgoState, StepInfo]:
        th = jnp.asarray(state.theta)
        pi = softmax(th)
        g = formula1(ev.rho, pi, ev.Q)
        weight = 1.0 if self.fisher_measure == "rho" else 1.0 - mdp.gamma
        blocks = weight * fisher_blocks(ev.rho, pi)
        d = natural_direction(blocks, g, ev.A / weight, self.solver, self.damping)
        if self.step_rule == "trust_region":
            step = float(trust_region_step_size(g, d, self.delta))
        else:
            step = 1.0 / self.lam
        new = _normalise(th - step * d)
        return AlgoState(new), StepInfo(step, _step_kl(ev, th, new))


def _check_damping(owner: str, solver: str, damping: float) -> None:
    check_range(owner, "damping", damping, 0.0, low_open=False)
    if solver == "dense" and damping <= 0:
        raise ConfigError(
            owner,
            "damping",
            "must be > 0 with solver='dense' (F is singular along per-state constants); "
            "solver='closed_form' is the exact pseudo-inverse and needs none",
        )


@jax.jit
def _line_search_trials(
    theta_k: jax.Array, full_step: jax.Array, fractions: jax.Array, rho: jax.Array, A: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """KL^ρ and surrogate improvement of every candidate θ_k + α^i·Δ, evaluated at once."""
    pi_k = softmax(theta_k)
    cands = softmax(theta_k[None] + fractions[:, None, None] * full_step[None])
    kls = jax.vmap(lambda p: kl_rho(rho, pi_k, p))(cands)
    # L(π) − L(π_k) = Σ_s ρ Σ_a π A (Σ_a π_k A = 0); improvement is its negation (cost).
    improve = -jax.vmap(lambda p: rho @ jnp.sum(p * A, axis=1))(cands)
    return kls, improve


@dataclass(frozen=True)
class TRPO:
    """TRPO (§5.3): natural direction, maximal step √(2δ/gᵀF⁻¹g), backtracking α^i.

    A candidate is accepted iff ``KL^ρ(π_k, π) ≤ δ`` and the surrogate L improves; if none
    of ``max_backtracks`` candidates is accepted, θ_k is kept (Schulman et al. 2015, App. C).

    Sign and return-value notes against the seed's text: the seed's §5.2 bound reads
    ``L − C·KL^max`` (reward form); in cost form it is ``f(π̃) ≤ L_π(π̃) + C·KL^max(π, π̃)``
    (tested, Schulman et al. 2015 Thm 1). the seed's line search returns "the
    last" step tried when none is accepted; we return θ_k (Schulman et al.'s choice, and
    the only one that keeps the monotone-improvement guarantee). The improvement tested is
    that of the surrogate L in cost form (lower is better), i.e. ``L(π) < L(π_k)``.
    """

    delta: float = 0.05
    backtrack_coef: float = 0.8
    max_backtracks: int = 15
    solver: Literal["closed_form", "dense"] = "closed_form"
    damping: float = 1e-10
    name: ClassVar[str] = "trpo"

    def __post_init__(self) -> None:
        coerce_fields(self)
        check_range("TRPO", "delta", self.delta, 0.0)
        check_range("TRPO", "backtrack_coef", self.backtrack_coef, 0.0, 1.0)
        check_int("TRPO", "max_backtracks", self.max_backtracks, 1)
        _check_damping("TRPO", self.solver, self.damping)

    def init(self, mdp: TabularMDP, theta: np.ndarray) -> AlgoState:
        return AlgoState(theta)

    @x64
    def step(
        self, mdp: TabularMDP, state: AlgoState, k: int, ev: Evaluation
    ) -> tuple[AlgoState, StepInfo]:
        th = jnp.asarray(state.theta)
        pi = softmax(th)
        g = formula1(ev.rho, pi, ev.Q)
        d = natural_direction(fisher_blocks(ev.rho, pi), g, ev.A, self.solver, self.damping)
        D = trust_region_step_size(g, d, self.delta)
        fractions = self.backtrack_coef ** jnp.arange(self.max_backtracks, dtype=th.dtype)
        kls, improve = _line_search_trials(th, -D * d, fractions, ev.rho, ev.A)
        ok = np.asarray((kls <= self.delta) & (improve > 0))
        expected = float(D * jnp.vdot(g, d))
        if not ok.any():
            info = StepInfo(0.0, 0.0, self.max_backtracks, False, {"expected_improve": expected})
            return AlgoState(state.theta), info
        i = int(ok.argmax())
        new = _normalise(th - float(fractions[i]) * D * d)
        extra = {
            "expected_improve": expected * float(fractions[i]),
            "surrogate_improve": float(improve[i]),
        }
        return AlgoState(new), StepInfo(float(fractions[i] * D), float(kls[i]), i, True, extra)


@dataclass(frozen=True)
class PPOClip:
    """PPO-clip (§6): K Adam steps on the exact clipped surrogate under (d_k, π_k)."""

    clip_eps: float = 0.2
    lr: float = 0.1
    epochs: int = 10
    name: ClassVar[str] = "ppo"

    def __post_init__(self) -> None:
        coerce_fields(self)
        check_range("PPOClip", "clip_eps", self.clip_eps, 0.0, 1.0)
        check_range("PPOClip", "lr", self.lr, 0.0)
        check_int("PPOClip", "epochs", self.epochs, 1)

    def init(self, mdp: TabularMDP, theta: np.ndarray) -> AlgoState:
        _, opt = _adam_descent("clip", self.lr, self.epochs)
        with jax.enable_x64(True):
            return AlgoState(theta, {"opt_state": opt.init(jnp.asarray(theta))})

    @x64
    def step(
        self, mdp: TabularMDP, state: AlgoState, k: int, ev: Evaluation
    ) -> tuple[AlgoState, StepInfo]:
        th = jnp.asarray(state.theta)
        data = {
            "pi_k": softmax(th),
            "A": ev.A,
            "d": (1 - mdp.gamma) * ev.rho,
            "clip_eps": self.clip_eps,
        }
        run, _ = _adam_descent("clip", self.lr, self.epochs)
        new, opt_state = run(th, state.aux["opt_state"], data)
        r = _ratio(new, data["pi_k"])
        clip_frac = float(
            data["d"] @ jnp.sum(data["pi_k"] * (jnp.abs(r - 1) > self.clip_eps), axis=1)
        )
        info = StepInfo(self.lr, _step_kl(ev, th, new), extra={"clip_fraction": clip_frac})
        return AlgoState(np.asarray(new), {"opt_state": opt_state}), info


@dataclass(frozen=True)
class PPOKL:
    """PPO with adaptive KL penalty (§6; Schulman et al. 2017, §4).

    After K Adam steps on ``L + β KL``, with ``d = E_{s∼d_k} KL(π_k‖π_{k+1})``:
    ``d < target/1.5 ⇒ β ← β/2``; ``d > 1.5·target ⇒ β ← 2β``.
    """

    target_kl: float = 0.01
    beta_init: float = 1.0
    lr: float = 0.1
    epochs: int = 10
    name: ClassVar[str] = "ppo_kl"

    def __post_init__(self) -> None:
        coerce_fields(self)
        check_range("PPOKL", "target_kl", self.target_kl, 0.0)
        check_range("PPOKL", "beta_init", self.beta_init, 0.0)
        check_range("PPOKL", "lr", self.lr, 0.0)
        check_int("PPOKL", "epochs", self.epochs, 1)

    def init(self, mdp: TabularMDP, theta: np.ndarray) -> AlgoState:
        _, opt = _adam_descent("kl", self.lr, self.epochs)
        with jax.enable_x64(True):
            return AlgoState(
                theta, {"opt_state": opt.init(jnp.asarray(theta)), "beta": self.beta_init}
            )

    @x64
    def step(
        self, mdp: TabularMDP, state: AlgoState, k: int, ev: Evaluation
    ) -> tuple[AlgoState, StepInfo]:
        th = jnp.asarray(state.theta)
        beta = state.aux["beta"]
        data = {"pi_k": softmax(th), "A": ev.A, "d": (1 - mdp.gamma) * ev.rho, "beta": beta}
        run, _ = _adam_descent("kl", self.lr, self.epochs)
        new, opt_state = run(th, state.aux["opt_state"], data)
        kl_d = float(data["d"] @ kl_per_state(data["pi_k"], softmax(new)))
        beta = float(adapt_kl_coefficient(beta, kl_d, self.target_kl))
        info = StepInfo(self.lr, _step_kl(ev, th, new), extra={"beta": beta, "kl_d": kl_d})
        return AlgoState(np.asarray(new), {"opt_state": opt_state, "beta": beta}), info


@dataclass(frozen=True)
class MDPO:
    """On-policy MDPO (§8.2; Tomar, Shani, Efroni, Ghavamzadeh 2020) on the simplex.

    ``π_{k+1} = argmin_π E_{s∼ρ_k}[⟨π, A_k⟩ + KL(π ‖ π_k)/t_k]`` has the closed form
    ``π ∝ π_k exp(−t_k A_k)`` (policy mirror descent, Lan 2021). The seed writes the MDPO
    objective as argmin{L − β KL}; with L a cost the proximity term must be *added*
    (``+ KL/t_k``), which is what is solved here.

    Schedules (see :mod:`policyopt.schedules`; the two named ones anneal in opposite
    directions and are different algorithms):

    * ``"geometric"`` (default here): policy mirror descent's t_k = t/γ^k capped at
      ``t_max`` (Xiao 2022, Thm 10: η_{k+1} ≥ η_k/γ ⇒ linear convergence);
    * ``"linear"``: the MDPO paper's t_k = max(t(1 − k/K), t_min) over K = ``horizon``
      iterations (the deep level's default);
    * ``"constant"``: t_k = t (O(1/k)).
    """

    t: float = 1.0
    schedule: Literal["geometric", "linear", "constant"] = "geometric"
    t_max: float = 1e6
    t_min: float = 0.01
    horizon: int = 100
    name: ClassVar[str] = "mdpo"

    def __post_init__(self) -> None:
        coerce_fields(self)
        check_range("MDPO", "t", self.t, 0.0)
        check_range("MDPO", "t_max", self.t_max, 0.0)
        check_range("MDPO", "t_min", self.t_min, 0.0)
        check_int("MDPO", "horizon", self.horizon, 1)

    def init(self, mdp: TabularMDP, theta: np.ndarray) -> AlgoState:
        return AlgoState(theta)

    def step_size(self, k: int, gamma: float) -> float:
        return float(
            mirror_step_size(
                self.schedule, k, k / self.horizon, gamma, self.t, self.t_min, self.t_max
            )
        )

    @x64
    def step(
        self, mdp: TabularMDP, state: AlgoState, k: int, ev: Evaluation
    ) -> tuple[AlgoState, StepInfo]:
        th = jnp.asarray(state.theta)
        t_k = self.step_size(k, mdp.gamma)
        new = mirror_step(jax.nn.log_softmax(th, axis=-1), ev.A, t_k)
        return AlgoState(new), StepInfo(t_k, _step_kl(ev, th, new), extra={"t_k": t_k})


@dataclass(frozen=True)
class AdaptiveTRPO:
    """Uniform ("adaptive") TRPO of Shani, Efroni & Mannor (2019) with their step sizes.

    Update (KL Bregman, cost convention, regulariser ``λ Σ_a π log π``)::

        π_{k+1}(·|s) ∝ π_k(·|s) · exp(−t_k (q_λ^{π_k}(s,·) + λ log π_k(·|s)))

    Step sizes (:func:`policyopt.schedules.shani`, c = ``step_scale``, default 1, the
    theorem's): regularised (λ > 0) ``t_k = c/(λ(k+2))`` (rate Õ(1/k)); unregularised
    ``t_k = c·(1−γ)/(C_max √(k+1))`` (rate Õ(1/√k)), C_max = max |cost|. λ t_k is capped at
    1 (soft policy iteration), which only binds for c > 2. The unregularised rule moves
    slowly by design (FrozenLake: f − f* ≈ 0.5 after 300 iterations); raise ``step_scale``
    to trade the theorem's constant for speed.
    """

    lam: float = 0.0
    step_scale: float = 1.0
    name: ClassVar[str] = "adaptive_trpo"

    def __post_init__(self) -> None:
        coerce_fields(self)
        check_range("AdaptiveTRPO", "lam", self.lam, 0.0, low_open=False)
        check_range("AdaptiveTRPO", "step_scale", self.step_scale, 0.0)

    def init(self, mdp: TabularMDP, theta: np.ndarray) -> AlgoState:
        return AlgoState(theta)

    def step_size(self, k: int, mdp: TabularMDP) -> float:
        c_max = max(float(np.abs(mdp.cost).max()), 1e-12)
        with jax.enable_x64(True):
            t_k = float(shani(k, self.lam, self.step_scale, c_max / (1 - mdp.gamma)))
        return min(t_k, 1.0 / self.lam) if self.lam > 0 else t_k

    @x64
    def step(
        self, mdp: TabularMDP, state: AlgoState, k: int, ev: Evaluation
    ) -> tuple[AlgoState, StepInfo]:
        th = jnp.asarray(state.theta)
        log_pi = jax.nn.log_softmax(th, axis=-1)
        t_k = self.step_size(k, mdp)
        extra = {"t_k": t_k}
        if self.lam > 0:
            ev_reg = evaluate_arrays(mdp.P, mdp.cost, mdp.gamma, mdp.mu, softmax(th), self.lam)
            new = mirror_step(log_pi, ev_reg.Q + self.lam * log_pi, t_k)
            extra["f_regularised"] = float(ev_reg.f)
        else:
            new = mirror_step(log_pi, ev.Q, t_k)
        return AlgoState(new), StepInfo(t_k, _step_kl(ev, th, new), extra=extra)


ALGORITHMS: dict[str, type] = {
    cls.name: cls for cls in (PG, NPG, TRPO, PPOClip, PPOKL, MDPO, AdaptiveTRPO)
}


def make_algorithm(name: str, **hparams: Any) -> TabularAlgorithm:
    """Build an algorithm by its CLI name; unknown names or fields list the valid ones."""
    if name not in ALGORITHMS:
        raise ConfigError(
            "tabular",
            "algorithm",
            f"unknown {name!r}; valid: {', '.join(ALGORITHMS)}{suggest(name, ALGORITHMS)}",
        )
    cls = ALGORITHMS[name]
    fields = [f for f in cls.__dataclass_fields__ if f != "name"]
    for key in hparams:
        if key not in fields:
            raise ConfigError(
                cls.__name__,
                key,
                f"unknown field; valid: {', '.join(fields)}{suggest(key, fields)}",
            )
    return cls(**hparams)
