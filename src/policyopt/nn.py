"""Actor and critic networks: separate MLPs with orthogonal initialisation.

Policies are ``apply(params, obs) -> distribution`` (see :mod:`policyopt.distributions`), so
every surrogate, divergence and solver works on any policy without knowing its layers.
Initialisation follows stable-baselines3 / CleanRL: orthogonal weights with gain √2 in hidden
layers, 0.01 for the policy head (near-uniform initial policy) and 1 for the value head.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from policyopt.distributions import Categorical, DiagGaussian
from policyopt.errors import check_choice

__all__ = ["ACTIVATIONS", "MLP", "ActionSpec", "Networks", "make_networks"]

ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "tanh": jnp.tanh,
    "relu": jax.nn.relu,
    "elu": jax.nn.elu,
    "gelu": jax.nn.gelu,
    "silu": jax.nn.silu,
}

Params = Any


@dataclass(frozen=True)
class ActionSpec:
    """What the policy outputs: ``n`` discrete actions, or a ``n``-dim box with bounds."""

    kind: str  # "discrete" | "continuous"
    n: int
    low: tuple[float, ...] | None = None
    high: tuple[float, ...] | None = None

    @property
    def discrete(self) -> bool:
        return self.kind == "discrete"


class MLP(nn.Module):
    """``hidden`` layers of ``activation`` then a linear head of ``out`` units."""

    hidden: Sequence[int]
    out: int
    activation: str = "tanh"
    head_scale: float = 1.0

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        act = ACTIVATIONS[self.activation]
        for width in self.hidden:
            x = act(nn.Dense(width, kernel_init=nn.initializers.orthogonal(np.sqrt(2)))(x))
        return nn.Dense(self.out, kernel_init=nn.initializers.orthogonal(self.head_scale))(x)


class _GaussianActor(nn.Module):
    hidden: Sequence[int]
    action_dim: int
    activation: str
    log_std_init: float

    @nn.compact
    def __call__(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        mean = MLP(self.hidden, self.action_dim, self.activation, 0.01)(x)
        log_std = self.param(
            "log_std", nn.initializers.constant(self.log_std_init), (self.action_dim,)
        )
        return mean, log_std


@dataclass(frozen=True)
class Networks:
    """Pure functions of the actor and the critic, and how to initialise them."""

    init_actor: Callable[[jax.Array, jax.Array], Params]
    init_critic: Callable[[jax.Array, jax.Array], Params]
    policy: Callable[[Params, jax.Array], Categorical | DiagGaussian]
    value: Callable[[Params, jax.Array], jax.Array]


def make_networks(
    spec: ActionSpec,
    hidden: Sequence[int] = (64, 64),
    activation: str = "tanh",
    critic_hidden: Sequence[int] | None = None,
    log_std_init: float = 0.0,
) -> Networks:
    """Separate actor and critic MLPs for ``spec`` (categorical or diagonal Gaussian)."""
    check_choice("networks", "activation", activation, ACTIVATIONS)
    critic = MLP(tuple(critic_hidden or hidden), 1, activation, 1.0)
    actor: MLP | _GaussianActor
    policy: Callable[[Params, jax.Array], Categorical | DiagGaussian]
    if spec.discrete:
        actor = MLP(tuple(hidden), spec.n, activation, 0.01)

        def policy(params: Params, obs: jax.Array) -> Categorical:
            return Categorical(logits=cast(jax.Array, actor.apply(params, obs)))

    else:
        actor = _GaussianActor(tuple(hidden), spec.n, activation, log_std_init)

        def policy(params: Params, obs: jax.Array) -> DiagGaussian:
            mean, log_std = cast(tuple[jax.Array, jax.Array], actor.apply(params, obs))
            return DiagGaussian(mean=mean, log_std=jnp.broadcast_to(log_std, mean.shape))

    def value(params: Params, obs: jax.Array) -> jax.Array:
        return cast(jax.Array, critic.apply(params, obs))[..., 0]

    return Networks(init_actor=actor.init, init_critic=critic.init, policy=policy, value=value)
