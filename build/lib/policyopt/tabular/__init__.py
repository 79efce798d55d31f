"""Exact level: finite MDPs with known P, cost and γ (the paper's cost convention).

V, Q, A, ρ, the policy gradient (1), the Fisher matrix, KL^ρ / KL^max and every update rule
of the paper in closed form, checked against theory in the tests.
"""

from policyopt.tabular.algorithms import (
    ALGORITHMS,
    MDPO,
    NPG,
    PG,
    PPOKL,
    TRPO,
    AdaptiveTRPO,
    AlgoState,
    PPOClip,
    StepInfo,
    make_algorithm,
    npg_closed_form,
)
from policyopt.tabular.envs import (
    MDPS,
    chain,
    cliffwalking,
    frozenlake,
    garnet,
    gridworld,
    make_mdp,
    taxi,
)
from policyopt.tabular.exact import (
    Evaluation,
    Optimum,
    evaluate,
    fisher,
    fisher_dense,
    kl_max,
    kl_per_state,
    kl_rho,
    optimal,
    policy_gradient,
    soft_optimal,
    softmax_np,
    uniform_policy,
)
from policyopt.tabular.mdp import MDPValidationError, TabularMDP
from policyopt.tabular.run import History, run, write_csv

__all__ = [
    "ALGORITHMS",
    "MDPO",
    "MDPS",
    "NPG",
    "PG",
    "PPOKL",
    "TRPO",
    "AdaptiveTRPO",
    "AlgoState",
    "Evaluation",
    "History",
    "MDPValidationError",
    "Optimum",
    "PPOClip",
    "StepInfo",
    "TabularMDP",
    "chain",
    "cliffwalking",
    "evaluate",
    "fisher",
    "fisher_dense",
    "frozenlake",
    "garnet",
    "gridworld",
    "kl_max",
    "kl_per_state",
    "kl_rho",
    "make_algorithm",
    "make_mdp",
    "npg_closed_form",
    "optimal",
    "policy_gradient",
    "run",
    "soft_optimal",
    "softmax_np",
    "taxi",
    "uniform_policy",
    "write_csv",
]
