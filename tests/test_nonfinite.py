"""NaN is never silent: the shared update guard, on_nan, and every place a NaN used to leak.

Each case of the issue "NaN is never detected" has a test here: a huge learning rate on the
compiled and host loops (PPO, A2C, TRPO's critic), a NaN reward from a JAX-native env, the
CLI (exit code 3, no bare NaN in summary.json, last good checkpoint exported), sweeps (the
trial is failed) and the validation of ``on_nan``. Host environments that return NaN, raise
or hang are in ``test_faults.py``.
"""

import dataclasses
import json
import math
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from typer.testing import CliRunner

from policyopt.agent import Agent
from policyopt.algorithms import Recipe, Transition, make_recipe
from policyopt.checkpoint import read_checkpoint
from policyopt.cli import app
from policyopt.configs import hparams, make_config
from policyopt.envs.jax_env import JaxEnv, make_jax_env
from policyopt.errors import ConfigError
from policyopt.experiments import RunSpec
from policyopt.faults import QUANTITIES, NonFiniteError, raise_if_nonfinite
from policyopt.guard import guarded_update
from policyopt.nn import make_networks
from policyopt.runs import save_run
from policyopt.train import make_train, run_train

# Pendulum, 4 envs × 64 steps, 4 updates: compiles and runs in a few seconds.
PENDULUM = {
    "env_id": "Pendulum-v1",
    "total_timesteps": 1024,
    "num_envs": 4,
    "num_steps": 64,
    "eval_episodes": 2,
}
PPO_TINY = {"batch_size": 64, "n_epochs": 2}


def _strict_json(path: Path) -> object:
    """Parse JSON refusing the non-standard NaN / Infinity constants."""

    def refuse(name: str) -> None:
        raise AssertionError(f"{path} contains a bare {name}")

    return json.loads(path.read_text(), parse_constant=refuse)


def _all_finite(tree: object) -> bool:
    return all(bool(np.isfinite(np.asarray(x)).all()) for x in jax.tree.leaves(tree))


# --------------------------------------------------------------------------- the guard itself


def _guard_fixture() -> tuple:
    cfg = make_config("ppo_kl", env_id="Pendulum-v1", num_envs=2, num_steps=4, batch_size=8)
    env = make_jax_env("Pendulum-v1")
    nets = make_networks(env.action_spec, (8,))
    hp = hparams(cfg)
    learner = make_recipe(cfg, nets).init(
        jax.random.PRNGKey(0), jax.random.PRNGKey(1), jnp.zeros((1, 3)), hp
    )
    T, N = 4, 2
    traj = Transition(
        obs=jnp.ones((T, N, 3)),
        action=jnp.zeros((T, N, 1)),
        logp=jnp.zeros((T, N)),
        value=jnp.zeros((T, N)),
        reward=jnp.ones((T, N)),
        terminated=jnp.zeros((T, N), bool),
        done=jnp.zeros((T, N), bool),
        final_obs=jnp.ones((T, N, 3)),
    )
    return nets, hp, learner, traj


def _poisoned(quantity: str, nets, learner, traj):
    """A recipe (and rollout) whose ``quantity`` is NaN; every other quantity is finite."""
    nan = jnp.float32(jnp.nan)
    if quantity == "observation":
        traj = traj._replace(obs=traj.obs.at[1, 0, 2].set(nan))
    elif quantity == "reward":
        traj = traj._replace(reward=traj.reward.at[3, 1].set(nan))
    elif quantity == "advantage":
        traj = traj._replace(value=traj.value.at[0, 0].set(nan))

    def update(learner, batch, key, hp, progress, k):
        new = learner.replace(actor=jax.tree.map(lambda x: x + 1.0, learner.actor))
        metrics = {"train/policy_loss": jnp.float32(0.5), "train/grad_norm": jnp.float32(2.0)}
        if quantity == "loss":
            metrics["train/policy_loss"] = nan
        elif quantity == "gradient":
            metrics["train/grad_norm"] = jnp.float32(jnp.inf)
        elif quantity == "actor parameters":
            new = new.replace(actor=jax.tree.map(lambda x: x * nan, new.actor))
        elif quantity == "critic parameters":
            new = new.replace(critic=jax.tree.map(lambda x: x * nan, new.critic))
        elif quantity == "optimiser state":
            new = new.replace(extra={"beta": nan})
        return new, metrics

    return guarded_update(Recipe(None, update), nets), traj


