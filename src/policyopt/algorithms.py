"""The deep level's update engine: any row of :mod:`policyopt.composition`, built from blocks.

Every update is ``θ_{k+1} = argmin_θ surrogate(θ; θ_k) + proximity(θ, θ_k)`` solved by a
solver (DESIGN §1). Reward convention: surrogates are *losses* (negated objectives).

There are no per-algorithm recipes: a config's :attr:`~policyopt.configs.BaseConfig.composition`
(a named row such as ``ppo``'s, or any :func:`policyopt.compose`) picks the blocks, and one
engine per solver family runs them:

* :func:`_first_order` — epochs × minibatches of an optax optimiser on surrogate + penalty
  (− entropy); the critic either in one joint loss (as SB3/CleanRL PPO and A2C) or fitted
  apart (:func:`fit_critic`, as MDPO and Adaptive TRPO);
* :func:`_natural` — the direction (∇²D + damping·I)⁻¹g by CG on curvature-vector products,
  the step 1/β, t_k or √(2δ/gᵀd), optionally TRPO's backtracking; critic fitted apart.

The table of named rows is :data:`policyopt.composition.NAMED`; the README's algorithm table
is checked against it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import jax
import jax.numpy as jnp
import optax
from flax import struct

from policyopt import schedules
from policyopt.composition import Composition
from policyopt.configs import BaseConfig
from policyopt.divergences import (
    adapt_kl_coefficient,
    euclidean,
    fisher_vector_product,
    kl_divergence,
)
from policyopt.estimators import batched_gae
from policyopt.metrics import explained_variance, policy_diagnostics
from policyopt.nn import Networks
from policyopt.solvers.directions import Direction, adapt_damping, natural_direction
from policyopt.solvers.first_order import minibatch_epochs
from policyopt.solvers.kfac import kfac_direction
from policyopt.solvers.linesearch import backtracking_line_search
from policyopt.solvers.natural import step_size_fixed, step_size_trust_region
from policyopt.surrogates import approx_kl, clipped_ratio_loss, ratio_loss, score_loss

__all__ = [
    "Batch",
    "Coefficient",
    "InitFn",
    "Learner",
    "Recipe",
    "Transition",
    "UpdateFn",
    "coefficient",
    "divergence",
    "fit_critic",
    "make_batch",
    "make_recipe",
    "surrogate_loss",
]

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

    if TYPE_CHECKING:  # added by flax.struct.dataclass, which its typing does not declare

        def replace(self, **changes: Any) -> Learner: ...


class InitFn(Protocol):
    """``init(actor_key, critic_key, obs, hp) -> Learner``: parameters and solver states."""

    def __call__(
        self, actor_key: jax.Array, critic_key: jax.Array, obs: jax.Array, hp: HP
    ) -> Learner: ...


class UpdateFn(Protocol):
    """``update(learner, batch, key, hp, progress, iteration) -> (learner, metrics)``.

    ``progress`` is the fraction of training done (for annealing), ``iteration`` the update's
    index k (for t_k schedules); ``hp`` the traced float hyperparameters of the config.
    """

    def __call__(
        self,
        learner: Learner,
        batch: Batch,
        key: jax.Array,
        hp: HP,
        progress: jax.Array,
        iteration: jax.Array,
    ) -> tuple[Learner, Metrics]: ...


class Recipe(NamedTuple):
    """An update rule as a pair of pure functions (as optax's ``GradientTransformation``)."""

    init: InitFn
    update: UpdateFn


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
    nets: Networks, actor_k: Any, actor: Any, batch: Batch, clip_eps: jax.Array | float
) -> Metrics:
    out = policy_diagnostics(
        nets.policy(actor_k, batch.obs), nets.policy(actor, batch.obs), batch.action, clip_eps
    )
    out["train/explained_variance"] = explained_variance(batch.value, batch.returns)
    return out


# ------------------------------------------------------------------ the blocks


def surrogate_loss(
    name: str, logp: jax.Array, logp_old: jax.Array, adv: jax.Array, hp: HP
) -> jax.Array:
    """The named surrogate (:data:`policyopt.composition.SURROGATES`) as a loss to minimise."""
    if name == "score":
        return score_loss(logp, adv)
    if name == "ratio":
        return ratio_loss(logp, logp_old, adv)
    if name == "clipped_ratio":
        return clipped_ratio_loss(logp, logp_old, adv, hp["clip_eps"])
    raise ValueError(f"surrogate: got {name!r}")


