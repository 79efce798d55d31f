"""Compiled training: configs, compilation behaviour, vmap over seeds and hyperparameters."""

import dataclasses
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from policyopt.configs import CONFIGS, hparams, make_config
from policyopt.errors import ConfigError
from policyopt.train import make_train

sys.path.insert(0, str(Path(__file__).parent / "golden"))
# The tiny configs of these tests are the golden cases' (one definition, tests/golden/).
from golden_cases import TINY, TINY_ALGO


def tiny(algo: str, **kw: object):
    return make_config(algo, **{**TINY, **TINY_ALGO[algo], **kw})


@pytest.mark.parametrize(
    ("algo", "field", "value", "message"),
    [
        ("ppo", "learning_rate", -1e-3, r"PPOConfig\.learning_rate: must be in \(0, inf\)"),
        (
            "ppo",
            "batch_size",
            100,
            r"PPOConfig\.batch_size: must divide the rollout num_envs × num_steps = 128",
        ),
        ("trpo", "delta", 0.0, r"TRPOConfig\.delta: must be in \(0, inf\)"),
        (
            "npg",
            "step_rule",
            "natural",
            r"NPGConfig\.step_rule: got 'natural'; allowed: fixed, trust_region",
        ),
        ("ppo", "clip_eps", 1.5, r"PPOConfig\.clip_eps: must be in \(0, 1\)"),
        ("mdpo", "n_epochs", 0, r"MDPOConfig\.n_epochs: must be an integer >= 1"),
        ("ppo", "gamma", 1.5, r"PPOConfig\.gamma: must be in \(0, 1\]"),
        ("ppo", "activation", "sigmoid", r"activation: got 'sigmoid'"),
    ],
)
def test_invalid_config_names_the_field(algo: str, field: str, value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make_config(algo, **{"num_envs": 4, "num_steps": 32, field: value})


def test_unknown_recipe_and_field_suggest() -> None:
    with pytest.raises(ConfigError, match=r"unknown recipe 'trpp'.*did you mean 'trpo'"):
        make_config("trpp")
    with pytest.raises(
        ConfigError, match=r"PPOConfig\.clip_range: unknown field.*did you mean 'clip_eps'"
    ):
        make_config("ppo", clip_range=0.1)


def test_every_recipe_has_a_config_with_documented_fields() -> None:
    for name, cls in CONFIGS.items():
        assert cls.name == name
        doc = (cls.__doc__ or "") + "".join((c.__doc__ or "") for c in cls.__mro__)
        for f in dataclasses.fields(cls):
            assert f.name in doc, f"{cls.__name__}.{f.name} is undocumented"


@pytest.mark.parametrize("algo", list(CONFIGS))
def test_recipe_compiles_runs_and_reports_metrics(algo: str) -> None:
    cfg = tiny(algo)
    traces = []
    train = make_train(cfg)

    def counted(key):
        traces.append(1)
        return train(key)

    fn = jax.jit(counted)
    out = jax.block_until_ready(fn(jax.random.PRNGKey(0)))
    out2 = jax.block_until_ready(fn(jax.random.PRNGKey(1)))
    assert len(traces) == 1  # a second call does not retrace / recompile
    m = {k: np.asarray(v) for k, v in out.metrics.items()}
    assert all(v.shape[0] == cfg.num_updates for v in m.values())
    for key in (
        "train/kl_forward",
        "train/kl_reverse",
        "train/approx_kl",
        "train/entropy",
        "train/clip_fraction",
        "train/explained_variance",
        "train/value_loss",
        "rollout/ep_rew_mean",
    ):
        assert key in m, key
    for key in ("train/kl_forward", "train/kl_reverse", "train/entropy", "train/value_loss"):
        assert np.all(np.isfinite(m[key])), (key, m[key])
    assert np.all(m["train/kl_forward"] >= -1e-6) and np.all(m["train/kl_reverse"] >= -1e-6)
    assert out.eval_returns.shape == (cfg.eval_episodes,)
    assert not np.allclose(
        np.asarray(out.metrics["train/entropy"]), np.asarray(out2.metrics["train/entropy"])
    )


def test_natural_recipes_report_solver_diagnostics() -> None:
    out = jax.jit(make_train(tiny("trpo")))(jax.random.PRNGKey(0))
    m = {k: np.asarray(v) for k, v in out.metrics.items()}
    assert np.all((m["train/cg_iterations"] >= 1) & (m["train/cg_iterations"] <= 15))
    acc = m["train/accepted"].astype(bool)
    assert np.all(
        m["train/kl_forward"][acc] <= 0.01 * 1.01
    )  # the trust region holds where accepted
    assert np.all(m["train/kl_forward"][~acc] == 0)  # otherwise θ_k is kept
    assert np.all(m["train/backtracks"] <= 10)


def test_same_seed_same_numbers_and_vmap_over_seeds_matches_single_runs() -> None:
    train = make_train(tiny("ppo"))
    keys = jax.random.split(jax.random.PRNGKey(3), 3)
    batched = jax.jit(jax.vmap(train))(keys)
    single = jax.jit(train)(keys[1])
    again = jax.jit(train)(keys[1])
    for k in ("train/approx_kl", "train/value_loss"):
        np.testing.assert_array_equal(np.asarray(single.metrics[k]), np.asarray(again.metrics[k]))
        np.testing.assert_allclose(
            np.asarray(batched.metrics[k][1]), np.asarray(single.metrics[k]), rtol=2e-4, atol=1e-6
        )


def test_vmap_over_a_float_hyperparameter_without_recompiling() -> None:
    cfg = tiny("ppo", learning_rate=1e-2, n_epochs=4)
    train = make_train(cfg)
    hp = hparams(cfg)
    hp["clip_eps"] = jnp.array([0.05, 0.2, 0.4])
    axes = {k: (0 if k == "clip_eps" else None) for k in hp}
    traces = []

    def counted(key, h):
        traces.append(1)
        return train(key, h)

    out = jax.jit(jax.vmap(counted, in_axes=(None, axes)))(jax.random.PRNGKey(0), hp)
    assert len(traces) == 1
    kl = np.asarray(out.metrics["train/kl_forward"]).mean(axis=1)
    assert kl.shape == (3,)
    assert kl[0] < kl[1] < kl[2]  # a tighter clip range keeps the policy closer to π_k
    single = jax.jit(train)(jax.random.PRNGKey(0), {**hp, "clip_eps": jnp.float32(0.2)})
    np.testing.assert_allclose(
        np.asarray(out.metrics["train/kl_forward"][1]),
        np.asarray(single.metrics["train/kl_forward"]),
        rtol=1e-3,
    )


def test_continuous_actions_compile() -> None:
    out = jax.jit(make_train(tiny("trpo", env_id="Pendulum-v1")))(jax.random.PRNGKey(0))
    assert np.all(np.isfinite(np.asarray(out.metrics["train/kl_forward"])))


@pytest.mark.parametrize("env_id", ["Acrobot-v1", "MountainCarContinuous-v0"])
def test_other_gymnax_envs_train(env_id: str) -> None:
    out = jax.jit(make_train(tiny("ppo", env_id=env_id)))(jax.random.PRNGKey(0))
    assert np.all(np.isfinite(np.asarray(out.metrics["train/value_loss"])))


def test_host_logging_callback_is_called() -> None:
    seen = []
    cfg = tiny("ppo")
    train = make_train(
        cfg, log_fn=lambda m: seen.append(float(m["time/total_timesteps"])), log_every=2
    )
    jax.block_until_ready(jax.jit(train)(jax.random.PRNGKey(0)))
    assert sorted(seen) == [256.0, 512.0]  # updates 2 and 4 of 4


def test_unknown_env_suggests_close_ids() -> None:
    with pytest.raises(ConfigError, match=r"unknown JAX-native env 'CartPol-v1'.*'CartPole-v1'"):
        make_train(tiny("ppo", env_id="CartPol-v1"))


def test_episode_window_matches_a_python_reference() -> None:
    """rollout/ep_rew_mean = mean of the last 100 finished episodes, as SB3 and the host."""
    from policyopt.train import WINDOW, EpisodeStats

    rng = np.random.default_rng(0)
    n_envs, steps = 7, 400
    rewards = rng.uniform(0, 1, (steps, n_envs)).astype(np.float32)
    dones = rng.uniform(size=(steps, n_envs)) < 0.1
    stats = EpisodeStats.zeros(n_envs)
    record = jax.jit(EpisodeStats.record)
    finished, running = [], np.zeros(n_envs)
    for t in range(steps):
        stats = record(stats, jnp.asarray(rewards[t]), jnp.asarray(dones[t]))
        running += rewards[t]
        finished += running[dones[t]].tolist()
        running[dones[t]] = 0.0
        mean_ret, _ = stats.means()
        expected = np.mean(finished[-WINDOW:]) if finished else np.nan
        np.testing.assert_allclose(float(mean_ret), expected, rtol=1e-5, equal_nan=True)
    assert len(finished) > WINDOW


@pytest.mark.parametrize(
    ("algo", "kw"),
    [
        ("npg", {"beta": 1e3}),
        ("npg", {"step_rule": "trust_region", "delta": 1e-6}),
        ("trpo", {"delta": 1e-6}),
    ],
)
def test_expected_and_actual_improvement_agree_to_first_order(algo: str, kw: dict) -> None:
    """On a small step, L(θ_k) − L(θ_k + Δ) = −gᵀΔ + O(‖Δ‖²): the measured improvement of
    the ratio surrogate matches the predicted one (NPG's was always 0 before)."""
    out = jax.jit(make_train(tiny(algo, **kw)))(jax.random.PRNGKey(1))
    exp = np.asarray(out.metrics["train/expected_improve"], np.float64)
    act = np.asarray(out.metrics["train/actual_improve"], np.float64)
    assert np.all(exp > 0) and np.all(act != 0)
    np.testing.assert_allclose(act, exp, rtol=0.05)


@pytest.mark.parametrize(
    ("algo", "kw", "expected"),
    [
        ("mdpo", {}, lambda k, n, g: np.maximum(1.0 - k / n, 0.01)),
        ("mdpo", {"schedule": "geometric", "t_init": 0.5, "t_max": 0.52},
         lambda k, n, g: np.minimum(0.5 / g**k, 0.52)),
        ("mdpo", {"schedule": "constant", "t_init": 0.3}, lambda k, n, g: 0.3 + 0 * k),
        ("adaptive_trpo", {}, lambda k, n, g: 1.0 / np.sqrt(k + 1)),
        ("adaptive_trpo", {"ent_coef": 0.5}, lambda k, n, g: 1.0 / (0.5 * (k + 2))),
    ],
)  # fmt: skip
def test_deep_step_size_schedules_follow_their_formulas(algo: str, kw: dict, expected) -> None:
    """The deep level runs every named schedule (policyopt.schedules) with default constants:
    the MDPO paper's linear t_k (default), PMD's geometric one, Shani et al.'s rules."""
    cfg = tiny(algo, **kw)
    out = jax.jit(make_train(cfg))(jax.random.PRNGKey(0))
    k = np.arange(cfg.num_updates, dtype=np.float64)
    want = expected(k, cfg.num_updates, cfg.gamma)
    np.testing.assert_allclose(np.asarray(out.metrics["train/t_k"]), want, rtol=1e-5)
