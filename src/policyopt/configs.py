"""Frozen, validated configs of the deep recipes (reward convention).

Every config is a frozen dataclass: integer / string / bool fields set shapes and control
flow and are static; **float fields are hyperparameters passed to the compiled ``train`` as
traced leaves** (see :func:`hparams`), so ``jax.vmap`` over a learning rate, a clip ε or a
trust-region δ runs one compiled program for all values. Defaults come from the reference
implementations named in each class docstring. Invalid values raise
:class:`~policyopt.errors.ConfigError` naming the field, before anything compiles.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, cast

import jax.numpy as jnp

from policyopt.composition import (
    NAMED,
    Composition,
    CompositionFields,
    composition_fields,
    parse_recipe,
)
from policyopt.env_kwargs import NO_ENV_KWARGS, EnvKwargs
from policyopt.errors import (
    ConfigError,
    check_choice,
    check_int,
    check_range,
    coerce_fields,
    float_fields,
    suggest,
)
from policyopt.nn import ACTIVATIONS
from policyopt.schedules import MIRROR_SCHEDULES
from policyopt.solvers.directions import FISHER_SOLVERS
from policyopt.solvers.kfac import MISSING, kfac_available

__all__ = [
    "CONFIGS",
    "A2CConfig",
    "ACKTRConfig",
    "AdaptiveTRPOConfig",
    "BaseConfig",
    "ComposedConfig",
    "MDPOConfig",
    "NPGConfig",
    "PPOConfig",
    "PPOKLConfig",
    "TRPOConfig",
    "compose",
    "hparams",
    "make_config",
    "with_added_fields",
]


@dataclass(frozen=True)
class BaseConfig:
    """Fields every recipe shares.

    Attributes:
        env_id: environment id (gymnax id for compiled training).
        env_kwargs: keyword arguments of the environment: ``gym.make``'s for a Gymnasium id
            (EnvPool gets the same settings in its spelling, or Gymnasium's env is used),
            ``EnvParams`` fields for a gymnax id; e.g. ``{"include_cfrc_ext_in_observation":
            False}`` for Ant-v5 without contact forces (:mod:`policyopt.env_kwargs`).
        total_timesteps: environment steps in total (rounded down to whole rollouts).
        num_envs: parallel environments.
        num_steps: steps per environment per rollout (rollout = num_envs × num_steps).
        gamma: discount factor γ.
        gae_lambda: GAE λ (1 = Monte-Carlo advantages, 0 = TD error).
        normalize_advantage: standardise advantages (per minibatch for first-order solvers).
        hidden_sizes: hidden layer widths of actor and critic.
        activation: hidden activation (tanh, relu, elu, gelu, silu).
        log_std_init: initial log standard deviation of Gaussian policies.
        eval_episodes: episodes of the deterministic evaluation returned by ``train``.
    """

    env_id: str = "CartPole-v1"
    env_kwargs: EnvKwargs = NO_ENV_KWARGS
    total_timesteps: int = 100_000
    num_envs: int = 8
    num_steps: int = 128
    gamma: float = 0.99
    gae_lambda: float = 0.95
    normalize_advantage: bool = True
    hidden_sizes: tuple[int, ...] = (64, 64)
    activation: str = "tanh"
    log_std_init: float = 0.0
    eval_episodes: int = 16

    name: ClassVar[str] = "base"

    def __post_init__(self) -> None:
        o = type(self).__name__
        # Types first (an int for a float field is a float; a string never is), then ranges.
        coerce_fields(self)
        check_int(o, "num_envs", self.num_envs, 1)
        check_int(o, "num_steps", self.num_steps, 1)
        check_int(o, "total_timesteps", self.total_timesteps, 1)
        if self.total_timesteps < self.rollout_size:
            raise ConfigError(
                o,
                "total_timesteps",
                f"must be >= num_envs × num_steps = {self.rollout_size}, "
                f"got {self.total_timesteps}",
            )
        check_range(o, "gamma", self.gamma, 0.0, 1.0, high_open=False)
        check_range(o, "gae_lambda", self.gae_lambda, 0.0, 1.0, low_open=False, high_open=False)
        if not self.hidden_sizes or any(
            (not isinstance(h, int)) or h < 1 for h in self.hidden_sizes
        ):
            raise ConfigError(
                o,
                "hidden_sizes",
                f"must be a non-empty tuple of positive ints, got {self.hidden_sizes!r}",
            )
        check_choice(o, "activation", self.activation, ACTIVATIONS)
        check_range(o, "log_std_init", self.log_std_init, -20.0, 5.0)
        check_int(o, "eval_episodes", self.eval_episodes, 1)

    @property
    def rollout_size(self) -> int:
        return self.num_envs * self.num_steps

    @property
    def num_updates(self) -> int:
        return self.total_timesteps // self.rollout_size

    @property
    def composition(self) -> Composition:
        """This config's row of the table (:mod:`policyopt.composition`)."""
        return NAMED["deep"][self.name]

    @property
    def n_minibatches(self) -> int:
        """Minibatches per epoch of a first-order solver (static)."""
        return self.rollout_size // getattr(self, "batch_size", self.rollout_size)

    @property
    def critic_mode(self) -> str:
        """``"joint"`` (one loss with the policy, SB3's PPO/A2C) or ``"separate"`` (own epochs)."""
        return "joint" if hasattr(self, "vf_coef") else "separate"


def _check_minibatches(cfg: Any, batch_field: str = "batch_size") -> None:
    bs = getattr(cfg, batch_field)
    check_int(type(cfg).__name__, batch_field, bs, 1)
    if cfg.rollout_size % bs:
        raise ConfigError(
            type(cfg).__name__,
            batch_field,
            f"must divide the rollout num_envs × num_steps = {cfg.rollout_size}, got {bs}",
        )


@dataclass(frozen=True)
class PPOConfig(BaseConfig):
    """PPO-clip (Schulman et al. 2017); defaults of stable-baselines3 ``PPO``.

    Attributes:
        learning_rate: Adam step size (joint actor + critic loss, as SB3/CleanRL).
        anneal_lr: linearly decay the learning rate to 0 over training.
        n_epochs: passes over the rollout per update.
        batch_size: minibatch size (must divide the rollout).
        clip_eps: clip range ε of the ratio.
        ent_coef: entropy bonus coefficient.
        vf_coef: value-loss coefficient.
        max_grad_norm: global gradient-norm clip.
        target_kl: stop the epochs once approx KL > 1.5·target (SB3); 0 disables it, and
            then no stop is compiled into the program (to vmap over target_kl, give the
            config a positive value; ``tune_compiled`` does).
    """

    learning_rate: float = 3e-4
    anneal_lr: bool = False
    n_epochs: int = 10
    batch_size: int = 64
    clip_eps: float = 0.2
    ent_coef: float = 0.0
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    target_kl: float = 0.0
    name: ClassVar[str] = "ppo"

    def __post_init__(self) -> None:
        super().__post_init__()
        o = type(self).__name__
        check_range(o, "learning_rate", self.learning_rate, 0.0)
        check_int(o, "n_epochs", self.n_epochs, 1)
        _check_minibatches(self)
        check_range(o, "clip_eps", self.clip_eps, 0.0, 1.0)
        check_range(o, "ent_coef", self.ent_coef, 0.0, low_open=False)
        check_range(o, "vf_coef", self.vf_coef, 0.0, low_open=False)
        check_range(o, "max_grad_norm", self.max_grad_norm, 0.0)
        check_range(o, "target_kl", self.target_kl, 0.0, low_open=False)


@dataclass(frozen=True)
class PPOKLConfig(PPOConfig):
    """PPO with the adaptive KL penalty (Schulman et al. 2017, §4).

    After each update, with d = mean KL(π_k‖π_θ) over the rollout states:
    d < target/1.5 ⇒ β ← β/2;  d > 1.5·target ⇒ β ← 2β.

    Attributes:
        kl_target: the target KL d_targ.
        beta_init: initial penalty coefficient β.
    """

    kl_target: float = 0.01
    beta_init: float = 1.0
    name: ClassVar[str] = "ppo_kl"

    def __post_init__(self) -> None:
        super().__post_init__()
        check_range("PPOKLConfig", "kl_target", self.kl_target, 0.0)
        check_range("PPOKLConfig", "beta_init", self.beta_init, 0.0)


@dataclass(frozen=True)
class A2CConfig(BaseConfig):
    """Vanilla policy gradient with a critic (A2C); defaults of stable-baselines3 ``A2C``.

    One gradient step of the score surrogate per rollout (the paper's §3 update), RMSprop as
    in SB3's A2C.

    Attributes:
        learning_rate: optimiser step size η.
        anneal_lr: linearly decay the learning rate to 0 over training (rl-zoo3's ``lin_``
            schedules for A2C).
        optimizer: "rmsprop" (SB3 A2C) or "adam".
        ent_coef, vf_coef, max_grad_norm: as in PPO.
        beta: weight of an explicit penalty β·½‖θ−θ_k‖². The default 0 leaves the proximity
            to the step size, which is exact here: one step from θ_k is the proximal step of
            ½‖θ−θ_k‖²/η (§3), and the penalty's gradient vanishes at θ_k anyway.
    """

    num_steps: int = 5
    gae_lambda: float = 1.0
    normalize_advantage: bool = False
    learning_rate: float = 7e-4
    anneal_lr: bool = False
    optimizer: str = "rmsprop"
    ent_coef: float = 0.0
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    beta: float = 0.0
    name: ClassVar[str] = "pg"

    n_epochs: ClassVar[int] = 1

    @property
    def n_minibatches(self) -> int:
        return 1

    def __post_init__(self) -> None:
        super().__post_init__()
        check_range("A2CConfig", "learning_rate", self.learning_rate, 0.0)
        check_choice("A2CConfig", "optimizer", self.optimizer, ["rmsprop", "adam"])
        check_range("A2CConfig", "ent_coef", self.ent_coef, 0.0, low_open=False)
        check_range("A2CConfig", "vf_coef", self.vf_coef, 0.0, low_open=False)
        check_range("A2CConfig", "max_grad_norm", self.max_grad_norm, 0.0)
        check_range("A2CConfig", "beta", self.beta, 0.0, low_open=False)


@dataclass(frozen=True)
class _CriticFields(BaseConfig):
    """A separately fitted critic (Adam epochs over minibatches), as TRPO/NPG codes do.

    Attributes:
        vf_learning_rate: critic Adam step size.
        vf_epochs: critic epochs per update (sb3-contrib ``n_critic_updates``).
        vf_batch_size: critic minibatch size (must divide the rollout).
    """

    vf_learning_rate: float = 1e-3
    vf_epochs: int = 10
    vf_batch_size: int = 128

    def __post_init__(self) -> None:
        super().__post_init__()
        o = type(self).__name__
        check_range(o, "vf_learning_rate", self.vf_learning_rate, 0.0)
        check_int(o, "vf_epochs", self.vf_epochs, 1)
        _check_minibatches(self, "vf_batch_size")


@dataclass(frozen=True)
class _NaturalFields(_CriticFields):
    """How a natural direction d ≈ (F + damping·I)⁻¹g is computed (NPG, TRPO, compositions).

    Attributes:
        fisher_solver: how d ≈ (F + λI)⁻¹g is computed (:mod:`policyopt.solvers.directions`):
            "cg" (truncated conjugate gradient, the default), "dense" (F materialised and
            solved exactly; small networks only), "krylov" (Krylov subspace descent's reduced
            solve), "hessian_free" (CG with Martens' adapted Levenberg–Marquardt damping) or
            "kfac" (Kronecker-factored blocks via kfac-jax: the ``kfac`` extra).
        cg_iters: CG / Hessian-free iterations, or the Krylov dimension.
        damping: Tikhonov damping λ added to the curvature (F + λI), sb3-contrib's
            ``cg_damping`` (Hessian-free: its initial value).
        cg_tol: stop CG once the squared residual is below this.
        direction_check_every: every this many updates, also solve densely and log the
            cosine and relative error of the solver's direction against the exact one
            (``train/direction_cosine``, ``train/direction_rel_error``; NaN in between);
            0 = never. Small networks only (the dense solve's limit).
    """

    fisher_solver: str = "cg"
    cg_iters: int = 10
    damping: float = 0.1
    cg_tol: float = 1e-10
    direction_check_every: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        o = type(self).__name__
        check_choice(o, "fisher_solver", self.fisher_solver, FISHER_SOLVERS)
        if self.fisher_solver == "kfac" and not kfac_available():
            raise ConfigError(o, "fisher_solver", MISSING)
        check_int(o, "cg_iters", self.cg_iters, 1)
        check_range(o, "damping", self.damping, 0.0, low_open=False)
        check_range(o, "cg_tol", self.cg_tol, 0.0, low_open=False)
        check_int(o, "direction_check_every", self.direction_check_every, 0)


@dataclass(frozen=True)
class NPGConfig(_NaturalFields):
    """Natural policy gradient (Kakade 2001; the seed's §4); defaults of Tianshou ``NPGPolicy``.

    Row: score surrogate · kl_forward (penalty β·½ΔᵀFΔ, or constraint ≤ δ) · natural.

    Attributes:
        step_rule: "fixed" (the penalty λ = β of §4: θ ← θ − (1/β)·F⁻¹g; Tianshou's step
            0.5 is β = 2) or "trust_region" (KL as a constraint: step √(2δ/gᵀF⁻¹g)).
        beta: the penalty β of the fixed rule (step 1/β).
        delta: δ of the trust-region rule.
    """

    step_rule: str = "fixed"
    beta: float = 2.0
    delta: float = 0.01
    name: ClassVar[str] = "npg"

    @property
    def composition(self) -> Composition:
        row = NAMED["deep"]["npg"]
        if self.step_rule == "trust_region":
            return dataclasses.replace(row, proximity_as="constraint")
        return row

    def __post_init__(self) -> None:
        super().__post_init__()
        o = type(self).__name__
        check_choice(o, "step_rule", self.step_rule, ["fixed", "trust_region"])
        check_range(o, "beta", self.beta, 0.0)
        check_range(o, "delta", self.delta, 0.0)


@dataclass(frozen=True)
class TRPOConfig(_NaturalFields):
    """TRPO (Schulman et al. 2015; the seed's §5.3); defaults of sb3-contrib ``TRPO``.

    Row: ratio surrogate · kl_forward constraint ≤ δ · natural_linesearch.

    Attributes:
        delta: trust-region radius δ on mean KL(π_k‖π_θ), accepted when ≤ δ (sb3-contrib's
            ``target_kl`` = 0.01 bounds KL(π_θ‖π_k) strictly; the two agree to second order,
            and their per-update KLs on LunarLander-v3 agree to 1e-4 relative).
        cg_iters, damping, cg_tol: conjugate gradient (15, 0.1, 1e-10 as sb3-contrib).
        backtrack_coef: line-search shrinking factor α (0.8).
        max_backtracks: line-search trials (10).
    """

    cg_iters: int = 15
    delta: float = 0.01
    backtrack_coef: float = 0.8
    max_backtracks: int = 10
    name: ClassVar[str] = "trpo"

    def __post_init__(self) -> None:
        super().__post_init__()
        o = type(self).__name__
        check_range(o, "delta", self.delta, 0.0)
        check_range(o, "backtrack_coef", self.backtrack_coef, 0.0, 1.0)
        check_int(o, "max_backtracks", self.max_backtracks, 1)


@dataclass(frozen=True)
class ACKTRConfig(_NaturalFields):
    """ACKTR (Wu et al. 2017): the score surrogate's natural step with K-FAC and a KL radius.

    Row: score + entropy · kl_forward constraint ≤ δ · natural, ``fisher_solver="kfac"``
    (kfac-jax, the ``kfac`` extra). The step is ACKTR's ``min(max_step, √(2δ/gᵀF̂⁻¹g))``
    (baselines' ``lr`` and ``kfac_clip``). One difference from the paper: the critic is
    fitted apart by Adam (``vf_*``), not by K-FAC in the same step.

    Attributes:
        delta: the KL radius δ of the step (baselines' ``kfac_clip`` 0.001).
        max_step: the cap η_max on the step length (baselines' ``lr`` 0.25).
        ent_coef: entropy bonus weight (0.01).
    """

    num_steps: int = 20
    gae_lambda: float = 1.0
    vf_batch_size: int = 32
    vf_epochs: int = 5
    fisher_solver: str = "kfac"
    damping: float = 0.01
    delta: float = 0.001
    max_step: float = 0.25
    ent_coef: float = 0.01
    name: ClassVar[str] = "acktr"

    def __post_init__(self) -> None:
        super().__post_init__()
        o = type(self).__name__
        check_range(o, "delta", self.delta, 0.0)
        check_range(o, "max_step", self.max_step, 0.0)
        check_range(o, "ent_coef", self.ent_coef, 0.0, low_open=False)


@dataclass(frozen=True)
class _FullBatchFields(_CriticFields):
    """A policy fitted by ``n_epochs`` full-batch Adam steps (the MDPO paper's m).

    Attributes:
        learning_rate: Adam step size of the policy.
        n_epochs: full-batch Adam steps per update (the MDPO paper's m).
        max_grad_norm: global gradient-norm clip.
    """

    learning_rate: float = 3e-4
    n_epochs: int = 10
    max_grad_norm: float = 0.5

    @property
    def n_minibatches(self) -> int:
        return 1

    def __post_init__(self) -> None:
        super().__post_init__()
        o = type(self).__name__
        check_range(o, "learning_rate", self.learning_rate, 0.0)
        check_int(o, "n_epochs", self.n_epochs, 1)
        check_range(o, "max_grad_norm", self.max_grad_norm, 0.0)


def _check_annealed(cfg: Any) -> None:
    o = type(cfg).__name__
    check_choice(o, "schedule", cfg.schedule, MIRROR_SCHEDULES)
    check_range(o, "t_init", cfg.t_init, 0.0)
    check_range(o, "t_min", cfg.t_min, 0.0, 1.0, high_open=False)
    check_range(o, "t_max", cfg.t_max, 0.0)


@dataclass(frozen=True)
class MDPOConfig(_FullBatchFields):
    """On-policy MDPO (Tomar, Shani, Efroni & Ghavamzadeh 2020; the seed's §8.2).

    Row: ratio surrogate · kl_reverse penalty 1/t_k (annealed) · first_order (full batch).

    Each update takes ``n_epochs`` full-batch Adam steps on ``E[r·A] − KL(π_θ‖π_k)/t_k``
    (reverse KL, mirror descent's Bregman term). By default t_k is annealed linearly from
    ``t_init`` toward 0 over training (floored at ``t_min``) as in the authors' on-policy code;
    ``schedule`` also offers policy mirror descent's geometric growth (the exact level's
    default), so a figure can compare like with like (see :mod:`policyopt.schedules`).

    Attributes:
        schedule: "linear" (Tomar et al. 2020: max(t_init(1 − k/K), t_min)), "geometric"
            (Xiao 2022: min(t_init/γ^k, t_max)) or "constant" (t_init).
        t_init: t_0 of the schedule.
        t_min: floor of the linear schedule.
        t_max: cap of the geometric schedule.
    """

    schedule: str = "linear"
    t_init: float = 1.0
    t_min: float = 0.01
    t_max: float = 1e6
    name: ClassVar[str] = "mdpo"

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_annealed(self)


@dataclass(frozen=True)
class AdaptiveTRPOConfig(_FullBatchFields):
    """Adaptive TRPO (Shani, Efroni & Mannor 2019) as a sample-based mirror-descent step.

    Row: ratio + entropy · kl_reverse penalty 1/t_k (Shani's t_k) · first_order (full batch).

    The policy takes ``n_epochs`` full-batch Adam steps on
    ``E[r·A] − KL(π_θ‖π_k)/t_k + λ·H(π_θ)`` with Shani et al.'s step sizes
    (:func:`policyopt.schedules.shani`): ``t_k = c/√(k+1)`` when λ = 0 (rate Õ(1/√k); the
    exact level's c(1−γ)/(C_max√(k+1)) with advantages standardised) and ``t_k = c/(λ(k+2))``
    when λ > 0 (rate Õ(1/k)); c = 1 is the theorem's.

    Attributes:
        ent_coef: entropy regularisation λ (0 = unregularised).
        step_scale: the constant c of the schedule.
    """

    ent_coef: float = 0.0
    step_scale: float = 1.0
    name: ClassVar[str] = "adaptive_trpo"

    def __post_init__(self) -> None:
        super().__post_init__()
        o = type(self).__name__
        check_range(o, "ent_coef", self.ent_coef, 0.0, low_open=False)
        check_range(o, "step_scale", self.step_scale, 0.0)


@dataclass(frozen=True)
class ComposedConfig(CompositionFields, _NaturalFields):
    """Any surrogate × proximity × solver of :mod:`policyopt.composition` (name ``composed``).

    Build it with :func:`compose` (or ``policyopt train SURROGATE/PROXIMITY:RULE/SOLVER
    ENV``). Every entry point takes it as it takes a named config; a checkpoint records the
    composition's fields and reloads it. Only the fields the chosen blocks use matter; the
    float fields are traced hyperparameters as everywhere (``vmap`` over β, δ, t_init, …).
    The shared fields are :class:`~policyopt.composition.CompositionFields`'; the deep level
    adds:

    Attributes:
        critic: "joint" (one loss, vf_coef; first_order only), "separate" (own Adam epochs)
            or "auto" (joint for first_order, separate otherwise).
        anneal_lr, batch_size, max_grad_norm, target_kl: the first-order solver (as PPO).
        vf_coef: the value loss's weight in a joint loss.
    """

    critic: str = "auto"
    anneal_lr: bool = False
    batch_size: int = 64
    max_grad_norm: float = 0.5
    target_kl: float = 0.0
    vf_coef: float = 0.5
    name: ClassVar[str] = "composed"

    @property
    def critic_mode(self) -> str:
        if self.critic == "auto":
            return "joint" if self.solver == "first_order" else "separate"
        return self.critic

    def __post_init__(self) -> None:
        super().__post_init__()
        o = type(self).__name__
        self.composition.check("deep", o)
        check_choice(o, "critic", self.critic, ["auto", "joint", "separate"])
        if self.critic == "joint" and self.solver != "first_order":
            raise ConfigError(
                o,
                "critic",
                f"a joint actor-critic loss needs the first_order solver; solver "
                f"{self.solver!r} moves the actor alone: use critic='separate' or 'auto'",
            )
        check_range(o, "learning_rate", self.learning_rate, 0.0)
        check_choice(o, "optimizer", self.optimizer, OPTIMIZERS)
        check_int(o, "n_epochs", self.n_epochs, 1)
        _check_minibatches(self)
        check_range(o, "max_grad_norm", self.max_grad_norm, 0.0)
        check_range(o, "target_kl", self.target_kl, 0.0, low_open=False)
        check_range(o, "clip_eps", self.clip_eps, 0.0, 1.0)
        check_range(o, "ent_coef", self.ent_coef, 0.0, low_open=False)
        check_range(o, "vf_coef", self.vf_coef, 0.0, low_open=False)
        check_range(o, "beta", self.beta, 0.0, low_open=self.solver != "first_order")
        check_range(o, "beta_init", self.beta_init, 0.0)
        check_range(o, "kl_target", self.kl_target, 0.0)
        _check_annealed(self)
        check_range(o, "step_scale", self.step_scale, 0.0)
        check_range(o, "delta", self.delta, 0.0)
        check_range(o, "backtrack_coef", self.backtrack_coef, 0.0, 1.0)
        check_int(o, "max_backtracks", self.max_backtracks, 1)


OPTIMIZERS = ("adam", "rmsprop", "sgd")


CONFIGS: dict[str, type[BaseConfig]] = {
    c.name: c
    for c in (
        A2CConfig,
        NPGConfig,
        TRPOConfig,
        PPOConfig,
        PPOKLConfig,
        MDPOConfig,
        AdaptiveTRPOConfig,
        ACKTRConfig,
        ComposedConfig,
    )
}
"""Every deep recipe's config class by its name (``"pg"`` is A2C's; ``"composed"`` is any row
of the paper's table built with :func:`compose`): what :func:`make_config`, the CLI and
sweeps accept as ALGO."""


#: Config fields added after runs and checkpoints were first written, each with the value
#: that is what an older run did: a stored config without the field is that run (fill with
#: :func:`with_added_fields` before comparing or rebuilding stored configs).
ADDED_FIELDS: dict[str, Any] = {"env_kwargs": {}, "anneal_lr": False}


def with_added_fields(stored: dict[str, Any], algo: str | None = None) -> dict[str, Any]:
    """A stored config's fields, with the :data:`ADDED_FIELDS` it predates filled in (those
    of ``algo``'s config class, when given; ``anneal_lr`` came to A2C after PPO had it)."""
    fields = {f.name for f in dataclasses.fields(CONFIGS[algo])} if algo in CONFIGS else None
    added = {k: v for k, v in ADDED_FIELDS.items() if fields is None or k in fields}
    return {**{k: v for k, v in added.items() if k not in stored}, **stored}


def make_config(algo: str, **overrides: Any) -> BaseConfig:
    """Config of recipe ``algo`` with ``overrides``; unknown names/fields suggest close ones.

    ``algo`` is a name (``"ppo"``) or a composition's spelling
    ``"SURROGATE/PROXIMITY[:RULE]/SOLVER"`` (:func:`policyopt.composition.parse_recipe`).
    """
    algo, spelled = parse_recipe(algo)
    for key, value in spelled.items():
        if overrides.setdefault(key, value) != value:
            raise ConfigError(
                "config", key, f"{overrides[key]!r} contradicts the recipe's spelling {value!r}"
            )
    if algo not in CONFIGS:
        raise ConfigError(
            "config",
            "algo",
            f"unknown recipe {algo!r}; valid: {', '.join(CONFIGS)}{suggest(algo, CONFIGS)}",
        )
    cls = CONFIGS[algo]
    fields = [f.name for f in dataclasses.fields(cls)]
    for key in overrides:
        if key not in fields:
            raise ConfigError(
                cls.__name__,
                key,
                f"unknown field; valid: {', '.join(fields)}{suggest(key, fields)}",
            )
    return cls(**overrides)


def hparams(config: BaseConfig) -> dict[str, jnp.ndarray]:
    """The float fields of ``config`` as float32 scalars: the traced hyperparameters of ``train``.

    Replace any entry by an array and ``jax.vmap`` over it to sweep without recompiling.
    """
    return {
        name: jnp.asarray(getattr(config, name), jnp.float32) for name in float_fields(type(config))
    }


def compose(
    surrogate: str,
    proximity: str,
    solver: str,
    **fields: Any,
) -> ComposedConfig:
    """A deep-level config of any surrogate × proximity × solver; takes what a named one takes.

    ``proximity`` may carry its rule after a colon: ``"kl_forward:constraint"`` (≤ δ),
    ``"kl_reverse:annealed"``, ``"kl_forward:adaptive"``, ``"euclidean:fixed"``. Every other
    keyword is a :class:`ComposedConfig` field (``env_id``, ``delta``, ``beta``, …). A
    combination that makes no sense raises :class:`~policyopt.errors.ConfigError` saying why
    and what would work, before anything compiles::

        cfg = compose("ratio", "kl_reverse:constraint", "natural_linesearch", delta=0.01)
        out = jax.jit(make_train(cfg))(jax.random.PRNGKey(0))
    """
    spelled = composition_fields(surrogate, proximity, solver, **fields)
    return cast(ComposedConfig, make_config("composed", **spelled))
