"""Typed configs: every field takes exactly the values of its type, before anything compiles."""

import dataclasses
import math

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policyopt import tabular as T
from policyopt.cli import parse_sets, parse_value
from policyopt.configs import CONFIGS, hparams, make_config
from policyopt.errors import ConfigError, field_types, float_fields
from policyopt.train import make_train

SMALL = {"num_envs": 4, "num_steps": 32, "total_timesteps": 128}
FLOAT_FIELDS = [(algo, f) for algo, cls in CONFIGS.items() for f in float_fields(cls)]
TABULAR_FLOATS = [(n, f) for n, cls in T.ALGORITHMS.items() for f in float_fields(cls)]


def _build_with_int(build, field: str):
    """Build with the field set to 1, else 0; a field whose range holds no integer (clip ε
    in (0, 1)) must then fail on its *range*, never on the type."""
    errors = []
    for value in (1, 0):
        try:
            return build(**{field: value})
        except ConfigError as err:
            errors.append(str(err))
    assert all("must be in" in e for e in errors), errors
    return None


@pytest.mark.parametrize(("algo", "field"), FLOAT_FIELDS)
def test_every_float_field_accepts_an_int(algo: str, field: str) -> None:
    cfg = _build_with_int(lambda **kw: make_config(algo, **SMALL, **kw), field)
    if cfg is not None:
        assert type(getattr(cfg, field)) is float
        assert field in hparams(cfg)  # a traced hyperparameter, not a static int


@pytest.mark.parametrize(("name", "field"), TABULAR_FLOATS)
def test_every_tabular_float_field_accepts_an_int(name: str, field: str) -> None:
    alg = _build_with_int(lambda **kw: T.make_config(name, **kw), field)
    if alg is not None:
        assert type(getattr(alg, field)) is float


def test_int_for_float_field_trains() -> None:
    """``beta=1`` (then ``step_size=1``) once crashed at trace time with a bare KeyError."""
    cfg = make_config(
        "npg", **SMALL, beta=1, gamma=1, vf_batch_size=32, vf_epochs=1, eval_episodes=1
    )
    out = jax.jit(make_train(cfg))(jax.random.PRNGKey(0))
    assert np.isfinite(np.asarray(out.metrics["train/value_loss"])).all()


BAD_FLOATS = st.one_of(
    st.text(max_size=5),
    st.booleans(),
    st.sampled_from([math.inf, -math.inf, math.nan, 1e999, None, [1.0], (1.0,)]),
)


@settings(max_examples=60, deadline=None)
@given(case=st.sampled_from(FLOAT_FIELDS), value=BAD_FLOATS)
def test_float_fields_refuse_non_numbers_and_non_finite(case: tuple[str, str], value) -> None:
    algo, field = case
    with pytest.raises(ConfigError, match=rf"{CONFIGS[algo].__name__}\.{field}: must be"):
        make_config(algo, **{**SMALL, field: value})


def _fields_of_type(tp: type) -> list[tuple[str, str]]:
    return [
        (algo, name)
        for algo, cls in CONFIGS.items()
        for name, t in field_types(cls).items()
        if t is tp
    ]


@settings(max_examples=40, deadline=None)
@given(
    case=st.sampled_from(_fields_of_type(bool)),
    value=st.one_of(st.text(max_size=4), st.integers(0, 1), st.floats(), st.none()),
)
def test_bool_fields_take_only_bools(case: tuple[str, str], value) -> None:
    algo, field = case
    with pytest.raises(ConfigError, match=rf"\.{field}: must be True or False"):
        make_config(algo, **{**SMALL, field: value})


@settings(max_examples=40, deadline=None)
@given(
    case=st.sampled_from(_fields_of_type(int)),
    value=st.one_of(
        st.text(max_size=4),
        st.booleans(),
        st.floats().filter(lambda x: not (math.isfinite(x) and x.is_integer())),
        st.none(),
    ),
)
def test_int_fields_refuse_non_integers(case: tuple[str, str], value) -> None:
    algo, field = case
    with pytest.raises(ConfigError, match=rf"\.{field}: must be"):
        make_config(algo, **{**SMALL, field: value})


