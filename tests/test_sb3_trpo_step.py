"""Our TRPO step against sb3-contrib's on the same rollout (the peer whose numbers we compare).

sb3-contrib's TRPO constrains ``kl_divergence(new, old).mean()``, and for a diagonal Gaussian
SB3's ``kl_divergence`` returns the KL *per action dimension* (it does not sum them), so the
mean runs over the batch and the n action dimensions: its δ bounds KL/n, and its Fisher is
F/n beside an undivided damping λ. Solving (F/n + λ)x = g with √(2δ/xᵀ(F/n+λ)x) is, exactly,
our step with δ·n and λ·n (multiply the system by n). So sb3-contrib's "target_kl 0.01" on
Ant (n = 8) is a joint-policy KL of 0.08 per update: the reason rl-zoo3's TRPO numbers on
MuJoCo need ``delta = 0.01·n`` here (:mod:`policyopt.presets`), measured below on the
environment's own rollout, parameters copied from SB3's policy into ours.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sb3_contrib")
pytest.importorskip("Box2D")


def _sb3_actor_to_ours(sd: dict[str, np.ndarray]) -> dict:
    def dense(w: str, b: str) -> dict:
        return {"kernel": sd[w].T, "bias": sd[b]}

    mlp = {
        "Dense_0": dense("mlp_extractor.policy_net.0.weight", "mlp_extractor.policy_net.0.bias"),
        "Dense_1": dense("mlp_extractor.policy_net.2.weight", "mlp_extractor.policy_net.2.bias"),
        "Dense_2": dense("action_net.weight", "action_net.bias"),
    }
    return {"params": {"MLP_0": mlp, "log_std": sd["log_std"]}}


def _sb3_critic_to_ours(sd: dict[str, np.ndarray]) -> dict:
    def dense(w: str, b: str) -> dict:
        return {"kernel": sd[w].T, "bias": sd[b]}

    return {
        "params": {
            "Dense_0": dense("mlp_extractor.value_net.0.weight", "mlp_extractor.value_net.0.bias"),
            "Dense_1": dense("mlp_extractor.value_net.2.weight", "mlp_extractor.value_net.2.bias"),
            "Dense_2": dense("value_net.weight", "value_net.bias"),
        }
    }


def test_sb3_contrib_trpo_step_is_ours_with_delta_and_damping_times_action_dim() -> None:
    import jax
    import jax.numpy as jnp
    from sb3_contrib import TRPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.distributions import kl_divergence
    from stable_baselines3.common.env_util import make_vec_env

    from policyopt.algorithms import Batch, divergence, make_recipe
    from policyopt.configs import hparams, make_config
    from policyopt.nn import ActionSpec, make_networks

    torch.manual_seed(0)
    n_act, delta, damping = 4, 0.01, 0.1  # BipedalWalker-v3: 4 action dimensions
    env = make_vec_env("BipedalWalker-v3", n_envs=1, seed=0)
    model = TRPO("MlpPolicy", env, n_steps=512, batch_size=128, n_critic_updates=1,
                 target_kl=delta, cg_damping=damping, cg_max_steps=25, seed=0,
                 device="cpu")  # fmt: skip

    class Nop(BaseCallback):
        def _on_step(self) -> bool:
            return True

    _, callback = model._setup_learn(512, Nop())
    callback.on_training_start(locals(), globals())
    model.collect_rollouts(env, callback, model.rollout_buffer, n_rollout_steps=512)
    buf = model.rollout_buffer

    def state() -> dict[str, np.ndarray]:
        return {k: v.detach().clone().numpy() for k, v in model.policy.state_dict().items()}

    # the rollout as SB3 stored it ([steps, 1 env]); train() flattens its buffer in place
    flat = [buf.observations[:, 0], buf.actions[:, 0], *(x[:, 0] for x in (
        buf.log_probs, buf.advantages, buf.returns, buf.values))]  # fmt: skip
    batch = Batch(*(jnp.asarray(np.array(x), jnp.float32) for x in flat))
    before = state()
    model.train()
    after = state()

    spec = ActionSpec("continuous", n_act, (-1.0,) * n_act, (1.0,) * n_act)
    nets = make_networks(spec, (64, 64), "tanh")
    actor_k = jax.tree.map(jnp.asarray, _sb3_actor_to_ours(before))
    sb3_step = jax.tree.map(jnp.asarray, _sb3_actor_to_ours(after))

    # what sb3-contrib bounds: SB3's per-dimension KL averaged over batch *and* dimensions
    dist_k = nets.policy(actor_k, batch.obs)
    # KL(new ‖ old), the direction sb3-contrib's constraint takes
    ours_kl = float(divergence("kl_reverse", nets, actor_k, sb3_step, batch.obs, dist_k))
    with torch.no_grad():
        model.policy.load_state_dict({k: torch.as_tensor(v) for k, v in after.items()})
        # SB3 reuses one distribution object per policy: a shallow copy keeps this one
        new = copy.copy(model.policy.get_distribution(torch.as_tensor(np.asarray(batch.obs))))
        model.policy.load_state_dict({k: torch.as_tensor(v) for k, v in before.items()})
        old = model.policy.get_distribution(torch.as_tensor(np.asarray(batch.obs)))
        per_dim = kl_divergence(new, old)
    assert per_dim.shape == (512, n_act)  # not summed over the action dimensions
    assert float(per_dim.mean()) == pytest.approx(ours_kl / n_act, rel=1e-4)

    def our_step(d: float, lam: float) -> dict:
        cfg = make_config("trpo", env_id="BipedalWalker-v3", num_envs=1, num_steps=512,
                          vf_batch_size=128, vf_epochs=1, cg_iters=25, damping=lam,
                          delta=d)  # fmt: skip
        hp = hparams(cfg)
        recipe = make_recipe(cfg, nets)
        learner = recipe.init(jax.random.PRNGKey(0), jax.random.PRNGKey(1), batch.obs[:1], hp)
        critic = jax.tree.map(jnp.asarray, _sb3_critic_to_ours(before))
        learner = learner.replace(actor=actor_k, critic=critic)
        out, _ = recipe.update(learner, batch, jax.random.PRNGKey(2), hp, jnp.float32(0.0),
                               jnp.int32(0))  # fmt: skip
        return jax.tree.map(np.asarray, out.actor)

    def step_error(ours: dict) -> float:
        diff = jax.tree.map(lambda a, b, k: (a - k) - (b - k), ours, sb3_step, actor_k)
        size = jax.tree.map(lambda b, k: b - k, sb3_step, actor_k)
        sq = jax.tree_util.tree_reduce(lambda s, x: s + float(np.sum(np.square(x))), diff, 0.0)
        norm = jax.tree_util.tree_reduce(lambda s, x: s + float(np.sum(np.square(x))), size, 0.0)
        return float(np.sqrt(sq / norm))

    # sb3-contrib starts CG at 1e-4·N(0, 1) instead of 0, so not bit for bit (measured: 2e-6)
    assert step_error(our_step(delta * n_act, damping * n_act)) < 1e-4
    assert step_error(our_step(delta, damping)) > 0.2  # the same numbers in our units differ


def test_the_paper_runs_sb3_contrib_trpo_with_our_delta_in_its_units() -> None:
    """``sb3_equivalent`` (the paper's sb3-contrib TRPO beside ours) divides δ and the damping
    by the action dimensions of a Box space; discrete actions take them as they are."""
    from policyopt.configs import make_config
    from policyopt.experiments.paper import sb3_equivalent

    cfg = make_config("trpo", delta=0.08, damping=0.8)
    _, discrete = sb3_equivalent(cfg)
    _, box = sb3_equivalent(cfg, action_dims=8)
    assert (discrete["target_kl"], discrete["cg_damping"]) == (0.08, 0.8)
    assert box["target_kl"] == pytest.approx(0.01) and box["cg_damping"] == pytest.approx(0.1)
