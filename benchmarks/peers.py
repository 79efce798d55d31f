"""Peer baselines on CartPole-v1: rejax PPO, Stable-Baselines3 PPO, sb3-contrib TRPO.

Also raw environment throughput (gymnax vs Gymnasium) for reference.

These peers are NOT dependencies of ``policyopt``; they live in a separate virtual
environment so that their pins (torch, rejax, stable-baselines3) cannot disturb ours::

    python3.11 -m venv .venv-compare
    .venv-compare/bin/pip install "jax[cpu]==0.10.2" gymnax six rejax "torch==2.13.0" \
        stable-baselines3 sb3-contrib "gymnasium[classic-control]"
    nice -n 10 .venv-compare/bin/python -m benchmarks.peers            # all peers, 1e5 steps
    nice -n 10 .venv-compare/bin/python -m benchmarks.peers --only sb3_ppo --timesteps 50000

Every peer function returns a dict with the keys of :func:`_result`:
``name, steps, train_seconds, compile_seconds, steps_per_second, eval_mean_return,
eval_std_return, solved`` (``solved``: evaluation mean >= 475, CartPole-v1's threshold).

Hyperparameters follow rl-baselines3-zoo (``rl_zoo3/hyperparams/{ppo,trpo}.yml``,
CartPole-v1 entries; see ``benchmarks/REFERENCE_HPARAMS.md``).

Fairness notes:
- SB3 runs on ``device="cpu"`` with ``torch.set_num_threads(1)``; its speed is bound by
  Python overhead per environment step and per minibatch, not by FLOPs.
- JAX/XLA on CPU uses its own thread pool (all cores); nothing pins it to one thread.
- rejax's ``train`` is jitted end to end: ``compile_seconds`` is the first call minus
  the second call (tracing + XLA compilation); ``train_seconds`` is the second call,
  blocked with ``jax.block_until_ready``. SB3 has no compile step (``compile_seconds`` 0).
- Evaluation is deterministic (greedy action) for every peer, as SB3's
  ``evaluate_policy(deterministic=True)`` does.

Imports of jax/rejax/torch/SB3 happen inside the functions, so this module imports
cheaply (``python -c "import benchmarks.peers"``) under either virtual environment.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np

ENV_ID = "CartPole-v1"
SOLVED_THRESHOLD = 475.0
DEFAULT_EVAL_EPISODES = 20

# rl-baselines3-zoo hyperparams/ppo.yml, CartPole-v1 (tuned), n_timesteps 1e5.
ZOO_PPO_CARTPOLE: dict[str, Any] = {
    "n_envs": 8,
    "n_steps": 32,
    "batch_size": 256,
    "gae_lambda": 0.8,
    "gamma": 0.98,
    "n_epochs": 20,
    "ent_coef": 0.0,
    "learning_rate": 1e-3,  # lin_0.001 in the zoo: linear decay to 0
    "clip_range": 0.2,  # lin_0.2 in the zoo: linear decay to 0
}

# rl-baselines3-zoo hyperparams/trpo.yml, CartPole-v1 (tuned), n_timesteps 1e5.
ZOO_TRPO_CARTPOLE: dict[str, Any] = {
    "n_envs": 2,
    "n_steps": 512,
    "batch_size": 512,
    "cg_damping": 1e-3,
    "gae_lambda": 0.98,
    "gamma": 0.99,
    "learning_rate": 1e-3,
    "n_critic_updates": 20,
}


class LinearSchedule:
    """rl-zoo3's ``lin_<x>``: ``progress_remaining * initial_value`` (1 -> 0 over training).

    A class (not a lambda) so that SB3 can pickle the model.
    """

    def __init__(self, initial_value: float) -> None:
        self.initial_value = float(initial_value)

    def __call__(self, progress_remaining: float) -> float:
        return progress_remaining * self.initial_value

    def __repr__(self) -> str:
        return f"LinearSchedule({self.initial_value})"


def _result(
    name: str,
    steps: int,
    train_seconds: float,
    compile_seconds: float,
    returns: np.ndarray | None,
    **extra: Any,
) -> dict[str, Any]:
    """The common result record; ``returns`` is None for throughput-only runs."""
    out: dict[str, Any] = {
        "name": name,
        "steps": int(steps),
        "train_seconds": float(train_seconds),
        "compile_seconds": float(compile_seconds),
        "steps_per_second": float(steps / train_seconds) if train_seconds > 0 else float("inf"),
        "eval_mean_return": None,
        "eval_std_return": None,
        "solved": None,
    }
    if returns is not None:
        returns = np.asarray(returns, dtype=np.float64)
        out["eval_mean_return"] = float(returns.mean())
        out["eval_std_return"] = float(returns.std())
        out["eval_episodes"] = int(returns.size)
        out["solved"] = bool(returns.mean() >= SOLVED_THRESHOLD)
    out.update(extra)
    return out


# --------------------------------------------------------------------------- rejax PPO


class FiveTupleEnv:
    """Adapt a gymnax >= 1.0 env (6-tuple ``step``) to the 5-tuple API rejax 0.1.x unpacks.

    gymnax 1.0 returns ``(obs, state, reward, terminated, truncated, info)``; rejax 0.1.3
    does ``next_obs, env_state, reward, done, _ = env.step(...)`` and fails with
    "too many values to unpack". ``done = terminated | truncated`` restores the
    pre-1.0 gymnax meaning of ``done`` that rejax was written against (time-limit
    truncation is treated as termination in rejax's GAE, as before). Envs that already
    return 5 values pass through unchanged.
    """

    def __init__(self, env: Any) -> None:
        self._env = env

    def __getattr__(self, name: str) -> Any:
        # Only called for attributes not found normally; guard against recursion while
        # copy/deepcopy (rejax deep-copies its config) builds an instance without _env.
        env = self.__dict__.get("_env")
        if env is None:
            raise AttributeError(name)
        return getattr(env, name)

    def reset(self, key: Any, params: Any = None) -> Any:
        return self._env.reset(key, params)

    def step(self, key: Any, state: Any, action: Any, params: Any = None) -> tuple:
        out = self._env.step(key, state, action, params)
        if len(out) == 6:
            obs, state, reward, terminated, truncated, info = out
            return obs, state, reward, terminated | truncated, info
        return out


def rejax_ppo(
    total_timesteps: int = 100_000,
    seed: int = 0,
    eval_episodes: int = DEFAULT_EVAL_EPISODES,
) -> dict[str, Any]:
    """rejax PPO on gymnax CartPole-v1 with the rl-zoo3 CartPole PPO settings.

    Differences from the zoo that rejax (0.1.x) imposes:
    - constant learning rate and clip range (the zoo decays both linearly to 0);
      ``learning_rate`` is a scalar field of the algorithm and ``clip_eps`` enters
      ``jnp.clip`` directly;
    - separate actor and critic MLPs (64x64 tanh each, as SB3's default ``net_arch``),
      each with its own Adam; the critic loss is clipped with ``clip_eps`` like PPO2;
    - ``max_grad_norm`` is applied with ``optax.clip`` (element-wise), not global-norm
      clipping as in SB3;
    - Adam eps is optax's 1e-8 (SB3 PPO uses 1e-5); no orthogonal init (flax default).
    batch 256 with n_envs 8 x n_steps 32 = one minibatch per epoch (``num_minibatches=1``).
    """
    import gymnax
    import jax
    import jax.numpy as jnp
    from rejax import PPO
    from rejax.evaluate import evaluate

    z = ZOO_PPO_CARTPOLE
    rollout = z["n_envs"] * z["n_steps"]
    env, env_params = gymnax.make(ENV_ID)
    algo = PPO.create(
        env=FiveTupleEnv(env),
        env_params=env_params,
        agent_kwargs={"activation": "tanh", "hidden_layer_sizes": (64, 64)},
        num_envs=z["n_envs"],
        num_steps=z["n_steps"],
        num_minibatches=rollout // z["batch_size"],
        num_epochs=z["n_epochs"],
        gamma=z["gamma"],
        gae_lambda=z["gae_lambda"],
        learning_rate=z["learning_rate"],
        clip_eps=z["clip_range"],
        ent_coef=z["ent_coef"],
        vf_coef=0.5,
        max_grad_norm=0.5,
        total_timesteps=total_timesteps,
        # One "evaluation interval" spanning the whole run; the in-loop callback is a
        # no-op so that train time is pure training (we evaluate afterwards).
        eval_freq=total_timesteps,
        skip_initial_evaluation=True,
    )
    algo = algo.replace(eval_callback=lambda _algo, _ts, _rng: jnp.zeros(()))

    train = jax.jit(algo.train)
    rng = jax.random.PRNGKey(seed)

    t0 = time.perf_counter()
    ts, _ = train(rng)
    jax.block_until_ready(ts)
    first_call = time.perf_counter() - t0

    t0 = time.perf_counter()
    ts, _ = train(rng)
    jax.block_until_ready(ts)
    train_seconds = time.perf_counter() - t0

    steps = int(ts.global_step)
    params = ts.actor_ts.params

    def greedy_act(obs, _rng):
        logits = algo.actor.apply(
            params, jnp.expand_dims(obs, 0), method=lambda m, x: m._action_dist(x).logits
        )
        return jnp.argmax(logits[0])

    _, returns = evaluate(
        greedy_act,
        jax.random.PRNGKey(seed + 10_000),
        algo.env,
        algo.env_params,
        eval_episodes,
        int(algo.env_params.max_steps_in_episode),
    )
    return _result(
        "rejax_ppo",
        steps,
        train_seconds,
        max(first_call - train_seconds, 0.0),
        np.asarray(returns),
        first_call_seconds=first_call,
        backend=jax.default_backend(),
    )


# --------------------------------------------------------------------------- SB3 peers


def _sb3_setup(seed: int) -> None:
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(seed)


def _sb3_evaluate(model: Any, seed: int, eval_episodes: int) -> np.ndarray:
    import gymnasium as gym
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.monitor import Monitor

    eval_env = Monitor(gym.make(ENV_ID))
    eval_env.reset(seed=seed + 10_000)
    returns, _lengths = evaluate_policy(
        model,
        eval_env,
        n_eval_episodes=eval_episodes,
        deterministic=True,
        return_episode_rewards=True,
    )
    eval_env.close()
    return np.asarray(returns, dtype=np.float64)


def _sb3_run(
    name: str,
    algo_cls: Any,
    n_envs: int,
    kwargs: dict[str, Any],
    total_timesteps: int,
    seed: int,
    eval_episodes: int,
) -> dict[str, Any]:
    """Train an SB3-style model on CartPole-v1 (CPU, 1 torch thread) and evaluate it."""
    from stable_baselines3.common.env_util import make_vec_env

    env = make_vec_env(ENV_ID, n_envs=n_envs, seed=seed)
    model = algo_cls("MlpPolicy", env, seed=seed, device="cpu", verbose=0, **kwargs)
    t0 = time.perf_counter()
    model.learn(total_timesteps=total_timesteps)
    train_seconds = time.perf_counter() - t0
    steps = int(model.num_timesteps)
    env.close()
    returns = _sb3_evaluate(model, seed, eval_episodes)
    return _result(name, steps, train_seconds, 0.0, returns, torch_threads=1)


def sb3_ppo(
    total_timesteps: int = 100_000,
    seed: int = 0,
    eval_episodes: int = DEFAULT_EVAL_EPISODES,
) -> dict[str, Any]:
    """Stable-Baselines3 PPO with rl-zoo3's CartPole-v1 hyperparameters (linear lr/clip)."""
    _sb3_setup(seed)
    from stable_baselines3 import PPO

    z = ZOO_PPO_CARTPOLE
    kwargs = {
        k: z[k] for k in ("n_steps", "batch_size", "gae_lambda", "gamma", "n_epochs", "ent_coef")
    }
    kwargs["learning_rate"] = LinearSchedule(z["learning_rate"])
    kwargs["clip_range"] = LinearSchedule(z["clip_range"])
    return _sb3_run("sb3_ppo", PPO, z["n_envs"], kwargs, total_timesteps, seed, eval_episodes)


def sb3_trpo(
    total_timesteps: int = 100_000,
    seed: int = 0,
    eval_episodes: int = DEFAULT_EVAL_EPISODES,
) -> dict[str, Any]:
    """sb3-contrib TRPO with rl-zoo3's CartPole-v1 hyperparameters.

    Everything not listed in the zoo entry keeps sb3-contrib's defaults
    (target_kl 0.01, cg_max_steps 15, line search 0.8 x 10, normalize_advantage).
    """
    _sb3_setup(seed)
    from sb3_contrib import TRPO

    z = ZOO_TRPO_CARTPOLE
    keys = (
        "n_steps",
        "batch_size",
        "cg_damping",
        "gae_lambda",
        "gamma",
        "learning_rate",
        "n_critic_updates",
    )
    kwargs = {k: z[k] for k in keys}
    return _sb3_run("sb3_trpo", TRPO, z["n_envs"], kwargs, total_timesteps, seed, eval_episodes)


# --------------------------------------------------------------------------- throughput


def gymnax_random_steps(num_envs: int = 1024, num_steps: int = 1000, seed: int = 0) -> dict:
    """Raw gymnax CartPole-v1 stepping with uniform random actions.

    ``vmap`` over envs, ``lax.scan`` over steps, one ``jit``; gymnax auto-resets.
    Compile time = first call - second call; run time = second call.
    """
    import gymnax
    import jax
    import jax.numpy as jnp

    env, params = gymnax.make(ENV_ID)
    n_actions = env.action_space(params).n
    vreset = jax.vmap(env.reset, in_axes=(0, None))
    vstep = jax.vmap(env.step, in_axes=(0, 0, 0, None))

    def run(rng):
        rng, rng_reset = jax.random.split(rng)
        _obs, state = vreset(jax.random.split(rng_reset, num_envs), params)

        def body(carry, _):
            state, rng, total = carry
            rng, rng_act, rng_step = jax.random.split(rng, 3)
            actions = jax.random.randint(rng_act, (num_envs,), 0, n_actions)
            # gymnax >= 1.0: (obs, state, reward, terminated, truncated, info)
            out = vstep(jax.random.split(rng_step, num_envs), state, actions, params)
            state, reward = out[1], out[2]
            return (state, rng, total + reward.sum()), None

        (_, _, total), _ = jax.lax.scan(body, (state, rng, jnp.zeros(())), None, num_steps)
        return total

    run_jit = jax.jit(run)
    rng = jax.random.PRNGKey(seed)
    t0 = time.perf_counter()
    jax.block_until_ready(run_jit(rng))
    first_call = time.perf_counter() - t0
    t0 = time.perf_counter()
    jax.block_until_ready(run_jit(rng))
    run_seconds = time.perf_counter() - t0
    return _result(
        "gymnax_random_steps",
        num_envs * num_steps,
        run_seconds,
        max(first_call - run_seconds, 0.0),
        None,
        num_envs=num_envs,
        num_steps=num_steps,
        first_call_seconds=first_call,
    )


def gymnasium_random_steps(num_envs: int = 8, num_steps: int = 10_000, seed: int = 0) -> dict:
    """Gymnasium ``SyncVectorEnv`` CartPole-v1 stepping with uniform random actions."""
    import gymnasium as gym

    envs = gym.vector.SyncVectorEnv([lambda: gym.make(ENV_ID) for _ in range(num_envs)])
    envs.reset(seed=seed)
    actions = np.random.default_rng(seed).integers(0, 2, size=(num_steps, num_envs))
    t0 = time.perf_counter()
    for t in range(num_steps):
        envs.step(actions[t])
    run_seconds = time.perf_counter() - t0
    envs.close()
    return _result(
        "gymnasium_random_steps",
        num_envs * num_steps,
        run_seconds,
        0.0,
        None,
        num_envs=num_envs,
        num_steps=num_steps,
        gymnasium_version=gym.__version__,
    )


PEERS = {
    "gymnax_random_steps": lambda args: gymnax_random_steps(1024, 1000, args.seed),
    "gymnasium_random_steps": lambda args: gymnasium_random_steps(8, 10_000, args.seed),
    "rejax_ppo": lambda args: rejax_ppo(args.timesteps, args.seed, args.eval_episodes),
    "sb3_ppo": lambda args: sb3_ppo(args.timesteps, args.seed, args.eval_episodes),
    "sb3_trpo": lambda args: sb3_trpo(args.timesteps, args.seed, args.eval_episodes),
}


# policyopt's XLA:CPU flags (src/policyopt/__init__.py), so that rejax runs under the same
# compiler settings when this module is run on its own (bench_compiled.py's subprocesses
# inherit them anyway): without them rejax's PPO update is ~25% slower here, which would
# flatter our ratio.
SAME_XLA_FLAGS = (
    "--xla_cpu_multi_thread_eigen=false",
    "--xla_cpu_enable_concurrency_optimized_scheduler=false",
)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    import os

    flags = os.environ.get("XLA_FLAGS", "")
    missing = [f for f in SAME_XLA_FLAGS if f.split("=")[0] not in flags]
    os.environ["XLA_FLAGS"] = " ".join([flags, *missing]).strip()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timesteps", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-episodes", type=int, default=DEFAULT_EVAL_EPISODES)
    parser.add_argument("--only", choices=sorted(PEERS), action="append")
    parser.add_argument("--out", help="also write the list of results to this JSON file")
    args = parser.parse_args(argv)

    results = []
    for name in args.only or list(PEERS):
        res = PEERS[name](args)
        print(json.dumps(res), flush=True)
        results.append(res)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=2)
    return results


if __name__ == "__main__":
    main()