def divergence(
    name: str,
    nets: Networks,
    actor_k: Any,
    actor: Any,
    obs: jax.Array,
    dist_k: Any = None,
    dist: Any = None,
) -> jax.Array:
    """The named proximity D(θ, θ_k) (:data:`policyopt.composition.PROXIMITIES`).

    ``dist_k`` (π_k on ``obs``) and ``dist`` (π_θ on ``obs``) may be passed when the caller
    already has them: a second forward pass of the actor would also be differentiated.
    """
    if name == "euclidean":
        return euclidean(actor, actor_k)
    if name in ("kl_forward", "kl_reverse"):
        dist_k = nets.policy(actor_k, obs) if dist_k is None else dist_k
        dist = nets.policy(actor, obs) if dist is None else dist
        return kl_divergence(dist_k, dist, name[3:])
    raise ValueError(f"proximity: got {name!r}")


class Coefficient(NamedTuple):
    """A penalty's weight this iteration: ``D·β`` (fixed, adaptive) or ``D/t_k`` (schedules).

    ``value`` is β or t_k; ``divide`` is static. The natural solver's step is 1/β or t_k.
    """

    value: jax.Array
    divide: bool

    def weigh(self, d: jax.Array) -> jax.Array:
        return d / self.value if self.divide else self.value * d

    def step(self) -> jax.Array:
        return self.value if self.divide else step_size_fixed(self.value)


def coefficient(
    rule: str, cfg: Any, hp: HP, extra: dict[str, jax.Array], progress: jax.Array, it: jax.Array
) -> Coefficient:
    """The weight of a penalty under ``rule`` (:data:`policyopt.composition.COEFFICIENTS`)."""
    if rule == "fixed":
        return Coefficient(hp["beta"], False)
    if rule == "adaptive":
        return Coefficient(extra["beta"], False)
    k = it.astype(jnp.float32)
    if rule == "annealed":
        t_k = schedules.mirror_step_size(
            cfg.schedule, k, progress, hp["gamma"], hp["t_init"], hp["t_min"], hp["t_max"]
        )
        return Coefficient(t_k, True)
    if rule == "shani":
        # The exact level's c(1−γ)/(C_max√(k+1)) with the Q-value bound C_max/(1−γ) set to 1:
        # the surrogate's advantages are standardised.
        return Coefficient(schedules.shani(k, hp["ent_coef"], hp["step_scale"], 1.0), True)
    raise ValueError(f"coefficient: got {rule!r}")


def _adaptive(comp: Composition) -> bool:
    """Whether the penalty's weight is PPO-KL's adapted β (a state carried across updates)."""
    return (
        comp.coefficient == "adaptive"
        and comp.proximity_as == "penalty"
        and (comp.proximity != "none")
    )


def _coefficient_state(comp: Composition, hp: HP) -> dict[str, jax.Array]:
    """The learner's ``extra`` a coefficient rule needs: β for the adaptive rule, else nothing."""
    return {"beta": hp["beta_init"]} if _adaptive(comp) else {}


def _coefficient_metrics(rule: str, c: Coefficient) -> Metrics:
    return {"train/t_k": c.value} if c.divide else {"train/beta": c.value}


def _adapt(comp: Composition, extra: dict, metrics: Metrics, hp: HP) -> dict:
    """After the update: PPO-KL's β rule on the step's own KL (the proximity's direction)."""
    if not _adaptive(comp):
        return extra
    beta = adapt_kl_coefficient(extra["beta"], metrics[f"train/{comp.proximity}"], hp["kl_target"])
    return {**extra, "beta": beta}


def _optimizer(cfg: Any, hp: HP) -> optax.GradientTransformation:
    """The first-order solver's optax optimiser (Adam by default; A2C's RMSprop; SGD)."""
    name = getattr(cfg, "optimizer", "adam")
    if name == "adam":
        return adam(hp["learning_rate"], hp["max_grad_norm"])
    if name == "rmsprop":  # PyTorch's RMSprop as SB3's A2C sets it: g / (√ν + ε), α 0.99, ε 1e-5
        inner = optax.inject_hyperparams(optax.rmsprop)(
            learning_rate=hp["learning_rate"], decay=0.99, eps=1e-5, eps_in_sqrt=False
        )
    else:
        inner = optax.inject_hyperparams(optax.sgd)(learning_rate=hp["learning_rate"])
    return optax.chain(optax.clip_by_global_norm(hp["max_grad_norm"]), inner)


