"""Built-in finite MDPs: random Garnets, a chain, a gridworld and Gymnasium's toy-text tables.

Gymnasium environments are episodic; the paper's MDP is infinite-horizon. A Gymnasium
transition flagged ``terminated`` is therefore routed to one extra absorbing, zero-cost state
(the last index), which makes the discounted value equal the expected discounted episodic
return. Rewards become costs (``cost = −reward``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from policyopt.errors import ConfigError, suggest
from policyopt.tabular.mdp import TabularMDP

__all__ = [
    "MDPS",
    "chain",
    "cliffwalking",
    "from_gymnasium",
    "frozenlake",
    "garnet",
    "gridworld",
    "make_mdp",
    "taxi",
]


def garnet(
    n_states: int = 20, n_actions: int = 4, branching: int = 3, gamma: float = 0.9, seed: int = 0
) -> TabularMDP:
    """Random Garnet MDP (Archibald et al. 1995) as used by the theory papers.

    Each (s, a) moves to ``branching`` distinct random successors with probabilities from a
    uniform Dirichlet; costs are uniform in [0, 1] (so the Agarwal et al. bounds apply to the
    cost = 1 − reward version); μ is uniform.
    """
    if not 1 <= branching <= n_states:
        raise ConfigError(
            "garnet", "branching", f"must be in [1, n_states={n_states}], got {branching}"
        )
    rng = np.random.default_rng(seed)
    P = np.zeros((n_states, n_actions, n_states))
    for s in range(n_states):
        for a in range(n_actions):
            succ = rng.choice(n_states, size=branching, replace=False)
            P[s, a, succ] = rng.dirichlet(np.ones(branching))
    cost = rng.uniform(0.0, 1.0, size=(n_states, n_actions))
    return TabularMDP(
        P, cost, gamma, np.full(n_states, 1.0 / n_states), name=f"garnet-{n_states}x{n_actions}"
    )


def chain(n_states: int = 10, gamma: float = 0.95, slip: float = 0.0) -> TabularMDP:
    """A chain with a tempting local optimum (Strens 2000, the "chain" exploration problem).

    Action 0 ("back") returns to state 0 with reward 0.2; action 1 ("forward") moves one state
    right with reward 0, and in the last state stays there with reward 1. With probability
    ``slip`` an action does the other's transition. Starts in state 0. Softmax PG spends a long
    plateau here (cf. Li et al. 2021), NPG does not.
    """
    # Rewards belong to the transition taken, not to the action asked for: "back" earns 0.2,
    # "forward" earns 1 in the last state and 0 elsewhere, whichever action produced it.
    P = np.zeros((n_states, 2, n_states))
    reward = np.zeros((n_states, 2))
    for s in range(n_states):
        nxt = min(s + 1, n_states - 1)
        forward_reward = 1.0 if s == n_states - 1 else 0.0
        P[s, 0, 0] += 1 - slip
        P[s, 0, nxt] += slip
        P[s, 1, nxt] += 1 - slip
        P[s, 1, 0] += slip
        reward[s, 0] = (1 - slip) * 0.2 + slip * forward_reward
        reward[s, 1] = (1 - slip) * forward_reward + slip * 0.2
    mu = np.zeros(n_states)
    mu[0] = 1.0
    return TabularMDP.from_reward(P, reward, gamma, mu, name=f"chain-{n_states}")


def gridworld(size: int = 5, slip: float = 0.1, gamma: float = 0.95) -> TabularMDP:
    """A ``size × size`` grid: start top-left, goal bottom-right (reward 1, then absorbing).

    Actions up/right/down/left; with probability ``slip`` a uniformly random direction is taken
    instead. Every other step costs 0.
    """
    n = size * size
    goal = n - 1
    moves = [(-1, 0), (0, 1), (1, 0), (0, -1)]
    P = np.zeros((n + 1, 4, n + 1))
    reward = np.zeros((n + 1, 4))

    def target(s: int, m: tuple[int, int]) -> int:
        r, c = divmod(s, size)
        r2, c2 = min(max(r + m[0], 0), size - 1), min(max(c + m[1], 0), size - 1)
        return r2 * size + c2

    for s in range(n):
        for a in range(4):
            probs = np.full(4, slip / 4)
            probs[a] += 1 - slip
            for b, p in enumerate(probs):
                if s == goal:
                    continue
                P[s, a, target(s, moves[b])] += p
            if s == goal:
                P[s, a, n] = 1.0
                reward[s, a] = 1.0
    P[n, :, n] = 1.0
    mu = np.zeros(n + 1)
    mu[0] = 1.0
    return TabularMDP.from_reward(P, reward, gamma, mu, name=f"gridworld-{size}")


def from_gymnasium(env_id: str, gamma: float = 0.99, **kwargs: Any) -> TabularMDP:
    """A toy-text environment's transition table ``env.unwrapped.P`` as a :class:`TabularMDP`.

    ``P[s][a]`` lists ``(prob, next_state, reward, terminated)``; terminated transitions go to
    an added absorbing state. μ is the environment's ``initial_state_distrib`` when it has one
    (FrozenLake, Taxi), else a point mass on its start state (CliffWalking).
    """
    import gymnasium as gym

    env = gym.make(env_id, **kwargs).unwrapped
    table = env.P  # type: ignore[attr-defined]  # toy-text envs only
    S = len(table)
    A = len(table[0])
    absorbing = S
    P = np.zeros((S + 1, A, S + 1))
    reward = np.zeros((S + 1, A))
    for s in range(S):
        for a in range(A):
            for prob, nxt, rew, terminated in table[s][a]:
                P[s, a, absorbing if terminated else int(nxt)] += prob
                reward[s, a] += prob * rew
    P[absorbing, :, absorbing] = 1.0
    mu = np.zeros(S + 1)
    if hasattr(env, "initial_state_distrib"):
        mu[:S] = np.asarray(env.initial_state_distrib, dtype=np.float64)
    else:
        mu[int(getattr(env, "start_state_index", 0))] = 1.0
    mu /= mu.sum()
    env.close()
    return TabularMDP.from_reward(P, reward, gamma, mu, name=env_id)


def frozenlake(gamma: float = 0.95, is_slippery: bool = True, map_name: str = "4x4") -> TabularMDP:
    """FrozenLake-v1 (slippery by default): reward 1 for reaching the goal."""
    return from_gymnasium("FrozenLake-v1", gamma=gamma, is_slippery=is_slippery, map_name=map_name)


def taxi(gamma: float = 0.95) -> TabularMDP:
    """Taxi-v3: 500 states, 6 actions."""
    return from_gymnasium("Taxi-v3", gamma=gamma)


def cliffwalking(gamma: float = 0.95) -> TabularMDP:
    """CliffWalking-v1: −1 per step, −100 and back to start on the cliff."""
    return from_gymnasium("CliffWalking-v1", gamma=gamma)


MDPS: dict[str, Callable[..., TabularMDP]] = {
    "frozenlake": frozenlake,
    "taxi": taxi,
    "cliffwalking": cliffwalking,
    "garnet": garnet,
    "chain": chain,
    "gridworld": gridworld,
}


def make_mdp(name: str, **kwargs: Any) -> TabularMDP:
    """Build a built-in MDP by its CLI name; unknown names list the valid ones."""
    if name not in MDPS:
        raise ConfigError(
            "tabular", "mdp", f"unknown {name!r}; valid: {', '.join(MDPS)}{suggest(name, MDPS)}"
        )
    return MDPS[name](**kwargs)