def test_integral_floats_and_numpy_scalars_are_accepted() -> None:
    cfg = make_config(
        "ppo",
        num_envs=np.int64(4),
        num_steps=32.0,
        total_timesteps=1e3,
        learning_rate=np.float32(1e-3),
        anneal_lr=np.bool_(True),
        batch_size=32,
    )
    assert (cfg.num_envs, cfg.num_steps, cfg.total_timesteps) == (4, 32, 1000)
    assert type(cfg.num_envs) is int and type(cfg.learning_rate) is float
    assert cfg.anneal_lr is True


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"learning_rate": "3e-4"}, r"PPOConfig\.learning_rate: must be a finite number.*string"),
        ({"anneal_lr": "no"}, r"PPOConfig\.anneal_lr: must be True or False, got 'no'"),
        ({"gamma": True}, r"PPOConfig\.gamma: must be a finite number, got True"),
        ({"hidden_sizes": 64}, r"PPOConfig\.hidden_sizes: must be a sequence such as \(64, 64\)"),
        ({"hidden_sizes": (64, 0)}, r"PPOConfig\.hidden_sizes: must be a non-empty tuple"),
        ({"num_envs": 0}, r"PPOConfig\.num_envs: must be an integer >= 1, got 0"),
        ({"env_id": 3}, r"PPOConfig\.env_id: must be a string"),
    ],
)
def test_bad_values_name_the_field(kw: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make_config("ppo", **kw)


def test_cli_values_are_parsed_then_typed() -> None:
    assert parse_value("1") == 1 and parse_value("1e-3") == 1e-3
    assert parse_value("no") is False and parse_value("Yes") is True and parse_value("off") is False
    assert parse_value("64,64") == (64, 64) and parse_value("inf") == "inf"
    sets = parse_sets(["learning_rate=1", "anneal_lr=no", "hidden_sizes=[32, 32]"])
    cfg = make_config("ppo", **sets)
    assert cfg.learning_rate == 1.0 and cfg.anneal_lr is False and cfg.hidden_sizes == (32, 32)
    with pytest.raises(ConfigError, match=r"cli\.--set: expected KEY=VALUE, got 'novalue'"):
        parse_sets(["novalue"])
    with pytest.raises(ConfigError, match=r"learning_rate: must be a finite number, got 'inf'"):
        make_config("ppo", **parse_sets(["learning_rate=inf"]))
    with pytest.raises(ConfigError, match=r"learning_rate: must be a finite number, got inf"):
        make_config("ppo", **parse_sets(["learning_rate=1e999"]))


def test_agent_validates_seed_and_counts_before_any_env() -> None:
    from policyopt import Agent

    with pytest.raises(ConfigError, match=r"PPOConfig\.num_envs: must be an integer >= 1"):
        Agent("ppo", "CartPole-v1", num_envs=0)
    for seed in (-1, "abc", 1.5, True):
        with pytest.raises(ConfigError, match=r"Agent\.seed: must be an integer >= 0"):
            Agent("ppo", "CartPole-v1", seed=seed, num_envs=2)
    with pytest.raises(ConfigError, match=r"PPOConfig\.learning_rate: must be a finite number"):
        Agent("ppo", "CartPole-v1", learning_rate="3e-4")
    agent = Agent("ppo", "CartPole-v1", num_envs=np.int64(2), learning_rate=1, seed=np.int64(3))
    assert agent.config.num_envs == 2 and agent.config.learning_rate == 1.0


def test_every_config_field_has_a_resolved_type() -> None:
    for cls in CONFIGS.values():
        types = field_types(cls)
        assert set(types) == {f.name for f in dataclasses.fields(cls)}
        assert all(t is not None for t in types.values())


def test_a2c_anneals_its_learning_rate_and_older_configs_load_without_it() -> None:
    """``pg`` (A2C) takes rl-zoo3's ``lin_`` schedules (``anneal_lr``); a config stored before
    the field existed is filled with what such a run did (no annealing), and only where the
    recipe has the field."""
    import jax

    from policyopt.configs import make_config, with_added_fields
    from policyopt.train import make_train

    cfg = make_config("pg", env_id="CartPole-v1", total_timesteps=4 * 5 * 8, num_envs=4,
                      anneal_lr=True, learning_rate=1e-3, eval_episodes=1)  # fmt: skip
    lr = jax.jit(make_train(cfg))(jax.random.PRNGKey(0)).metrics["train/learning_rate"]
    np.testing.assert_allclose(np.asarray(lr), 1e-3 * (1 - np.arange(8) / 8), rtol=1e-6)
    stored = {"learning_rate": 7e-4, "env_kwargs": {}}
    assert with_added_fields(stored, "pg") == stored | {"anneal_lr": False}
    assert "anneal_lr" not in with_added_fields(stored, "trpo")