# ------------------------------------------------------------------ first-order solver


def _first_order(cfg: Any, nets: Networks, comp: Composition) -> Recipe:
    """Epochs × minibatches of surrogate + penalty (− entropy), with the critic joint or apart.

    Joint (SB3/CleanRL PPO and A2C): one loss ``policy + vf_coef·value − ent_coef·H`` over
    actor and critic. Separate (MDPO, Adaptive TRPO): the policy's loss alone, then
    :func:`fit_critic`.
    """
    joint = cfg.critic_mode == "joint"
    penalised = comp.proximity != "none"
    # Static: the KL early stop is compiled in only when the config asks for it (a traced
    # target_kl of 0 would still mask every step; tune.py builds with a positive placeholder
    # when a grid sweeps target_kl).
    early_stop = float(getattr(cfg, "target_kl", 0.0)) > 0
    anneal = getattr(cfg, "anneal_lr", False)

    def init(actor_key: jax.Array, critic_key: jax.Array, obs: jax.Array, hp: HP) -> Learner:
        actor, critic = _init_params(nets, actor_key, critic_key, obs, hp)
        extra = _coefficient_state(comp, hp)
        if joint:
            return Learner(actor, critic, _optimizer(cfg, hp).init((actor, critic)), (), extra)
        critic_opt = adam(hp["vf_learning_rate"]).init(critic)
        return Learner(actor, critic, _optimizer(cfg, hp).init(actor), critic_opt, extra)

    def update(
        learner: Learner,
        batch: Batch,
        key: jax.Array,
        hp: HP,
        progress: jax.Array,
        iteration: jax.Array,
    ) -> tuple[Learner, Metrics]:
        lr = hp["learning_rate"] * (1.0 - progress) if anneal else hp["learning_rate"]
        coef = (
            coefficient(comp.coefficient, cfg, hp, learner.extra, progress, iteration)
            if penalised
            else None
        )
        actor_k = jax.lax.stop_gradient(learner.actor)

        def policy_terms(actor: Any, mb: Batch) -> tuple[jax.Array, jax.Array, Metrics]:
            dist = nets.policy(actor, mb.obs)
            logp = dist.log_prob(mb.action)
            adv = _normalise(mb.adv, cfg.normalize_advantage)
            surr = surrogate_loss(comp.surrogate, logp, mb.logp, adv, hp)
            aux = {"policy_loss": surr}
            if early_stop:
                aux["approx_kl"] = approx_kl(logp, mb.logp)
            loss = surr
            if penalised:
                d = divergence(comp.proximity, nets, actor_k, actor, mb.obs, dist=dist)
                pen = coef.weigh(d)  # type: ignore[union-attr]
                aux["proximity"] = pen
                loss = loss + pen
            return loss, jnp.mean(dist.entropy()), aux

        if joint:

            def loss_fn(params: Any, mb: Batch) -> tuple[jax.Array, Metrics]:
                actor, critic = params
                pg, ent, aux = policy_terms(actor, mb)
                vf = value_loss(nets, critic, mb.obs, mb.returns)
                return pg + hp["vf_coef"] * vf - hp["ent_coef"] * ent, aux | {"value_loss": vf}

            params, opt_state = (learner.actor, learner.critic), learner.actor_opt
        else:

            def loss_fn(params: Any, mb: Batch) -> tuple[jax.Array, Metrics]:
                pg, ent, aux = policy_terms(params, mb)
                return (pg - hp["ent_coef"] * ent if comp.entropy else pg), aux

            params, opt_state = learner.actor, learner.actor_opt

        tkl = jnp.where(hp["target_kl"] > 0, hp["target_kl"], jnp.inf) if early_stop else None
        res = minibatch_epochs(
            loss_fn,
            params,
            set_learning_rate(opt_state, lr),
            _optimizer(cfg, hp),
            batch,
            key,
            cfg.n_epochs,
            cfg.n_minibatches,
            tkl,
        )
        actor, critic = res.params if joint else (res.params, learner.critic)
        metrics = _diagnostics(nets, learner.actor, actor, batch, hp.get("clip_eps", 0.2))
        metrics |= {
            "train/policy_loss": res.metrics["policy_loss"],
            "train/grad_norm": res.metrics["grad_norm"],
            "train/learning_rate": lr,
            "train/n_updates": res.n_updates,
        }
        if penalised:
            metrics |= {"train/proximity": res.metrics["proximity"]}
            metrics |= _coefficient_metrics(comp.coefficient, coef)  # type: ignore[arg-type]
        if hasattr(cfg, "target_kl"):  # reported whether or not the stop is compiled in
            metrics["train/stopped_early"] = res.stopped_early
        extra = _adapt(comp, learner.extra, metrics, hp)
        if _adaptive(comp):
            metrics["train/beta"] = extra["beta"]
        learner = learner.replace(actor=actor, critic=critic, actor_opt=res.opt_state, extra=extra)
        if joint:
            return learner, metrics | {"train/value_loss": res.metrics["value_loss"]}
        learner, vm = fit_critic(nets, cfg, hp, learner, batch, key)
        return learner, metrics | vm

    return Recipe(init, update)


