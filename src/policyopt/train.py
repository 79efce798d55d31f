"""Compiled training: ``make_train(config) -> train(key, hp)``, the whole loop under ``jax.jit``.

One update = a rollout (``lax.scan`` over steps of ``vmap``-ed gymnax environments), GAE with
termination and truncation kept apart (truncation bootstraps from the value of the final
observation), then the recipe's update (:mod:`policyopt.algorithms`). ``lax.scan`` over updates
makes the whole run one XLA program, so ``jax.vmap(train)`` trains many seeds — or many values
of a float hyperparameter, which ``train`` takes as traced leaves in ``hp`` — at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

import jax
import jax.numpy as jnp
from flax import struct

from policyopt.algorithms import Learner, Transition, make_recipe
from policyopt.compile_cache import enable_compilation_cache
from policyopt.configs import BaseConfig, hparams
from policyopt.envs.jax_env import JaxEnv, make_jax_env
from policyopt.faults import NONFINITE, REJECTED, check_on_nan, is_fatal, raise_if_nonfinite
from policyopt.guard import guarded_update
from policyopt.nn import Networks, make_networks

__all__ = [
    "Normalizer",
    "RunningStats",
    "TrainOutput",
    "evaluate_policy",
    "make_train",
    "run_train",
]

HP = dict[str, jax.Array]


WINDOW = 100  # episodes in rollout/ep_rew_mean, as SB3's ep_info_buffer and the host loop


@struct.dataclass
class EpisodeStats:
    """Running return/length per env and a ring buffer of the last ``WINDOW`` episodes.

    ``rollout/ep_rew_mean`` is the mean over that window, the same statistic SB3 and the host
    loop report, so curves of the compiled and host levels compare directly.
    """

    ret: jax.Array
    length: jax.Array
    window_return: jax.Array  # [WINDOW]
    window_length: jax.Array  # [WINDOW]
    count: jax.Array  # episodes completed so far

    @classmethod
    def zeros(cls, num_envs: int) -> EpisodeStats:
        return cls(
            jnp.zeros(num_envs),
            jnp.zeros(num_envs, jnp.int32),
            jnp.zeros(WINDOW),
            jnp.zeros(WINDOW),
            jnp.int32(0),
        )

    def record(self, reward: jax.Array, done: jax.Array) -> EpisodeStats:
        """Add one step; episodes that ended go into the window (oldest overwritten)."""
        ret, length = self.ret + reward, self.length + 1
        slot = (self.count + jnp.cumsum(done) - 1) % WINDOW
        slot = jnp.where(done, slot, WINDOW)  # out of range: dropped by the scatter
        return EpisodeStats(
            ret=jnp.where(done, 0.0, ret),
            length=jnp.where(done, 0, length),
            window_return=self.window_return.at[slot].set(ret, mode="drop"),
            window_length=self.window_length.at[slot].set(length, mode="drop"),
            count=self.count + jnp.sum(done, dtype=jnp.int32),
        )

    def means(self) -> tuple[jax.Array, jax.Array]:
        """Mean return and length over the window (NaN before the first episode ends)."""
        filled = jnp.arange(WINDOW) < self.count
        n = jnp.sum(filled)
        safe = jnp.maximum(n, 1)
        mean_ret = jnp.sum(jnp.where(filled, self.window_return, 0.0)) / safe
        mean_len = jnp.sum(jnp.where(filled, self.window_length, 0.0)) / safe
        return jnp.where(n > 0, mean_ret, jnp.nan), jnp.where(n > 0, mean_len, jnp.nan)


@struct.dataclass
class RunningStats:
    """Running mean and variance (Chan et al. parallel update): the compiled twin of the host
    loop's :class:`policyopt.host.RunningMeanStd` (SB3's VecNormalize), same update, same
    ``1e-4`` prior count, same clipping at ±10 when applied."""

    mean: jax.Array
    var: jax.Array
    count: jax.Array

    @classmethod
    def zeros(cls, shape: tuple[int, ...]) -> RunningStats:
        return cls(jnp.zeros(shape), jnp.ones(shape), jnp.float32(1e-4))

    def update(self, x: jax.Array) -> RunningStats:
        """Fold in a batch ``x`` of shape ``[N, *shape]``."""
        b_mean, b_var, b_n = x.mean(axis=0), x.var(axis=0), x.shape[0]
        delta, total = b_mean - self.mean, self.count + b_n
        m2 = self.var * self.count + b_var * b_n + delta**2 * self.count * b_n / total
        return RunningStats(self.mean + delta * b_n / total, m2 / total, total)

    def normalize(self, x: jax.Array) -> jax.Array:
        return jnp.clip((x - self.mean) / jnp.sqrt(self.var + 1e-8), -10.0, 10.0)

    def scale(self, x: jax.Array) -> jax.Array:
        """Divide by the standard deviation only (reward scaling by the return's std)."""
        return jnp.clip(x / jnp.sqrt(self.var + 1e-8), -10.0, 10.0)


@struct.dataclass
class Normalizer:
    """Running observation normalisation and reward scaling of a compiled run (either may be
    off: its field is None). ``disc_ret`` is each env's running discounted return, whose
    variance scales the rewards, as SB3's VecNormalize and the host loop do."""

    obs: RunningStats | None
    ret: RunningStats | None
    disc_ret: jax.Array | None

    if TYPE_CHECKING:  # added by flax.struct.dataclass, which its typing does not declare

        def replace(self, **changes: Any) -> Normalizer: ...


@struct.dataclass
class RunnerState:
    learner: Learner
    env_state: Any
    obs: jax.Array
    stats: EpisodeStats
    key: jax.Array
    update: jax.Array
    frozen: jax.Array  # a fatal non-finite was seen: every later update is rejected
    rejected: jax.Array  # updates rejected as non-finite so far
    norm: Normalizer

    if TYPE_CHECKING:  # added by flax.struct.dataclass, which its typing does not declare

        def replace(self, **changes: Any) -> RunnerState: ...


class TrainOutput(NamedTuple):
    """What ``train`` returns: the final learner, per-update metrics, evaluation returns and
    the normalisation statistics (fields None when normalisation is off)."""

    learner: Learner
    metrics: dict[str, jax.Array]
    eval_returns: jax.Array
    norm: Normalizer


def evaluate_policy(
    env: JaxEnv,
    nets: Networks,
    actor: Any,
    key: jax.Array,
    episodes: int,
    max_steps: int,
    obs_stats: RunningStats | None = None,
) -> jax.Array:
    """Undiscounted return of the deterministic policy (mode) over ``episodes`` episodes.

    Runs ``episodes`` environments in parallel for ``max_steps`` steps and sums each one's
    rewards up to its first episode end (later, auto-reset episodes are masked out). The
    policy sees observations normalised by ``obs_stats`` (frozen) when given; the return is
    always the environment's own reward.
    """
    key, k_reset = jax.random.split(key)
    obs, state = env.reset(k_reset, episodes)

    def step(carry: Any, k: jax.Array) -> tuple[Any, None]:
        obs, state, total, alive = carry
        seen = obs if obs_stats is None else obs_stats.normalize(obs)
        action = nets.policy(actor, seen).mode()
        out = env.step(k, state, action)
        total = total + jnp.where(alive, out.reward, 0.0)
        alive = alive & ~(out.terminated | out.truncated)
        return (out.obs, out.state, total, alive), None

    init = (obs, state, jnp.zeros(episodes), jnp.ones(episodes, bool))
    (_, _, total, _), _ = jax.lax.scan(step, init, jax.random.split(key, max_steps))
    return total


def make_train(
    config: BaseConfig,
    log_fn: Callable[[dict[str, Any]], None] | None = None,
    log_every: int = 10,
    on_nan: str = "raise",
    normalize_obs: bool = False,
    normalize_reward: bool = False,
) -> Callable[..., TrainOutput]:
    """Build ``train(key, hp=None) -> TrainOutput`` for ``config`` (not yet jitted).

    Args:
        config: a recipe config (:mod:`policyopt.configs`); static fields fix shapes.
        log_fn: optional host callback receiving a metrics dict every ``log_every`` updates
            (through ``jax.debug.callback``; leave it None for benchmarks).
        log_every: update interval of ``log_fn``.
        on_nan: "raise" or "skip" (:mod:`policyopt.guard`). Every update whose rollout,
            advantages, losses, gradients or new parameters are not finite is rejected
            (``train/nonfinite`` names the quantity). With "raise" the run freezes at the
            first one (XLA cannot leave a ``lax.scan`` early: later updates are all rejected,
            so the returned learner is the last good one); with "skip" it goes on, counting
            rejections in ``train/rejected_nonfinite``. A scan cannot raise: call
            :func:`policyopt.faults.raise_if_nonfinite` on the returned metrics (``run_train``
            does), which raises :class:`~policyopt.faults.NonFiniteError`.
        normalize_obs: running observation normalisation inside the compiled loop (the
            statistics are updated with every observation the policy acts on, and frozen for
            the final evaluation), as the host level's ``normalize_obs``.
        normalize_reward: scale rewards by the running std of the discounted return (the
            learner sees scaled rewards; ``rollout/*`` and evaluation report the env's own).

    ``hp`` defaults to :func:`policyopt.configs.hparams` of ``config``; pass arrays in it and
    ``jax.vmap`` to sweep float hyperparameters in one compiled program.
    """
    check_on_nan("make_train", on_nan)
    enable_compilation_cache()  # a second process loads this program instead of compiling it
    env = make_jax_env(config.env_id, **config.env_kwargs)
    nets = make_networks(
        env.action_spec, config.hidden_sizes, config.activation, log_std_init=config.log_std_init
    )
    recipe = make_recipe(config, nets)
    guarded = guarded_update(recipe, nets)
    num_updates = config.num_updates
    max_steps = int(getattr(env.params, "max_steps_in_episode", 1000))
    default_hp = hparams(config)

    def rollout(runner: RunnerState, _: None) -> tuple[RunnerState, Transition]:
        key, k_act, k_env = jax.random.split(runner.key, 3)
        learner, norm = runner.learner, runner.norm
        obs, final_of = runner.obs, (lambda x: x)
        if norm.obs is not None:  # static: the program has no normalisation when off
            obs_stats = norm.obs.update(obs)
            norm = norm.replace(obs=obs_stats)
            obs, final_of = obs_stats.normalize(obs), obs_stats.normalize
        dist = nets.policy(learner.actor, obs)
        action = dist.sample(k_act)
        logp = dist.log_prob(action)
        value = nets.value(learner.critic, obs)
        out = env.step(k_env, runner.env_state, action)
        done = out.terminated | out.truncated
        stats = runner.stats.record(out.reward, done)
        reward = out.reward
        if norm.ret is not None and norm.disc_ret is not None:
            disc_ret = norm.disc_ret * config.gamma + reward
            ret = norm.ret.update(disc_ret)
            reward = ret.scale(reward)
            norm = norm.replace(ret=ret, disc_ret=jnp.where(done, 0.0, disc_ret))
        tr = Transition(
            obs, action, logp, value, reward, out.terminated, done, final_of(out.final_obs)
        )
        runner = runner.replace(env_state=out.state, obs=out.obs, stats=stats, key=key, norm=norm)
        return runner, tr

    def update(runner: RunnerState, hp: HP) -> tuple[RunnerState, dict[str, jax.Array]]:
        runner, traj = jax.lax.scan(rollout, runner, None, config.num_steps)
        key, k_upd = jax.random.split(runner.key)
        progress = runner.update.astype(jnp.float32) / num_updates
        learner, metrics = guarded(
            runner.learner, traj, k_upd, hp, progress, runner.update, runner.frozen
        )
        code = metrics[NONFINITE]
        rejected = runner.rejected + (code > 0).astype(jnp.int32)
        runner = runner.replace(
            learner=learner,
            key=key,
            update=runner.update + 1,
            frozen=runner.frozen | is_fatal(code, on_nan),
            rejected=rejected,
        )
        ep_rew_mean, ep_len_mean = runner.stats.means()
        metrics = {
            "rollout/ep_rew_mean": ep_rew_mean,
            "rollout/ep_len_mean": ep_len_mean,
            "time/total_timesteps": runner.update * config.rollout_size,
            **metrics,
            REJECTED: rejected,
        }
        if log_fn is not None:
            jax.lax.cond(
                (runner.update % log_every == 0) | (runner.update == num_updates),
                lambda m: jax.debug.callback(log_fn, m),
                lambda m: None,
                metrics,
            )
        return runner, metrics

    def init(key: jax.Array, hp: HP) -> tuple[RunnerState, jax.Array]:
        key, k_env, k_actor, k_critic, k_eval = jax.random.split(key, 5)
        obs, env_state = env.reset(k_env, config.num_envs)
        learner = recipe.init(k_actor, k_critic, obs, hp)
        stats = EpisodeStats.zeros(config.num_envs)
        norm = Normalizer(
            obs=RunningStats.zeros(env.obs_shape) if normalize_obs else None,
            ret=RunningStats.zeros(()) if normalize_reward else None,
            disc_ret=jnp.zeros(config.num_envs) if normalize_reward else None,
        )
        runner = RunnerState(
            learner, env_state, obs, stats, key, jnp.int32(0), jnp.bool_(False), jnp.int32(0),
            norm,
        )  # fmt: skip
        return runner, k_eval

    def init_state(key: jax.Array) -> tuple[Learner, Normalizer]:
        """The learner and normaliser a run starts from (their structure is the output's)."""
        runner, _ = init(key, default_hp)
        return runner.learner, runner.norm

    def train(key: jax.Array, hp: HP | None = None) -> TrainOutput:
        hp = default_hp if hp is None else {**default_hp, **hp}
        runner, k_eval = init(key, hp)
        runner, metrics = jax.lax.scan(lambda r, _: update(r, hp), runner, None, num_updates)
        eval_returns = evaluate_policy(
            env, nets, runner.learner.actor, k_eval, config.eval_episodes, max_steps,
            runner.norm.obs,
        )  # fmt: skip
        return TrainOutput(runner.learner, metrics, eval_returns, runner.norm)

    train.env = env  # type: ignore[attr-defined]
    train.init_state = init_state  # type: ignore[attr-defined]
    train.networks = nets  # type: ignore[attr-defined]
    return train


def over_seeds(train: Callable[..., TrainOutput], num_seeds: int) -> Callable[..., TrainOutput]:
    """``keys[num_seeds] -> TrainOutput`` with a leading seed axis: ``jax.vmap(train)``, or for
    one seed ``train`` itself with the axis added.

    A vmap over a single seed is not free on XLA:CPU: the size-1 batch axis changes the
    layouts of the weight-gradient matmuls (transposes, copies), ~10% of a CartPole update.
    The single-seed program is the one ``jax.jit(make_train(cfg))`` compiles (the golden
    values' program).
    """
    if num_seeds == 1:
        return lambda keys: jax.tree.map(lambda x: x[None], train(keys[0]))
    return jax.vmap(train)


def output_structure(initial: tuple[Learner, Normalizer], metric_names: list[str]) -> Any:
    """The pytree structure of ``train``'s output (vmapped or not), without tracing the loop:
    from the shapes of the learner and normaliser a run starts from (``jax.eval_shape`` of
    ``train.init_state``, milliseconds) and the metric names the caller supplies. Used to
    rebuild the output of a training program loaded from :mod:`policyopt.program_cache`.
    """
    learner, norm = initial
    leaf = jnp.zeros(())  # any leaf: only the structure is kept
    shape = TrainOutput(learner, dict.fromkeys(metric_names, leaf), leaf, norm)
    return jax.tree_util.tree_structure(shape)


def _cached_train_program(
    train: Callable[..., TrainOutput], config: BaseConfig, keys: jax.Array, **flags: Any
) -> tuple[Callable[..., Any], Any] | None:
    """``(call, treedef)``: the vmapped training program from the program cache, or exported
    and stored there now; None when the cache is off. ``call(keys)`` returns the output's
    leaves, ``treedef`` rebuilds the :class:`TrainOutput`."""
    from policyopt import program_cache

    if program_cache.programs_dir() is None:
        return None
    description = {
        "program": "policyopt.train.run_train",
        "config_type": f"{type(config).__module__}.{type(config).__qualname__}",
        "config": repr(config),
        "num_seeds": int(keys.shape[0]),
        "key": str(keys.dtype),
        **flags,
    }
    key = program_cache.program_key(description)
    expected: dict[str, Any] = {}

    def accept(program: Any) -> bool:
        """Same structure as this code's output, and the learner's leaves (seeds first) of
        the shapes and dtypes this code initialises."""
        names = program.layout.get("metrics")
        if not isinstance(names, list):
            return False
        initial = jax.eval_shape(train.init_state, jax.random.PRNGKey(0))  # type: ignore[attr-defined]
        treedef = output_structure(initial, names)
        if str(treedef) != program.layout.get("treedef"):
            return False
        if treedef.num_leaves != len(program.out_avals):
            return False
        learner = initial[0]
        want = [((keys.shape[0], *x.shape), x.dtype) for x in jax.tree_util.tree_leaves(learner)]
        got = [(tuple(a.shape), a.dtype) for a in program.out_avals[: len(want)]]
        expected["treedef"] = treedef
        return want == got

    cached = program_cache.load_program(key, accept)
    if cached is not None:
        return cached.call, expected["treedef"]
    vmapped = over_seeds(train, int(keys.shape[0]))
    layout: dict[str, Any] = {}  # filled while the export traces ``flat``, stored after it
    found: dict[str, Any] = {}

    def flat(k: jax.Array) -> list[jax.Array]:
        out = vmapped(k)
        leaves, found["treedef"] = jax.tree_util.tree_flatten(out)
        layout.update(metrics=sorted(out.metrics), treedef=str(found["treedef"]))
        return leaves

    stored = program_cache.store_program(key, flat, (keys,), layout)
    return None if stored is None else (stored.call, found["treedef"])


class TimedRun(NamedTuple):
    output: TrainOutput
    compile_seconds: float
    run_seconds: float
    steps_per_second: float


def run_train(
    config: BaseConfig,
    seed: int = 0,
    num_seeds: int = 1,
    on_nan: str = "raise",
    check_finite: bool = True,
    normalize_obs: bool = False,
    normalize_reward: bool = False,
) -> TimedRun:
    """Compile and run ``train`` for ``num_seeds`` vmapped seeds; compile and run timed apart.

    Raises:
        NonFiniteError: (``on_nan="raise"``, ``check_finite``) a seed hit a non-finite
            update; with ``check_finite=False`` the caller checks the metrics itself.
    """
    train = make_train(
        config, on_nan=on_nan, normalize_obs=normalize_obs, normalize_reward=normalize_reward
    )
    keys = jax.random.split(jax.random.PRNGKey(seed), num_seeds)
    t0 = time.perf_counter()
    program = _cached_train_program(
        train, config, keys, on_nan=on_nan, normalize_obs=normalize_obs,
        normalize_reward=normalize_reward,
    )  # fmt: skip
    if program is None:  # the program cache is off: trace as usual
        compiled = jax.jit(over_seeds(train, num_seeds)).lower(keys).compile()
        run: Callable[[jax.Array], TrainOutput] = compiled
    else:
        call, treedef = program
        compiled_flat = jax.jit(call).lower(keys).compile()

        def run(keys: jax.Array) -> TrainOutput:
            return jax.tree_util.tree_unflatten(treedef, compiled_flat(keys))

    t1 = time.perf_counter()
    out = jax.block_until_ready(run(keys))
    t2 = time.perf_counter()
    steps = config.num_updates * config.rollout_size * num_seeds
    if check_finite:
        raise_if_nonfinite(jax.device_get(out.metrics), on_nan, config.env_id, seed)
    return TimedRun(out, t1 - t0, t2 - t1, steps / (t2 - t1))
