"""The NumPy acting path equals the JAX networks it mirrors."""

import jax
import numpy as np
import pytest

from policyopt.host_policy import HostPolicy
from policyopt.nn import ACTIVATIONS, ActionSpec, make_networks

SPECS = [ActionSpec("discrete", 4), ActionSpec("continuous", 2, (-1.0, -1.0), (1.0, 1.0))]


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
@pytest.mark.parametrize("spec", SPECS, ids=["discrete", "continuous"])
def test_forward_log_prob_and_value_match_jax(spec: ActionSpec, activation: str) -> None:
    nets = make_networks(spec, (32, 16), activation, log_std_init=-0.5)
    obs = np.random.default_rng(0).normal(size=(64, 5)).astype(np.float32)
    actor = nets.init_actor(jax.random.PRNGKey(1), obs[:1])
    critic = nets.init_critic(jax.random.PRNGKey(2), obs[:1])
    # move off the near-zero policy-head init so the test sees real logits
    actor = jax.tree.map(lambda x: x * 30.0 if x.ndim == 2 and x.shape[1] == spec.n else x, actor)
    pol = HostPolicy(spec, activation, jax.device_get(actor), jax.device_get(critic))
    dist = nets.policy(actor, obs)
    np.testing.assert_allclose(pol.value(obs), nets.value(critic, obs), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(pol.mode(obs), dist.mode(), rtol=1e-5, atol=1e-5)
    action, logp = pol.sample(obs, np.random.default_rng(3))
    np.testing.assert_allclose(logp, dist.log_prob(action), rtol=1e-4, atol=1e-4)


def test_categorical_samples_follow_the_policy() -> None:
    spec = ActionSpec("discrete", 3)
    nets = make_networks(spec, (8,), "tanh")
    obs = np.ones((1, 2), np.float32)
    actor = nets.init_actor(jax.random.PRNGKey(0), obs)
    actor = jax.tree.map(lambda x: x * 100.0 if x.ndim == 2 and x.shape[1] == 3 else x, actor)
    pol = HostPolicy(
        spec, "tanh", jax.device_get(actor), nets.init_critic(jax.random.PRNGKey(1), obs)
    )
    probs = np.asarray(nets.policy(actor, obs).probs)[0]
    draws, _ = pol.sample(np.repeat(obs, 40_000, 0), np.random.default_rng(0))
    freq = np.bincount(draws, minlength=3) / draws.size
    tolerance = 4 * np.sqrt(probs * (1 - probs) / draws.size) + 1e-4
    assert np.all(np.abs(freq - probs) <= tolerance), (freq, probs)