# ------------------------------------------------------------------ natural solvers


def _natural(cfg: Any, nets: Networks, comp: Composition) -> Recipe:
    """d ≈ (∇²D + damping·I)⁻¹g by ``cfg.fisher_solver`` (CG by default; dense, Krylov,
    Hessian-free: :mod:`policyopt.solvers.directions`; K-FAC: :mod:`policyopt.solvers.kfac`),
    then the step 1/β, t_k or √(2δ/gᵀd) (ACKTR: capped at ``max_step``), optionally TRPO's
    line search.

    For the KLs ∇²D at θ_k is the Fisher matrix (both directions agree to second order), for
    ``euclidean`` the identity. The value model of the step (expected and actual improvement,
    the line search's test) is the ratio surrogate L_{π_k} for ``score`` (its value away from
    θ_k means nothing; its gradient at θ_k is L's) and the surrogate itself otherwise.
    """
    constraint = comp.proximity_as == "constraint"
    linesearch = comp.solver == "natural_linesearch"
    model = "ratio" if comp.surrogate == "score" else comp.surrogate
    hessian_free = cfg.fisher_solver == "hessian_free"

    def init(actor_key: jax.Array, critic_key: jax.Array, obs: jax.Array, hp: HP) -> Learner:
        actor, critic = _init_params(nets, actor_key, critic_key, obs, hp)
        extra = _coefficient_state(comp, hp)
        if hessian_free:
            extra["damping"] = hp["damping"]
        return Learner(actor, critic, (), adam(hp["vf_learning_rate"]).init(critic), extra)

    def update(
        learner: Learner,
        batch: Batch,
        key: jax.Array,
        hp: HP,
        progress: jax.Array,
        iteration: jax.Array,
    ) -> tuple[Learner, Metrics]:
        actor_k = learner.actor
        dist_k = jax.tree.map(jax.lax.stop_gradient, nets.policy(actor_k, batch.obs))
        adv = _normalise(batch.adv, cfg.normalize_advantage)

        def objective(name: str) -> Callable[[Any], jax.Array]:
            def loss(p: Any) -> jax.Array:
                dist = nets.policy(p, batch.obs)
                out = surrogate_loss(name, dist.log_prob(batch.action), batch.logp, adv, hp)
                return out - hp["ent_coef"] * jnp.mean(dist.entropy()) if comp.entropy else out

            return loss

        def dist_fn(p: Any) -> jax.Array:
            return divergence(comp.proximity, nets, actor_k, p, batch.obs, dist_k)

        g = jax.grad(objective(comp.surrogate))(actor_k)
        damping = learner.extra["damping"] if hessian_free else hp["damping"]
        fisher = fisher_vector_product(dist_fn, actor_k)
        if cfg.fisher_solver == "kfac":
            d = kfac_direction(nets, actor_k, batch.obs, g, damping, key)
            nd = Direction(d, jnp.int32(0), _residual(fisher, d, g, damping), damping)
        else:
            nd = natural_direction(
                cfg.fisher_solver, fisher, g, damping, cfg.cg_iters, hp["cg_tol"]
            )
            d = nd.d
        model_loss = objective(model)
        check_metrics = _direction_check(cfg, fisher, g, d, damping, iteration)
        extra_metrics: Metrics = {}
        if constraint:
            step = step_size_trust_region(g, d, hp["delta"])
            if "max_step" in hp:  # ACKTR's min(η_max, √(2δ/gᵀF̂⁻¹g))
                step = jnp.minimum(step, hp["max_step"])
        else:
            coef = coefficient(comp.coefficient, cfg, hp, learner.extra, progress, iteration)
            step = coef.step()
            extra_metrics = _coefficient_metrics(comp.coefficient, coef)
        expected = step * tree_vdot(g, d)
        if linesearch:
            actor, ls = backtracking_line_search(
                model_loss,
                dist_fn,
                actor_k,
                jax.tree.map(lambda x: -step * x, d),
                hp["delta"],
                expected,
                hp["backtrack_coef"],
                cfg.max_backtracks,
            )
            extra_metrics |= {
                "train/backtracks": ls.backtracks,
                "train/accepted": ls.accepted,
                "train/expected_improve": ls.expected_improve * ls.step_fraction,
                "train/actual_improve": ls.actual_improve,
            }
            step = step * ls.step_fraction
        else:
            actor = tree_add_scale(actor_k, -step, d)
            extra_metrics |= {
                "train/expected_improve": expected,
                "train/actual_improve": model_loss(actor_k) - model_loss(actor),
            }
        metrics = _diagnostics(nets, actor_k, actor, batch, 0.2)
        extra = _adapt(comp, learner.extra, metrics, hp)
        if hessian_free:  # Martens' Levenberg–Marquardt rule on actual / predicted improvement
            extra = {**extra, "damping": adapt_damping(
                damping, extra_metrics["train/actual_improve"],
                extra_metrics["train/expected_improve"],
            )}  # fmt: skip
        if _adaptive(comp):
            extra_metrics["train/beta"] = extra["beta"]
        learner, vm = fit_critic(
            nets, cfg, hp, learner.replace(actor=actor, extra=extra), batch, key
        )
        return learner, metrics | vm | extra_metrics | {
            "train/step_size": step,
            "train/grad_norm": optax.global_norm(g),
            "train/cg_iterations": nd.iterations,
            "train/cg_residual": nd.residual,
            "train/damping": nd.damping,
        } | check_metrics

    return Recipe(init, update)


