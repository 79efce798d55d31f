"""The composition API: blocks, refusals, named rows as data, and compositions at both levels."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import policyopt
from policyopt import tabular as T
from policyopt.algorithms import Coefficient, divergence
from policyopt.composition import (
    NAMED,
    algorithm_table,
    parse_recipe,
    recipe_label,
)
from policyopt.configs import compose, hparams, make_config
from policyopt.divergences import fisher_vector_product
from policyopt.errors import ConfigError
from policyopt.nn import ActionSpec, make_networks
from policyopt.train import make_train

TINY = {
    "total_timesteps": 256,
    "num_envs": 2,
    "num_steps": 32,
    "hidden_sizes": (16,),
    "eval_episodes": 1,
    "batch_size": 32,
    "n_epochs": 2,
    "vf_batch_size": 32,
    "vf_epochs": 1,
    "cg_iters": 5,
}

# ------------------------------------------------------------------ refusals


@pytest.mark.parametrize(
    ("args", "field", "hint"),
    [
        (("ratio", "kl_forward:constraint", "first_order"), "proximity_as", "natural"),
        (("ratio", "kl_reverse", "closed_form"), "solver", "valid here: first_order"),
        (("score", "none", "natural"), "proximity", "euclidean, kl_forward or kl_reverse"),
        (("ratio", "kl_forward:fixed", "natural_linesearch"), "proximity_as", "'natural'"),
        (("ratio", "euclidean:adaptive", "first_order"), "coefficient", "fixed, annealed"),
        (("ratio", "none:constraint", "natural"), "proximity_as", "a distance"),
        (("ratio", "kl_forward", "newton"), "solver", "allowed: first_order"),
        (("ratoi", "kl_forward", "first_order"), "surrogate", "did you mean 'ratio'"),
    ],
)
def test_nonsense_is_refused_before_anything_compiles_saying_what_works(
    args: tuple[str, str, str], field: str, hint: str
) -> None:
    with pytest.raises(ConfigError, match=rf"ComposedConfig\.{field}: .*{re.escape(hint)}"):
        compose(*args)


def test_exact_level_refuses_missing_closed_forms_and_names_them() -> None:
    with pytest.raises(ConfigError, match=r"Composed\.solver: no closed-form .*mirror step"):
        T.compose("clipped_ratio", "kl_reverse", "closed_form")
    with pytest.raises(ConfigError, match=r"Composed\.solver: no closed-form"):
        T.compose("ratio", "kl_forward", "closed_form")  # needs a root-find, not closed
    with pytest.raises(ConfigError, match=r"compose\.proximity_as: given twice"):
        compose("ratio", "kl_forward:constraint", "natural", proximity_as="penalty")


def test_recipe_spelling_round_trips() -> None:
    text = "ratio/kl_reverse:constraint/natural_linesearch"
    name, fields = parse_recipe(text)
    assert name == "composed" and fields["proximity_as"] == "constraint"
    assert recipe_label(make_config(name, **fields).composition) == text
    assert parse_recipe("ppo") == ("ppo", {})
    with pytest.raises(ConfigError, match="SURROGATE/PROXIMITY"):
        parse_recipe("ratio/kl_forward")


def test_named_configs_are_rows_of_the_table() -> None:
    for name, row in NAMED["deep"].items():
        assert make_config(name).composition == row
    assert make_config("npg", step_rule="trust_region").composition.proximity_as == "constraint"
    for name, row in NAMED["exact"].items():
        assert T.make_config(name).composition == row
        row.check("exact")


def test_readme_algorithm_tables_are_the_registry() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    for level in ("deep", "exact"):
        assert algorithm_table(level) in readme, f"README's {level} table differs from NAMED"


# ------------------------------------------------------------------ the blocks' own math


@pytest.fixture(scope="module")
def policy() -> tuple:
    nets = make_networks(ActionSpec("continuous", 2, (-2.0, -2.0), (2.0, 2.0)), hidden=(8,))
    k1, k2 = jax.random.split(jax.random.PRNGKey(3))
    obs = jax.random.normal(k1, (64, 3))
    actor = nets.init_actor(k2, obs[:1])
    return nets, actor, obs


def test_both_kls_have_the_fisher_as_curvature_and_euclidean_the_identity(policy) -> None:
    nets, actor, obs = policy
    v = jax.tree.map(lambda x: jnp.ones_like(x) * 0.1, actor)
    fwd = fisher_vector_product(lambda p: divergence("kl_forward", nets, actor, p, obs), actor)(v)
    rev = fisher_vector_product(lambda p: divergence("kl_reverse", nets, actor, p, obs), actor)(v)
    euc = fisher_vector_product(lambda p: divergence("euclidean", nets, actor, p, obs), actor)(v)
    for a, b in zip(jax.tree.leaves(fwd), jax.tree.leaves(rev), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    for a, b in zip(jax.tree.leaves(euc), jax.tree.leaves(v), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert float(divergence("kl_forward", nets, actor, actor, obs)) == pytest.approx(0, abs=1e-7)


def test_coefficient_weights_and_natural_steps() -> None:
    beta, t = jnp.float32(4.0), jnp.float32(0.25)
    assert float(Coefficient(beta, False).weigh(jnp.float32(2.0))) == 8.0
    assert float(Coefficient(beta, False).step()) == 0.25
    assert float(Coefficient(t, True).weigh(jnp.float32(2.0))) == 8.0
    assert float(Coefficient(t, True).step()) == 0.25


# ------------------------------------------------------------------ deep level


def _first_update(cfg) -> dict[str, np.ndarray]:
    out = jax.jit(make_train(cfg))(jax.random.PRNGKey(0))
    return {k: np.asarray(v) for k, v in out.metrics.items()}


@pytest.mark.parametrize(
    ("named", "args"),
    [
        ("ppo", ("clipped_ratio", "none", "first_order")),
        ("trpo", ("ratio", "kl_forward:constraint", "natural_linesearch")),
        ("mdpo", ("ratio", "kl_reverse:annealed", "first_order")),
    ],
)
def test_a_composition_of_a_named_row_reproduces_it_bit_for_bit(named: str, args) -> None:
    fields = {k: v for k, v in TINY.items()}
    if named == "mdpo":
        fields |= {"batch_size": 64}  # full batch: MDPO's m full-batch steps
    if named == "trpo":
        fields |= {"cg_iters": 15, "max_backtracks": 10}
    extra = {"critic": "separate"} if named == "mdpo" else {}
    composed = compose(*args, env_id="CartPole-v1", **fields, **extra)
    own = {k: v for k, v in fields.items() if k in make_config(named).__dataclass_fields__}
    want = _first_update(make_config(named, env_id="CartPole-v1", **own))
    got = _first_update(composed)
    for key in want:
        if key == "train/policy_loss" or key not in got:
            continue
        np.testing.assert_array_equal(got[key], want[key], err_msg=key)


DEEP_COMPOSITIONS = [
    ("ratio", "kl_reverse:constraint", "natural_linesearch"),  # TRPO with the reverse KL
    ("clipped_ratio", "kl_forward:constraint", "natural"),  # PPO's surrogate, natural solver
    ("ratio", "kl_reverse:annealed", "natural"),  # MDPO's proximity solved by CG
    ("ratio", "kl_forward:fixed", "first_order"),  # PPO-KL with a fixed β
    ("score", "euclidean:fixed", "natural"),  # plain gradient step through the natural engine
    ("clipped_ratio", "kl_reverse:shani", "first_order"),
    ("ratio", "kl_forward:adaptive", "natural"),
    ("score", "kl_reverse:constraint", "natural_linesearch"),
]


@pytest.mark.parametrize("args", DEEP_COMPOSITIONS, ids="/".join)
def test_deep_compositions_train_under_jit_and_vmap(args: tuple[str, str, str]) -> None:
    cfg = compose(*args, env_id="CartPole-v1", beta=2.0, **TINY)
    hp = hparams(cfg)
    if "fixed" in args[1]:
        hp["beta"] = jnp.asarray([1.0, 4.0])  # one program, two values of β
        axes = {k: (0 if k == "beta" else None) for k in hp}
    else:
        axes = None
    train = make_train(cfg)
    keys = jax.random.split(jax.random.PRNGKey(1), 2)
    if axes is None:
        out = jax.jit(jax.vmap(lambda k: train(k, hp)))(keys)
    else:
        out = jax.jit(jax.vmap(train, in_axes=(0, axes)))(keys, hp)
    kl = np.asarray(out.metrics["train/kl_forward"])
    assert kl.shape == (2, cfg.num_updates) and np.all(np.isfinite(kl)) and np.all(kl > 0)
    if args[1].endswith("constraint") and args[2] == "natural_linesearch":
        name = "train/kl_reverse" if "reverse" in args[1] else "train/kl_forward"
        assert np.all(np.asarray(out.metrics[name]) <= cfg.delta * (1 + 1e-5))


def test_deep_euclidean_natural_step_is_a_gradient_step() -> None:
    """With ½‖θ−θ_k‖² as proximity the curvature is I, so d = g/(1+λ) and the step 1/β."""
    cfg = compose("score", "euclidean:fixed", "natural", env_id="CartPole-v1", beta=4.0,
                  damping=0.0, **{**TINY, "cg_iters": 3})  # fmt: skip
    out = _first_update(cfg)
    assert out["train/cg_iterations"][0] == 1  # identity: CG converges in one iteration
    np.testing.assert_allclose(out["train/step_size"], 0.25)
    g2 = out["train/grad_norm"] ** 2
    np.testing.assert_allclose(out["train/expected_improve"], 0.25 * g2, rtol=1e-4)


def test_composed_checkpoint_records_and_reloads_the_composition(tmp_path: Path) -> None:
    agent = policyopt.Agent(
        "composed", "CartPole-v1", surrogate="clipped_ratio", proximity="kl_reverse",
        proximity_as="constraint", solver="natural", num_envs=2, num_steps=32,
        vf_batch_size=32, vf_epochs=1, batch_size=32,
    )  # fmt: skip
    agent.learn(64)
    loaded = policyopt.Agent.load(agent.save(tmp_path / "c.ckpt"))
    assert loaded.config.composition == agent.config.composition
    assert recipe_label(loaded.config.composition) == "clipped_ratio/kl_reverse:constraint/natural"
    obs = np.random.default_rng(0).normal(size=(4, 4)).astype(np.float32)
    np.testing.assert_array_equal(
        agent.predict(obs, deterministic=True)[0], loaded.predict(obs, deterministic=True)[0]
    )


# ------------------------------------------------------------------ exact level


@pytest.mark.parametrize("name", list(NAMED["exact"]))
def test_exact_composition_of_each_named_row_matches_it(name: str) -> None:
    named = T.make_config(name)
    row = named.composition
    shared = {f.name: getattr(named, f.name) for f in dataclasses.fields(named)}
    composed = T.make_config(
        "composed",
        surrogate=row.surrogate,
        proximity=row.proximity,
        solver=row.solver,
        proximity_as=row.proximity_as,
        coefficient=row.coefficient,
        **{k: v for k, v in shared.items() if k != "step_rule"},
    )
    mdp = T.frozenlake()
    a, b = T.run(mdp, named, 10), T.run(mdp, composed, 10)
    np.testing.assert_allclose(a.f, b.f, rtol=1e-12)
    np.testing.assert_allclose(a.step_size, b.step_size, rtol=1e-12)


EXACT_COMPOSITIONS = [
    ("ratio", "kl_reverse:constraint", "natural_linesearch"),
    ("clipped_ratio", "kl_forward:constraint", "natural"),
    ("ratio", "kl_reverse:annealed", "natural"),
    ("ratio", "kl_forward:fixed", "first_order"),
    ("ratio", "kl_reverse:fixed", "first_order"),
    ("score", "euclidean:fixed", "closed_form"),
    ("ratio", "euclidean:fixed", "natural"),
    ("clipped_ratio", "kl_reverse:shani", "first_order"),
    ("ratio", "kl_forward:adaptive", "natural"),
    ("score", "kl_reverse:constraint", "natural_linesearch"),
    ("ratio", "kl_reverse:adaptive", "closed_form"),
    ("clipped_ratio", "kl_forward:annealed", "first_order"),
]


@pytest.mark.parametrize("args", EXACT_COMPOSITIONS, ids="/".join)
def test_exact_compositions_decrease_the_cost(args: tuple[str, str, str]) -> None:
    mdp = T.garnet(12, 3, 2, gamma=0.9, seed=5)
    alg = T.compose(*args, beta=1.0, learning_rate=0.5, delta=0.05)
    h = T.run(mdp, alg, 40)
    assert np.all(np.isfinite(h.f)) and h.f[-1] < h.f[0] - 1e-3
    assert h.algorithm == "/".join(args)


def test_exact_first_order_solves_the_same_prox_problem_as_the_closed_form() -> None:
    """Gradient descent on ratio + KL(π‖π_k)/t converges to the mirror step π ∝ π_k e^{−tA}
    (block math: the surrogate, the reverse KL and the closed form agree)."""
    mdp = T.garnet(8, 3, 2, gamma=0.9, seed=1)
    theta = np.random.default_rng(0).normal(size=(mdp.n_states, mdp.n_actions))
    ev = T.evaluate(mdp, T.softmax_np(theta))
    closed = T.compose("ratio", "kl_reverse:fixed", "closed_form", beta=2.0)
    iterative = T.compose("ratio", "kl_reverse:fixed", "first_order", beta=2.0,
                          optimizer="sgd", learning_rate=10.0, n_epochs=5000)  # fmt: skip
    a, _ = closed.step(mdp, closed.init(mdp, theta), 0, ev)
    b, _ = iterative.step(mdp, iterative.init(mdp, theta), 0, ev)
    np.testing.assert_allclose(T.softmax_np(b.theta), T.softmax_np(a.theta), atol=1e-10)


def test_exact_trpo_with_reverse_kl_respects_its_own_constraint() -> None:
    mdp = T.garnet(20, 4, 3, gamma=0.95, seed=2)
    alg = T.compose("ratio", "kl_reverse:constraint", "natural_linesearch", delta=0.02)
    state = alg.init(mdp, np.zeros((mdp.n_states, mdp.n_actions)))
    f = []
    for k in range(15):
        ev = T.evaluate(mdp, T.softmax_np(state.theta))
        f.append(float(ev.f))
        new, _ = alg.step(mdp, state, k, ev)
        reverse = T.kl_rho(ev.rho, T.softmax_np(new.theta), T.softmax_np(state.theta))
        assert float(reverse) <= 0.02 + 1e-12
        state = new
    assert f[-1] < f[0]


# ------------------------------------------------------------------ entry points


def test_every_entry_point_takes_the_spelling() -> None:
    from policyopt.experiments import RunSpec

    spelled = "ratio/kl_reverse:constraint/natural_linesearch"
    spec = RunSpec(spelled, "CartPole-v1", use_preset=False, overrides={"delta": 0.02})
    assert spec.algo == "composed" and spec.overrides["proximity"] == "kl_reverse"
    cfg = spec.config()
    assert cfg.composition == make_config(spelled).composition and cfg.delta == 0.02
    with pytest.raises(ConfigError, match=r"config\.proximity: 'kl_forward' contradicts"):
        make_config(spelled, proximity="kl_forward")


def test_cli_trains_and_tabulates_compositions(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from policyopt.cli import app

    runner = CliRunner()
    spelled = "clipped_ratio/kl_forward:constraint/natural"
    res = runner.invoke(
        app,
        ["train", spelled, "CartPole-v1", "--steps", "256", "--runs-dir", str(tmp_path),
         "--set", "num_envs=2", "--set", "num_steps=64", "--set", "vf_batch_size=64",
         "--set", "vf_epochs=1", "--set", "eval_episodes=1"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    run = tmp_path / "clipped_ratio+kl_forward-constraint+natural-CartPole-v1"
    assert '"surrogate": "clipped_ratio"' in (run / "config.json").read_text()
    res = runner.invoke(
        app,
        ["tabular", "--algos", f"trpo,{spelled}", "--iters", "20", "--out", str(tmp_path / "t"),
         "--set", "composed.delta=0.05"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert (tmp_path / "t" / "clipped_ratio+kl_forward-constraint+natural.csv").exists()
    res = runner.invoke(app, ["train", "ratio/kl_forward:constraint/first_order", "CartPole-v1"])
    assert res.exit_code == 2 and "cannot enforce a constraint" in res.output


def test_a_sweep_takes_spelled_compositions_with_file_safe_trial_names() -> None:
    from policyopt.experiments.sweep import load_sweep, make_trials

    root = Path(__file__).parents[1]
    trials = make_trials(load_sweep(root / "examples/sweeps/compositions_cartpole.yaml"))
    assert len(trials) == 8 and all("/" not in t.name and ":" not in t.name for t in trials)
    spelled = [t for t in trials if t.name.startswith("ratio+kl_reverse-constraint")]
    assert spelled and spelled[0].spec.algo == "composed"
    assert spelled[0].spec.config().composition.proximity == "kl_reverse"


def test_a_penalty_rule_left_on_a_constraint_is_ignored_not_a_crash() -> None:
    """``coefficient`` only matters for a penalty: a leftover ``adaptive`` on a constraint once
    reached the β update with no β in the learner (a KeyError at trace time)."""
    cfg = compose("ratio", "kl_forward:constraint", "natural", coefficient="adaptive",
                  env_id="CartPole-v1", **TINY)  # fmt: skip
    out = _first_update(cfg)
    assert "train/beta" not in out and np.all(np.isfinite(out["train/kl_forward"]))