@pytest.mark.parametrize("quantity", QUANTITIES)
def test_guard_rejects_the_step_and_names_the_first_nonfinite_quantity(quantity: str) -> None:
    nets, hp, learner, traj = _guard_fixture()
    update, bad_traj = _poisoned(quantity, nets, learner, traj)
    args = (jax.random.PRNGKey(2), hp, jnp.float32(0.0), jnp.int32(0))
    out, metrics = jax.jit(update)(learner, bad_traj, *args)
    assert QUANTITIES[int(metrics["train/nonfinite"]) - 1] == quantity
    chex_equal = jax.tree.map(lambda a, b: bool(jnp.array_equal(a, b)), out, learner)
    assert all(jax.tree.leaves(chex_equal)), "a rejected step must return the old learner"
    # The same update on a clean rollout is accepted (code 0, parameters moved) — and under
    # vmap the two cases are decided per element.
    clean, _ = _poisoned("none", nets, learner, traj)
    both = jax.tree.map(lambda a, b: jnp.stack([a, b]), traj, bad_traj)
    learners = jax.tree.map(lambda a: jnp.stack([a, a]), learner)
    outs, m = jax.jit(jax.vmap(update, in_axes=(0, 0, None, None, None, None)))(
        learners, both, *args
    )
    codes = np.asarray(m["train/nonfinite"])
    if quantity in ("observation", "reward", "advantage"):
        assert codes[0] == 0 and QUANTITIES[codes[1] - 1] == quantity
        moved = jax.tree.leaves(outs.actor)[0]
        assert not np.array_equal(moved[0], moved[1])
    _, m0 = jax.jit(clean)(learner, traj, *args)
    assert int(m0["train/nonfinite"]) == 0


def test_a_frozen_update_is_rejected_even_when_finite() -> None:
    nets, hp, learner, traj = _guard_fixture()
    update, _ = _poisoned("none", nets, learner, traj)
    out, m = update(learner, traj, jax.random.PRNGKey(2), hp, 0.0, jnp.int32(0), True)
    assert int(m["train/nonfinite"]) == 0
    leaves = jax.tree.leaves(jax.tree.map(jnp.array_equal, out.actor, learner.actor))
    assert all(bool(x) for x in leaves)


# --------------------------------------------------------------------------- compiled loop


@pytest.mark.parametrize(("algo", "extra"), [("ppo", PPO_TINY), ("pg", {})])
def test_compiled_huge_learning_rate_raises_naming_quantity_update_env_and_seed(
    algo: str, extra: dict
) -> None:
    cfg = make_config(algo, learning_rate=1e8, **PENDULUM, **extra)
    with pytest.raises(NonFiniteError) as info:
        run_train(cfg, seed=3, num_seeds=2)
    err = info.value
    assert err.quantity in ("loss", "gradient", "actor parameters", "critic parameters")
    assert err.env_id == "Pendulum-v1" and err.seed in (3, 4) and 0 <= err.update < 4
    assert f"update {err.update}" in str(err) and "Pendulum-v1" in str(err)
    assert "on_nan='skip'" in str(err)


def test_compiled_run_freezes_at_the_last_good_learner_and_skip_goes_on() -> None:
    cfg = make_config("pg", learning_rate=1e8, **PENDULUM)
    out = run_train(cfg, num_seeds=1, check_finite=False).output
    codes = np.asarray(out.metrics["train/nonfinite"])[0]
    first = int(np.flatnonzero(codes)[0])
    assert _all_finite(out.learner), "the frozen learner is the last good one"
    assert np.isfinite(np.asarray(out.eval_returns)).all()
    skip = run_train(cfg, num_seeds=1, on_nan="skip").output  # does not raise
    rejected = np.asarray(skip.metrics["train/rejected_nonfinite"])[0]
    assert rejected[first] == 1 and rejected[-1] >= 1
    assert np.all(np.diff(rejected) >= 0), "a cumulative count"
    assert _all_finite(skip.learner) and np.isfinite(np.asarray(skip.eval_returns)).all()


def test_trpo_critic_blowup_is_rejected_not_trained_on() -> None:
    """TRPO's line search rejects a bad actor step; the critic had no such protection."""
    cfg = make_config("trpo", vf_learning_rate=1e30, vf_batch_size=64, vf_epochs=2, **PENDULUM)
    out = run_train(cfg, check_finite=False).output
    assert _all_finite(out.learner.critic)
    with pytest.raises(NonFiniteError, match=r"non-finite (loss|critic parameters)") as info:
        raise_if_nonfinite(out.metrics, "raise", "Pendulum-v1")
    assert info.value.update == 0


@dataclasses.dataclass(frozen=True)
class _NaNRewardEnv(JaxEnv):
    """A gymnax env whose reward is NaN at the ``at``-th step of every episode."""

    at: int = 37

    def step(self, key, state, action):
        out = super().step(key, state, action)
        return out._replace(reward=jnp.where(out.state.time == self.at, jnp.nan, out.reward))


