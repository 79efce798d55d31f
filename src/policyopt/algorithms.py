"""Recipes: each algorithm of the paper as a short composition of building blocks.

Every update is ``θ_{k+1} = argmin_θ surrogate(θ; θ_k) + proximity(θ, θ_k)`` solved by a
solver (DESIGN §1). Reward convention: surrogates are *losses* (negated objectives).

============  ======================  ================================  ========================
recipe        surrogate               proximity                         solver
============  ======================  ================================  ========================
pg (A2C)      score                   ½‖θ−θ_k‖²/η (one step)            one optimiser step
npg           score                   ½ΔᵀFΔ                             CG on FVPs, fixed/δ step
trpo          ratio                   KL(π_k‖π_θ) ≤ δ                   CG + line search
ppo           clipped ratio           (the clip)                        epochs × minibatches
ppo_kl        ratio                   β·KL(π_k‖π_θ), β adapted          epochs × minibatches
mdpo          ratio                   KL(π_θ‖π_k)/t_k, t_k annealed     m full-batch Adam steps
adaptive_trpo ratio (+ λ entropy)     KL(π_θ‖π_k)/t_k, Shani t_k        m full-batch Adam steps
============  ======================  ================================  ========================

First-order recipes fit actor and critic with one joint loss (as SB3/CleanRL PPO and A2C);
natural-gradient and mirror-descent recipes fit the critic separately (:func:`fit_critic`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from flax import struct

from policyopt import schedules
from policyopt.configs import (
    A2CConfig,
    AdaptiveTRPOConfig,
    BaseConfig,
    MDPOConfig,
    NPGConfig,
    PPOConfig,
    PPOKLConfig,
    TRPOConfig,
)
from policyopt.divergences import adapt_kl_coefficient, fisher_vector_product, kl_divergence
from policyopt.estimators import batched_gae
from policyopt.metrics import explained_variance, policy_diagnostics
from policyopt.nn import Networks
from policyopt.solvers.first_order import minibatch_epochs
from policyopt.solvers.linesearch import backtracking_line_search
from policyopt.solvers.natural import conjugate_gradient, step_size_trust_region
from policyopt.surrogates import clipped_ratio_loss, ratio_loss, score_loss

__all__ = ["Batch", "Learner", "Recipe", "Transition", "fit_critic", "make_batch", "make_recipe"]

HP = dict[str, jax.Array]
Metrics = dict[str, jax.Array]
tree_vdot = optax.tree_utils.tree_vdot
tree_add_scale = optax.tree_utils.tree_add_scale  # a + s·b


class Batch(NamedTuple):
    """A flattened rollout: one row per (step, env)."""

    obs: jax.Array
    action: jax.Array
    logp: jax.Array
    adv: jax.Array
    returns: jax.Array
    value: jax.Array


class Transition(NamedTuple):
    """One rollout, time-major ``[T, N, ...]``, as both the compiled and the host loop collect it.

    ``final_obs`` is the observation each step produced before any reset (what truncations
    bootstrap from); ``done`` marks episode ends of either kind, ``terminated`` true ends.
    """

    obs: jax.Array
    action: jax.Array
    logp: jax.Array
    value: jax.Array
    reward: jax.Array
    terminated: jax.Array
    done: jax.Array
    final_obs: jax.Array


def make_batch(nets: Networks, critic: Any, traj: Transition, hp: HP) -> Batch:
    """GAE on the rollout (bootstrapping from V(final_obs)) and flatten it into a :class:`Batch`."""
    v_tp1 = nets.value(critic, traj.final_obs)
    adv = batched_gae(
        traj.reward, traj.value, v_tp1, traj.terminated, traj.done, hp["gamma"], hp["gae_lambda"]
    )

    def flat(x: jax.Array) -> jax.Array:
        return x.reshape((-1, *x.shape[2:]))

    return Batch(
        flat(traj.obs),
        flat(traj.action),
        flat(traj.logp),
        flat(adv),
        flat(adv + traj.value),
        flat(traj.value),
    )


@struct.dataclass
class Learner:
    """Parameters, optimiser states and recipe state (β of PPO-KL, …): all a run carries."""

    actor: Any
    critic: Any
    actor_opt: Any
    critic_opt: Any
    extra: dict[str, jax.Array]


class Recipe(NamedTuple):
    init: Callable[[jax.Array, jax.Array, jax.Array, HP], Learner]
    update: Callable[[Learner, Batch, jax.Array, HP, jax.Array, jax.Array], tuple[Learner, Metrics]]


# ------------------------------------------------------------------ shared building blocks


def _normalise(adv: jax.Array, on: bool) -> jax.Array:
    return (adv - adv.mean()) / (adv.std() + 1e-8) if on else adv


def adam(
    learning_rate: jax.Array, max_grad_norm: jax.Array | None = None
) -> optax.GradientTransformation:
    """Adam (ε = 1e-5, as SB3/CleanRL) with an injectable learning rate and optional clipping."""
    opt = optax.inject_hyperparams(optax.adam)(learning_rate=learning_rate, eps=1e-5)
    return (
        opt if max_grad_norm is None else optax.chain(optax.clip_by_global_norm(max_grad_norm), opt)
    )


def set_learning_rate(opt_state: Any, lr: jax.Array) -> Any:
    """Set the injected learning rate wherever it sits in an (optionally chained) state."""
    if type(opt_state) is tuple:  # optax.chain state (NamedTuple states are left alone)
        return tuple(set_learning_rate(s, lr) for s in opt_state)
    if hasattr(opt_state, "hyperparams"):
        return opt_state._replace(hyperparams={**opt_state.hyperparams, "learning_rate": lr})
    return opt_state


def _init_params(
    nets: Networks, k_actor: jax.Array, k_critic: jax.Array, obs: jax.Array, hp: HP
) -> tuple[Any, Any]:
    actor = nets.init_actor(k_actor, obs[:1])
    if "log_std" in actor.get("params", {}):
        # log_std_init is a traced hyperparameter: set it here so vmap over it takes effect.
        p = actor["params"]
        actor = {
            **actor,
            "params": {**p, "log_std": jnp.full_like(p["log_std"], hp["log_std_init"])},
        }
    return actor, nets.init_critic(k_critic, obs[:1])


def value_loss(nets: Networks, critic: Any, obs: jax.Array, returns: jax.Array) -> jax.Array:
    """Mean squared error to the λ-returns (SB3's ``F.mse_loss``)."""
    return jnp.mean((nets.value(critic, obs) - returns) ** 2)


def fit_critic(
    nets: Networks, cfg: Any, hp: HP, learner: Learner, batch: Batch, key: jax.Array
) -> tuple[Learner, Metrics]:
    """The critic's own solver: ``vf_epochs`` Adam epochs over minibatches of the λ-returns."""

    def loss(critic: Any, mb: Batch) -> tuple[jax.Array, Metrics]:
        v = value_loss(nets, critic, mb.obs, mb.returns)
        return v, {"value_loss": v}

    res = minibatch_epochs(
        loss,
        learner.critic,
        learner.critic_opt,
        adam(hp["vf_learning_rate"]),
        batch,
        key,
        cfg.vf_epochs,
        cfg.rollout_size // cfg.vf_batch_size,
    )
    return learner.replace(critic=res.params, critic_opt=res.opt_state), {
        "train/value_loss": res.metrics["value_loss"],
        "train/value_grad_norm": res.metrics["grad_norm"],
    }


def _diagnostics(
    nets: Networks, actor_k: Any, actor: Any, batch: Batch, clip_eps: jax.Array, critic: Any
) -> Metrics:
    out = policy_diagnostics(
        nets.policy(actor_k, batch.obs), nets.policy(actor, batch.obs), batch.action, clip_eps
    )
    out["train/explained_variance"] = explained_variance(batch.value, batch.returns)
    return out


def _separate_critic_init(
    nets: Networks, actor_opt: Callable[[HP], optax.GradientTransformation] | None
) -> Callable[..., Learner]:
    def init(k_actor: jax.Array, k_critic: jax.Array, obs: jax.Array, hp: HP) -> Learner:
        actor, critic = _init_params(nets, k_actor, k_critic, obs, hp)
        a_opt = actor_opt(hp).init(actor) if actor_opt is not None else ()
        return Learner(actor, critic, a_opt, adam(hp["vf_learning_rate"]).init(critic), {})

    return init


# ------------------------------------------------------------------ first-order, joint critic


def _joint_first_order(
    cfg: Any,
    nets: Networks,
    optimizer: Callable[[HP], optax.GradientTransformation],
    policy_loss: Callable[[Any, Batch, Any, jax.Array, HP, Learner], jax.Array],
    n_epochs: int,
    n_minibatches: int,
    target_kl: bool,
) -> Recipe:
    """Epochs × minibatches of one joint loss: policy surrogate + vf·value − ent·entropy."""

    def init(k_actor: jax.Array, k_critic: jax.Array, obs: jax.Array, hp: HP) -> Learner:
        params = _init_params(nets, k_actor, k_critic, obs, hp)
        extra = {"beta": hp["beta_init"]} if "beta_init" in hp else {}
        return Learner(params[0], params[1], optimizer(hp).init(params), (), extra)

    def update(
        learner: Learner, batch: Batch, key: jax.Array, hp: HP, progress: jax.Array, k: jax.Array
    ) -> tuple[Learner, Metrics]:
        lr = (
            hp["learning_rate"] * (1.0 - progress)
            if getattr(cfg, "anneal_lr", False)
            else hp["learning_rate"]
        )

        def loss(params: Any, mb: Batch) -> tuple[jax.Array, Metrics]:
            actor, critic = params
            dist = nets.policy(actor, mb.obs)
            logp = dist.log_prob(mb.action)
            pg = policy_loss(dist, mb, actor, logp, hp, learner)
            vf = value_loss(nets, critic, mb.obs, mb.returns)
            ent = jnp.mean(dist.entropy())
            log_ratio = logp - mb.logp
            aux = {
                "policy_loss": pg,
                "value_loss": vf,
                "approx_kl": jnp.mean(jnp.exp(log_ratio) - 1 - log_ratio),
            }
            return pg + hp["vf_coef"] * vf - hp["ent_coef"] * ent, aux

        opt_state = set_learning_rate(learner.actor_opt, lr)
        tkl = jnp.where(hp["target_kl"] > 0, hp["target_kl"], jnp.inf) if target_kl else None
        res = minibatch_epochs(
            loss,
            (learner.actor, learner.critic),
            opt_state,
            optimizer(hp),
            batch,
            key,
            n_epochs,
            n_minibatches,
            tkl,
        )
        actor, critic = res.params
        metrics = _diagnostics(
            nets, learner.actor, actor, batch, hp.get("clip_eps", jnp.float32(0.2)), critic
        )
        metrics |= {
            "train/policy_loss": res.metrics["policy_loss"],
            "train/value_loss": res.metrics["value_loss"],
            "train/grad_norm": res.metrics["grad_norm"],
            "train/learning_rate": lr,
            "train/n_updates": res.n_updates,
        }
        if target_kl:
            metrics["train/stopped_early"] = res.stopped_early
        return learner.replace(actor=actor, critic=critic, actor_opt=res.opt_state), metrics

    return Recipe(init, update)


def ppo(cfg: PPOConfig, nets: Networks) -> Recipe:
    """PPO-clip: the clipped-ratio surrogate, epochs × minibatches of Adam (§6)."""

    def surrogate(
        dist: Any, mb: Batch, actor: Any, logp: jax.Array, hp: HP, learner: Learner
    ) -> jax.Array:
        return clipped_ratio_loss(
            logp, mb.logp, _normalise(mb.adv, cfg.normalize_advantage), hp["clip_eps"]
        )

    opt = lambda hp: adam(hp["learning_rate"], hp["max_grad_norm"])  # noqa: E731
    return _joint_first_order(
        cfg, nets, opt, surrogate, cfg.n_epochs, cfg.rollout_size // cfg.batch_size, True
    )


def ppo_kl(cfg: PPOKLConfig, nets: Networks) -> Recipe:
    """PPO-KL: ratio surrogate + β·KL(π_k‖π_θ); β halves/doubles toward the target KL (§6)."""

    def surrogate(
        dist: Any, mb: Batch, actor: Any, logp: jax.Array, hp: HP, learner: Learner
    ) -> jax.Array:
        dist_k = nets.policy(learner.actor, mb.obs)
        adv = _normalise(mb.adv, cfg.normalize_advantage)
        return ratio_loss(logp, mb.logp, adv) + learner.extra["beta"] * kl_divergence(
            dist_k, dist, "forward"
        )

    opt = lambda hp: adam(hp["learning_rate"], hp["max_grad_norm"])  # noqa: E731
    base = _joint_first_order(
        cfg, nets, opt, surrogate, cfg.n_epochs, cfg.rollout_size // cfg.batch_size, True
    )

    def update(
        learner: Learner, batch: Batch, key: jax.Array, hp: HP, progress: jax.Array, k: jax.Array
    ) -> tuple[Learner, Metrics]:
        learner, metrics = base.update(learner, batch, key, hp, progress, k)
        beta = adapt_kl_coefficient(
            learner.extra["beta"], metrics["train/kl_forward"], hp["kl_target"]
        )
        return learner.replace(extra={"beta": beta}), metrics | {"train/beta": beta}

    return Recipe(base.init, update)


def pg(cfg: A2CConfig, nets: Networks) -> Recipe:
    """Vanilla policy gradient (A2C): one optimiser step on the score surrogate (§3)."""

    def surrogate(
        dist: Any, mb: Batch, actor: Any, logp: jax.Array, hp: HP, learner: Learner
    ) -> jax.Array:
        return score_loss(logp, _normalise(mb.adv, cfg.normalize_advantage))

    def opt(hp: HP) -> optax.GradientTransformation:
        if cfg.optimizer == "adam":
            return adam(hp["learning_rate"], hp["max_grad_norm"])
        rms = optax.inject_hyperparams(optax.rmsprop)(
            learning_rate=hp["learning_rate"], decay=0.99, eps=1e-5
        )
        return optax.chain(optax.clip_by_global_norm(hp["max_grad_norm"]), rms)

    return _joint_first_order(cfg, nets, opt, surrogate, 1, 1, False)


# ------------------------------------------------------------------ natural gradient


class _NaturalStep(NamedTuple):
    g: Any
    d: Any
    loss_fn: Callable[[Any], jax.Array]
    kl_fn: Callable[[Any], jax.Array]
    cg: Any


def _natural_direction(
    cfg: Any,
    nets: Networks,
    actor: Any,
    batch: Batch,
    hp: HP,
    surrogate: Callable[[jax.Array, jax.Array, jax.Array], jax.Array],
) -> _NaturalStep:
    """g = ∇ surrogate at θ_k and d = (F + damping·I)⁻¹ g by CG on Fisher-vector products.

    ``loss_fn`` is always the ratio surrogate L_{π_k} (it shares its gradient at θ_k with the
    score surrogate), so expected and actual improvements are comparable across recipes.
    """
    dist_k = jax.tree.map(jax.lax.stop_gradient, nets.policy(actor, batch.obs))
    adv = _normalise(batch.adv, cfg.normalize_advantage)

    def logp(p: Any) -> jax.Array:
        return nets.policy(p, batch.obs).log_prob(batch.action)

    def kl_fn(p: Any) -> jax.Array:
        return kl_divergence(dist_k, nets.policy(p, batch.obs), "forward")

    g = jax.grad(lambda p: surrogate(logp(p), batch.logp, adv))(actor)
    fvp = fisher_vector_product(kl_fn, actor, hp["cg_damping"])
    d, cg = conjugate_gradient(fvp, g, cfg.cg_iters, hp["cg_tol"])
    return _NaturalStep(g, d, lambda p: ratio_loss(logp(p), batch.logp, adv), kl_fn, cg)


def _score(logp: jax.Array, logp_old: jax.Array, adv: jax.Array) -> jax.Array:
    return score_loss(logp, adv)


def npg(cfg: NPGConfig, nets: Networks) -> Recipe:
    """NPG (§4): θ ← θ − s·F⁻¹g with s = 1/λ or √(2δ/gᵀF⁻¹g); critic fitted separately."""

    def update(
        learner: Learner, batch: Batch, key: jax.Array, hp: HP, progress: jax.Array, k: jax.Array
    ) -> tuple[Learner, Metrics]:
        ns = _natural_direction(cfg, nets, learner.actor, batch, hp, _score)
        if cfg.step_rule == "trust_region":
            step = step_size_trust_region(ns.g, ns.d, hp["delta"])
        else:
            step = hp["step_size"]
        actor = tree_add_scale(learner.actor, -step, ns.d)
        metrics = _diagnostics(nets, learner.actor, actor, batch, jnp.float32(0.2), None)
        # Measured against θ_k before ``learner`` is rebound to the updated one below
        # (comparing the new actor with itself always gave 0).
        actual_improve = ns.loss_fn(learner.actor) - ns.loss_fn(actor)
        learner, vm = fit_critic(nets, cfg, hp, learner.replace(actor=actor), batch, key)
        return learner, metrics | vm | {
            "train/step_size": step,
            "train/grad_norm": optax.global_norm(ns.g),
            "train/cg_iterations": ns.cg.iterations,
            "train/cg_residual": ns.cg.residual,
            "train/expected_improve": step * tree_vdot(ns.g, ns.d),
            "train/actual_improve": actual_improve,
        }

    return Recipe(_separate_critic_init(nets, None), update)


def trpo(cfg: TRPOConfig, nets: Networks) -> Recipe:
    """TRPO (§5.3): natural direction, maximal step √(2δ/gᵀF⁻¹g), backtracking line search."""

    def update(
        learner: Learner, batch: Batch, key: jax.Array, hp: HP, progress: jax.Array, k: jax.Array
    ) -> tuple[Learner, Metrics]:
        ns = _natural_direction(cfg, nets, learner.actor, batch, hp, ratio_loss)
        step = step_size_trust_region(ns.g, ns.d, hp["delta"])
        full_step = jax.tree.map(lambda x: -step * x, ns.d)
        actor, ls = backtracking_line_search(
            ns.loss_fn,
            ns.kl_fn,
            learner.actor,
            full_step,
            hp["delta"],
            step * tree_vdot(ns.g, ns.d),
            hp["backtrack_coef"],
            cfg.max_backtracks,
        )
        metrics = _diagnostics(nets, learner.actor, actor, batch, jnp.float32(0.2), None)
        learner, vm = fit_critic(nets, cfg, hp, learner.replace(actor=actor), batch, key)
        return learner, metrics | vm | {
            "train/step_size": step * ls.step_fraction,
            "train/grad_norm": optax.global_norm(ns.g),
            "train/cg_iterations": ns.cg.iterations,
            "train/cg_residual": ns.cg.residual,
            "train/backtracks": ls.backtracks,
            "train/accepted": ls.accepted,
            "train/expected_improve": ls.expected_improve * ls.step_fraction,
            "train/actual_improve": ls.actual_improve,
        }

    return Recipe(_separate_critic_init(nets, None), update)


# ------------------------------------------------------------------ mirror descent


def _proximal_full_batch(
    cfg: Any,
    nets: Networks,
    step_fn: Callable[[HP, jax.Array, jax.Array], jax.Array],
    lam_key: str | None,
) -> Recipe:
    """m full-batch Adam steps on ratio surrogate + KL(π_θ‖π_k)/t_k (− λ·entropy)."""
    opt = lambda hp: adam(hp["learning_rate"], hp["max_grad_norm"])  # noqa: E731

    def update(
        learner: Learner, batch: Batch, key: jax.Array, hp: HP, progress: jax.Array, k: jax.Array
    ) -> tuple[Learner, Metrics]:
        t_k = step_fn(hp, progress, k)
        actor_k = jax.lax.stop_gradient(learner.actor)

        def loss(actor: Any, mb: Batch) -> tuple[jax.Array, Metrics]:
            dist = nets.policy(actor, mb.obs)
            surr = ratio_loss(
                dist.log_prob(mb.action), mb.logp, _normalise(mb.adv, cfg.normalize_advantage)
            )
            prox = kl_divergence(nets.policy(actor_k, mb.obs), dist, "reverse") / t_k
            ent = hp[lam_key] * jnp.mean(dist.entropy()) if lam_key else 0.0
            return surr + prox - ent, {"policy_loss": surr}

        res = minibatch_epochs(
            loss, learner.actor, learner.actor_opt, opt(hp), batch, key, cfg.m, 1
        )
        metrics = _diagnostics(nets, learner.actor, res.params, batch, jnp.float32(0.2), None)
        learner, vm = fit_critic(
            nets, cfg, hp, learner.replace(actor=res.params, actor_opt=res.opt_state), batch, key
        )
        return learner, metrics | vm | {
            "train/policy_loss": res.metrics["policy_loss"],
            "train/grad_norm": res.metrics["grad_norm"],
            "train/t_k": t_k,
        }

    return Recipe(_separate_critic_init(nets, opt), update)


def mdpo(cfg: MDPOConfig, nets: Networks) -> Recipe:
    """On-policy MDPO (§8.2) with t_k from :mod:`policyopt.schedules`.

    ``linear`` (default, the MDPO paper's): t_k = max(t_init(1 − k/K), t_min);
    ``geometric`` (policy mirror descent's, Xiao 2022): t_k = min(t_init/γ^k, t_max);
    ``constant``: t_k = t_init.
    """

    def step(hp: HP, progress: jax.Array, k: jax.Array) -> jax.Array:
        return schedules.mirror_step_size(
            cfg.schedule, k.astype(jnp.float32), progress, hp["gamma"], hp["t_init"],
            hp["t_min"], hp["t_max"],
        )  # fmt: skip

    return _proximal_full_batch(cfg, nets, step, None)


def adaptive_trpo(cfg: AdaptiveTRPOConfig, nets: Networks) -> Recipe:
    """Adaptive TRPO (§8.2): Shani et al.'s t_k = c/(λ(k+2)) (λ > 0) or c/√(k+1) (λ = 0).

    The unregularised rule is the exact level's c(1−γ)/(C_max√(k+1)) with the Q-value bound
    C_max/(1−γ) set to 1: the surrogate's advantages are standardised.
    """

    def step(hp: HP, progress: jax.Array, k: jax.Array) -> jax.Array:
        return schedules.shani(k.astype(jnp.float32), hp["lam"], hp["step_scale"], 1.0)

    return _proximal_full_batch(cfg, nets, step, "lam")


RECIPES: dict[str, Callable[[Any, Networks], Recipe]] = {
    "pg": pg,
    "npg": npg,
    "trpo": trpo,
    "ppo": ppo,
    "ppo_kl": ppo_kl,
    "mdpo": mdpo,
    "adaptive_trpo": adaptive_trpo,
}


def make_recipe(config: BaseConfig, nets: Networks) -> Recipe:
    """The recipe named by ``config.name`` built for ``nets``."""
    return RECIPES[config.name](config, nets)
