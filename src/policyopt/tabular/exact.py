"""Exact quantities of a finite MDP: V, Q, A, ρ, f, the policy gradient (1), the Fisher matrix.

Conventions (the paper's, seed §2–4; cost is minimised):

* ``V^π = (I − γ P_π)^{-1} c_π`` and ``Q^π = C + γ P V^π``, ``A^π = Q^π − V^π``.
* ``ρ^π(s) = Σ_{k≥0} γ^k Pr(s_k = s | π, μ)``, the *unnormalised* discounted visitation. The seed
  writes the sum from k = 1, which drops the initial state and breaks formula (1) and the
  performance-difference lemma; we use the standard k = 0 (Kakade & Langford 2002), so
  ``Σ_s ρ^π(s) = 1/(1−γ)`` and ``d^π = (1−γ) ρ^π`` is a distribution.
* ``f(π) = V^π(μ)``.
* Softmax policies ``π_θ(a|s) ∝ exp θ[s, a]``; the Fisher matrix uses the seed's weighting
  ``F(θ) = Σ_s ρ(s) E_{a∼π}[∇log π ∇log πᵀ]``, which is block diagonal (one A×A block per
  state), so it is stored as ``[S, A, A]`` blocks and never as an (SA)² matrix.
* ``KL^ρ(π_k, π) = Σ_s ρ^{π_k}(s) KL(π_k(·|s) ‖ π(·|s))`` with the same unnormalised ρ, so that
  its Hessian at θ_k is exactly F (tested); ``KL^max`` is the max over states.

The array kernels are pure ``jax.numpy`` functions (jitted, differentiable: the tests take
``jax.grad`` of f through the linear solve). The public wrappers take a :class:`TabularMDP`
and run in float64 via ``jax.enable_x64`` so callers need not change global JAX settings.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple, ParamSpec, TypeVar

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import rel_entr, xlogy

from policyopt.tabular.mdp import TabularMDP

__all__ = [
    "Evaluation",
    "Optimum",
    "evaluate",
    "evaluate_arrays",
    "fisher",
    "fisher_blocks",
    "fisher_dense",
    "gradient_from_q",
    "kl_max",
    "kl_per_state",
    "kl_rho",
    "optimal",
    "policy_gradient",
    "policy_gradient_arrays",
    "soft_optimal",
    "softmax",
    "softmax_np",
    "uniform_policy",
    "x64",
]

P_ = ParamSpec("P_")
R_ = TypeVar("R_")


def x64(fn: Callable[P_, R_]) -> Callable[P_, R_]:
    """Run ``fn`` with 64-bit JAX types and hand back NumPy float64 arrays.

    Exact oracles must not be float32-noisy, and returning NumPy keeps callers' later
    arithmetic in float64 without asking them to enable x64 globally.
    """

    @functools.wraps(fn)
    def wrapper(*args: P_.args, **kwargs: P_.kwargs) -> R_:
        with jax.enable_x64(True):
            out = fn(*args, **kwargs)
            return jax.tree.map(lambda x: np.asarray(x) if isinstance(x, jax.Array) else x, out)

    return wrapper


class Evaluation(NamedTuple):
    """Exact evaluation of one policy (cost convention).

    With ``lam > 0`` (entropy regularisation, Shani et al. 2019) V includes the regulariser
    ``λ Σ_a π log π`` and ``Q = C + γ P V`` excludes the current-step regulariser.
    """

    V: jax.Array  # [S]
    Q: jax.Array  # [S, A]
    A: jax.Array  # [S, A]
    rho: jax.Array  # [S], unnormalised, sums to 1/(1−γ)
    f: jax.Array  # scalar V(μ)


class Optimum(NamedTuple):
    """The optimal value, Q-function and a deterministic optimal policy."""

    V: jax.Array
    Q: jax.Array
    pi: jax.Array
    f: jax.Array


@jax.jit
def softmax(theta: jax.Array) -> jax.Array:
    """``π_θ(a|s) ∝ exp θ[s, a]``."""
    return jax.nn.softmax(theta, axis=-1)


def uniform_policy(mdp: TabularMDP) -> np.ndarray:
    return np.full((mdp.n_states, mdp.n_actions), 1.0 / mdp.n_actions)


@jax.jit
def evaluate_arrays(
    P: jax.Array, cost: jax.Array, gamma: jax.Array, mu: jax.Array, pi: jax.Array, lam: float = 0.0
) -> Evaluation:
    """V, Q, A, ρ and f of ``pi`` by one LU factorisation of ``I − γ P_π``.

    ρ solves the transposed system ``(I − γ P_πᵀ) ρ = μ`` with the same factors, which is
    what makes evaluation of S = 1000, A = 10 take milliseconds.
    """
    S = P.shape[0]
    P_pi = jnp.einsum("sa,sat->st", pi, P)
    c_pi = jnp.sum(pi * cost, axis=1) + lam * jnp.sum(xlogy(pi, pi), axis=1)
    lu = jax.scipy.linalg.lu_factor(jnp.eye(S, dtype=P.dtype) - gamma * P_pi)
    V = jax.scipy.linalg.lu_solve(lu, c_pi)
    rho = jax.scipy.linalg.lu_solve(lu, mu, trans=1)
    Q = cost + gamma * jnp.einsum("sat,t->sa", P, V)
    return Evaluation(V=V, Q=Q, A=Q - V[:, None], rho=rho, f=mu @ V)


@x64
def evaluate(mdp: TabularMDP, pi: np.ndarray | jax.Array, lam: float = 0.0) -> Evaluation:
    """Exact :class:`Evaluation` of policy ``pi[s, a]`` on ``mdp`` (float64)."""
    pi = np.asarray(pi, dtype=np.float64)  # NumPy: the jitted call takes it as it is
    if pi.shape != (mdp.n_states, mdp.n_actions):
        raise ValueError(
            f"pi must have shape (S, A) = {(mdp.n_states, mdp.n_actions)}, got {pi.shape}"
        )
    return evaluate_arrays(mdp.P, mdp.cost, mdp.gamma, mdp.mu, pi, lam)


@jax.jit
def policy_gradient_arrays(
    P: jax.Array, cost: jax.Array, gamma: jax.Array, mu: jax.Array, theta: jax.Array
) -> jax.Array:
    """The seed's formula (1) for the softmax table, written as the formula reads.

    ``∇_θ f = Σ_s ρ(s) Σ_a ∇_θ π_θ(a|s) Q(s, a)`` with the softmax Jacobian
    ``∂π(a|s)/∂θ[s, b] = π(a|s)(1[a=b] − π(b|s))``; it equals ``ρ(s) π(b|s) A(s, b)``
    (Agarwal et al. 2021, Lemma C.1), which the tests check along with finite differences.
    """
    pi = softmax(theta)
    ev = evaluate_arrays(P, cost, gamma, mu, pi)
    return gradient_from_q(ev.rho, pi, ev.Q)


@jax.jit
def gradient_from_q(rho: jax.Array, pi: jax.Array, Q: jax.Array) -> jax.Array:
    """``Σ_s ρ(s) Σ_a ∇_θ π(a|s) Q(s, a)`` for the softmax table, given ρ, π and Q."""
    eye = jnp.eye(pi.shape[1], dtype=pi.dtype)
    jac = pi[:, :, None] * (eye[None, :, :] - pi[:, None, :])  # [s, a, b]
    return jnp.einsum("s,sab,sa->sb", rho, jac, Q)


@x64
def policy_gradient(mdp: TabularMDP, theta: np.ndarray | jax.Array) -> jax.Array:
    """Exact ``∇_θ f(θ)`` for the softmax table ``theta[s, a]`` (float64)."""
    return policy_gradient_arrays(
        mdp.P, mdp.cost, mdp.gamma, mdp.mu, jnp.asarray(theta, jnp.float64)
    )


@jax.jit
def fisher_blocks(rho: jax.Array, pi: jax.Array) -> jax.Array:
    """``F_s = ρ(s) E_{a∼π}[∇log π ∇log πᵀ]``: the Fisher's per-state blocks ``[S, A, A]``.

    For the softmax table ``∇_{θ[s,·]} log π(a|s) = e_a − π(·|s)``; the expectation is taken
    literally (a sum over actions), so it is a check of, not a copy of, ``diag π − π πᵀ``.
    """
    eye = jnp.eye(pi.shape[1], dtype=pi.dtype)
    score = eye[None, :, :] - pi[:, None, :]  # [s, a, b]
    outer = jnp.einsum("sa,sab,sac->sbc", pi, score, score)
    return rho[:, None, None] * outer


@x64
def fisher(mdp: TabularMDP, theta: np.ndarray | jax.Array) -> jax.Array:
    """Per-state Fisher blocks of the softmax policy ``theta`` under its own ρ."""
    pi = softmax(jnp.asarray(theta, jnp.float64))
    return fisher_blocks(evaluate_arrays(mdp.P, mdp.cost, mdp.gamma, mdp.mu, pi).rho, pi)


def fisher_dense(blocks: jax.Array) -> jax.Array:
    """The (SA)×(SA) block-diagonal matrix, for small MDPs and tests only."""
    return jax.scipy.linalg.block_diag(*list(blocks))


@jax.jit
def kl_per_state(p: jax.Array, q: jax.Array) -> jax.Array:
    """``KL(p(·|s) ‖ q(·|s))`` for every state."""
    return jnp.sum(rel_entr(p, q), axis=-1)


@jax.jit
def kl_rho(rho: jax.Array, p: jax.Array, q: jax.Array) -> jax.Array:
    """``KL^ρ(p, q) = Σ_s ρ(s) KL(p(·|s) ‖ q(·|s))`` (unnormalised ρ; see module doc)."""
    return rho @ kl_per_state(p, q)


@jax.jit
def kl_max(p: jax.Array, q: jax.Array) -> jax.Array:
    """``KL^max(p, q) = max_s KL(p(·|s) ‖ q(·|s))`` (the seed's §5.2)."""
    return jnp.max(kl_per_state(p, q))


@x64
def optimal(mdp: TabularMDP, max_iterations: int = 10_000) -> Optimum:
    """V*, Q* and a deterministic π* by exact policy iteration (Howard 1960).

    Policy iteration terminates in finitely many steps with the exact optimum, unlike value
    iteration's geometric tail, which matters when tests compare f − f* to 1e-10.
    """
    S, A = mdp.n_states, mdp.n_actions
    actions = np.zeros(S, dtype=np.int64)
    for _ in range(max_iterations):
        pi = jnp.asarray(np.eye(A)[actions])
        ev = evaluate_arrays(mdp.P, mdp.cost, mdp.gamma, mdp.mu, pi)
        Q = np.asarray(ev.Q)
        greedy = Q.argmin(axis=1)
        # Keep the current action on ties so the loop cannot cycle between equal actions.
        current = Q[np.arange(S), actions]
        improve = Q[np.arange(S), greedy] < current - 1e-12 * np.maximum(1.0, np.abs(current))
        if not improve.any():
            return Optimum(V=ev.V, Q=ev.Q, pi=pi, f=ev.f)
        actions = np.where(improve, greedy, actions)
    raise RuntimeError(f"policy iteration did not converge in {max_iterations} iterations")


@x64
def soft_optimal(
    mdp: TabularMDP, lam: float, tol: float = 1e-12, max_iterations: int = 10_000
) -> Optimum:
    """Optimum of the entropy-regularised MDP (cost ``C + λ Σ π log π``) by soft policy iteration.

    Soft policy iteration ``π ← softmax(−Q_λ/λ)`` converges linearly at rate γ or faster
    (Cen et al. 2021 with η = (1−γ)/τ); the returned ``pi`` is the optimal soft policy.
    """
    if lam <= 0:
        raise ValueError(f"lam must be > 0 for the regularised optimum, got {lam!r}")
    pi = jnp.asarray(uniform_policy(mdp))
    prev = None
    for _ in range(max_iterations):
        ev = evaluate_arrays(mdp.P, mdp.cost, mdp.gamma, mdp.mu, pi, lam)
        if prev is not None and float(jnp.max(jnp.abs(ev.V - prev))) < tol:
            return Optimum(V=ev.V, Q=ev.Q, pi=pi, f=ev.f)
        prev = ev.V
        pi = jax.nn.softmax(-ev.Q / lam, axis=1)
    raise RuntimeError(f"soft policy iteration did not converge in {max_iterations} iterations")


def softmax_np(theta: np.ndarray) -> np.ndarray:
    """NumPy float64 softmax over actions (host side, no JAX dispatch)."""
    z = theta - theta.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)
