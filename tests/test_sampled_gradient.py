"""The deep pipeline's sampled policy gradient converges to the tabular engine's exact gradient.

A TabularMDP becomes a JAX environment whose episodes restart from μ with probability 1−γ after
every transition (a truncation: the GAE bootstraps from the true next state). The stationary
state distribution of that chain is exactly d^π = (1−γ)ρ^π, so with a softmax-table "network",
the exact critic V^π and GAE(λ=0), the score surrogate's gradient is an unbiased estimate of
(1−γ)·∇V^π(μ) in reward form, i.e. −(1−γ)·∇f in the paper's cost form.
"""

import jax
import jax.numpy as jnp
import numpy as np

from policyopt import tabular as T
from policyopt.distributions import Categorical
from policyopt.estimators import batched_gae
from policyopt.surrogates import score_loss


def test_sampled_score_gradient_matches_exact_policy_gradient() -> None:
    mdp = T.garnet(5, 3, 3, gamma=0.8, seed=7)
    theta = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    exact_grad = T.policy_gradient(mdp, theta)  # cost form, unnormalised ρ
    V = -jnp.asarray(T.evaluate(mdp, T.softmax_np(theta)).V, jnp.float32)  # reward-form value
    P = jnp.asarray(mdp.P, jnp.float32)
    reward = jnp.asarray(-mdp.cost, jnp.float32)
    mu = jnp.asarray(mdp.mu, jnp.float32)
    gamma = mdp.gamma
    n_envs, n_steps, burn_in = 2048, 256, 64

    def policy(th, s):
        return Categorical(logits=th[s])

    def step(carry, key):
        s, th = carry
        k_a, k_s, k_r, k_mu = jax.random.split(key, 4)
        a = policy(th, s).sample(k_a)
        s_next = jax.random.categorical(k_s, jnp.log(P[s, a] + 1e-30))
        restart = jax.random.uniform(k_r, s.shape) > gamma
        s_reset = jax.random.categorical(k_mu, jnp.log(mu + 1e-30), shape=s.shape)
        out = (s, a, reward[s, a], s_next, restart)
        return (jnp.where(restart, s_reset, s_next), th), out

    @jax.jit
    def estimate(key):
        th = jnp.asarray(theta)
        k0, k1, k2 = jax.random.split(key, 3)
        s0 = jax.random.categorical(k0, jnp.log(mu + 1e-30), shape=(n_envs,))
        (s, _), _ = jax.lax.scan(step, (s0, th), jax.random.split(k1, burn_in))
        _, (s_t, a_t, r_t, s_tp1, trunc) = jax.lax.scan(
            step, (s, th), jax.random.split(k2, n_steps)
        )
        adv = batched_gae(r_t, V[s_t], V[s_tp1], jnp.zeros_like(trunc), trunc, gamma, 0.0)

        def loss(th):
            return score_loss(policy(th, s_t).log_prob(a_t).ravel(), adv.ravel())

        return jax.grad(loss)(th)

    sampled = np.mean([np.asarray(estimate(jax.random.PRNGKey(i))) for i in range(4)], axis=0)
    # score_loss = −E[log π · Â] (reward) ⇒ its gradient estimates −(1−γ)∇V_reward = (1−γ)∇f_cost.
    target = (1 - gamma) * exact_grad
    rel = np.linalg.norm(sampled - target) / np.linalg.norm(target)
    assert rel < 0.03, (rel, sampled, target)
