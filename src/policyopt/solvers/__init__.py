"""Solvers of the proximal subproblem ``argmin_θ surrogate(θ; θ_k) + proximity(θ, θ_k)``.

* :func:`minibatch_epochs`: epochs × shuffled minibatches of an optax optimiser (PPO, PPO-KL,
  A2C, MDPO);
* :func:`natural_direction` (``cg``, ``dense``, ``krylov``, ``hessian_free``) with
  :func:`step_size_trust_region` or :func:`step_size_fixed`: the natural-gradient step of NPG
  and TRPO (:func:`conjugate_gradient` is ``cg``);
* :func:`backtracking_line_search`: TRPO's check of the real KL and surrogate.
"""

from policyopt.solvers.directions import (
    FISHER_SOLVERS,
    Direction,
    adapt_damping,
    natural_direction,
)
from policyopt.solvers.first_order import FirstOrderResult, minibatch_epochs
from policyopt.solvers.linesearch import LineSearchInfo, backtracking_line_search
from policyopt.solvers.natural import (
    CGInfo,
    conjugate_gradient,
    step_size_fixed,
    step_size_trust_region,
)

__all__ = [
    "FISHER_SOLVERS",
    "CGInfo",
    "Direction",
    "FirstOrderResult",
    "LineSearchInfo",
    "adapt_damping",
    "backtracking_line_search",
    "conjugate_gradient",
    "minibatch_epochs",
    "natural_direction",
    "step_size_fixed",
    "step_size_trust_region",
]