def _direction_check(
    cfg: Any, fisher: Callable[[Any], Any], g: Any, d: Any, damping: jax.Array, it: jax.Array
) -> Metrics:
    """Every ``direction_check_every`` updates: cosine and relative error of d against the
    dense damped solve (NaN otherwise). ``iteration`` is the same for every vmapped seed, so
    the ``cond`` stays a branch and the dense solve runs only on sampled updates."""
    every = getattr(cfg, "direction_check_every", 0)
    if not every:
        return {}

    def check(_: None) -> tuple[jax.Array, jax.Array]:
        exact = natural_direction("dense", fisher, g, damping, 1, 0.0).d
        dot, nd, ne = tree_vdot(d, exact), tree_vdot(d, d), tree_vdot(exact, exact)
        diff = jax.tree.map(jnp.subtract, d, exact)
        cos = dot / jnp.sqrt(jnp.maximum(nd * ne, 1e-30))
        return cos, jnp.sqrt(tree_vdot(diff, diff) / jnp.maximum(ne, 1e-30))

    nan = jnp.full((), jnp.nan, jnp.float32)
    cos, rel = jax.lax.cond(it % every == 0, check, lambda _: (nan, nan), None)
    return {"train/direction_cosine": cos, "train/direction_rel_error": rel}


def _residual(fisher: Callable[[Any], Any], d: Any, g: Any, damping: jax.Array) -> jax.Array:
    """‖(F + λI)d − g‖²: how far an approximate direction (K-FAC) is from solving the system."""
    r = jax.tree.map(lambda fd, dd, gg: fd + damping * dd - gg, fisher(d), d, g)
    return tree_vdot(r, r)


def make_recipe(config: BaseConfig, nets: Networks) -> Recipe:
    """The update of ``config``'s row of the table (:attr:`BaseConfig.composition`), for ``nets``.

    Named configs and :func:`policyopt.compose` alike: one engine per solver family, the
    blocks chosen by name. The composition is checked again here, so a hand-built config
    cannot reach the compiler with a combination that makes no sense.
    """
    comp = config.composition.check("deep", type(config).__name__)
    if comp.solver == "first_order":
        return _first_order(config, nets, comp)
    return _natural(config, nets, comp)