def test_compiled_nan_reward_from_the_env_stops_even_with_skip(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base = make_jax_env("Pendulum-v1")
    env = _NaNRewardEnv(**{f.name: getattr(base, f.name) for f in dataclasses.fields(JaxEnv)})
    monkeypatch.setattr("policyopt.train.make_jax_env", lambda env_id: env)
    cfg = make_config("ppo", **{**PENDULUM, "num_steps": 16, "total_timesteps": 4 * 16 * 4})
    cfg = dataclasses.replace(cfg, batch_size=64, n_epochs=1)
    with pytest.raises(NonFiniteError, match=r"non-finite reward from environment") as info:
        run_train(cfg, on_nan="skip")
    assert info.value.quantity == "reward" and info.value.update == (37 - 1) // 16


def test_on_nan_is_validated_everywhere() -> None:
    allowed = r"on_nan: got 'ignore'; allowed: raise, skip"
    with pytest.raises(ConfigError, match=r"make_train\." + allowed):
        make_train(make_config("ppo"), on_nan="ignore")
    with pytest.raises(ConfigError, match=r"Agent\." + allowed):
        Agent("ppo", "CartPole-v1", on_nan="ignore")
    with pytest.raises(ConfigError, match=r"run\." + allowed):
        RunSpec("ppo", "CartPole-v1", on_nan="ignore").config()
    res = CliRunner().invoke(app, ["train", "ppo", "CartPole-v1", "--on-nan", "ignore"])
    assert res.exit_code == 2 and "allowed: raise, skip" in res.output


# --------------------------------------------------------------------------- host loop


def test_host_huge_learning_rate_raises_and_keeps_the_last_good_checkpoint(
    tmp_path: Path,
) -> None:
    ckpt = tmp_path / "a.ckpt"
    agent = Agent(
        "pg", "Pendulum-v1", num_envs=2, num_steps=32, learning_rate=1e8,
        checkpoint_path=ckpt, checkpoint_every=1,
    )  # fmt: skip
    with pytest.raises(NonFiniteError, match=r"non-finite .* on 'Pendulum-v1' at update") as info:
        agent.learn(64 * 6)
    bad = info.value.update
    assert agent.state.update == bad, "state stays at the last good update"
    meta, _ = read_checkpoint(ckpt)
    assert meta["update"] == bad  # checkpoint_every=1: the last good update, not the bad one
    restored = Agent.load(ckpt)
    assert _all_finite(restored.state.learner)
    action, _ = agent.predict(np.zeros(3, np.float32), deterministic=True)
    assert np.isfinite(action).all()


def test_host_skip_rejects_counts_and_never_trains_on_nan() -> None:
    agent = Agent("pg", "Pendulum-v1", num_envs=2, num_steps=32, learning_rate=1e8, on_nan="skip")
    agent.learn(64 * 5)
    codes = [h["train/nonfinite"] for h in agent.history]
    assert any(codes) and agent.history[-1]["train/rejected_nonfinite"] == sum(map(bool, codes))
    assert _all_finite(agent.state.learner)
    action, _ = agent.predict(np.ones((4, 3), np.float32), deterministic=True)
    assert np.isfinite(action).all()


# --------------------------------------------------------------------------- run dirs, CLI, sweeps


def test_summary_json_writes_null_never_a_bare_nan(tmp_path: Path) -> None:
    cfg = make_config("ppo", num_envs=2, num_steps=32, total_timesteps=64)
    metrics = {"time/total_timesteps": np.array([[64.0]]), "train/value_loss": np.array([[1.0]])}
    save_run(tmp_path, cfg, metrics, np.array([[np.nan, 1.0]]), {"run_seconds": math.inf})
    summary = _strict_json(tmp_path / "summary.json")
    assert summary["eval_mean_return"] is None and summary["run_seconds"] is None


def test_cli_nan_run_exits_3_names_it_and_exports_the_last_good_learner(tmp_path: Path) -> None:
    args = ["train", "pg", "Pendulum-v1", "--no-preset", "--steps", "1024", "--runs-dir",
            str(tmp_path), "--name", "nan", "--seeds", "2"]  # fmt: skip
    for k, v in {**PENDULUM, "learning_rate": 1e8}.items():
        if k not in ("env_id", "total_timesteps"):
            args += ["--set", f"{k}={v}"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 3, res.output
    assert "non-finite" in res.output and "Pendulum-v1" in res.output and "update" in res.output
    assert "eval return nan" not in res.output.lower()
    run = tmp_path / "nan"
    summary = _strict_json(run / "summary.json")
    assert summary["status"] == "failed" and "NonFiniteError" in summary["error"]
    for k in range(2):
        agent = Agent.load(run / "checkpoints" / f"seed_{k}.ckpt")
        assert _all_finite(agent.state.learner)
        assert agent.state.update < 4 and len(agent.history) == agent.state.update


def test_sweep_records_a_nan_trial_as_failed(tmp_path: Path) -> None:
    from policyopt.experiments.sweep import SweepSpec, run_sweep

    fixed = {k: v for k, v in PENDULUM.items() if k not in ("env_id", "total_timesteps")}
    spec = SweepSpec.from_dict(
        {"name": "nan", "runs_dir": str(tmp_path), "algos": ["pg"], "envs": ["Pendulum-v1"],
         "steps": 1024, "set": fixed, "params": {"learning_rate": [1e8]}}
    )  # fmt: skip
    out = run_sweep(spec, log=lambda *a: None)
    (trial,) = out["trials"]
    assert trial["status"] == "failed" and "non-finite" in trial["error"]
    _strict_json(tmp_path / "nan" / "sweep.json")
