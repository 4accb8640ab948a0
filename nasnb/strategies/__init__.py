"""Search strategies, one per file, all on the ask/tell protocol of BaseStrategy.

Each one records *why* it proposed what it did, so a course can show random search, evolution,
reinforcement learning, Bayesian optimisation, multi-fidelity and multi-objective search side
by side. ``objectives`` holds the Pareto and scalarisation helpers that any strategy can use.
"""

from .base import BaseStrategy
from .bayesian import BayesianStrategy, GPPrediction, HammingGP
from .evolution import EvolutionStrategy
from .halving import HalvingStrategy, HyperbandStrategy
from .multi_objective import NSGA2Strategy
from .objectives import (
    ScalarizedEvaluator,
    crowding_distance,
    dominates,
    non_dominated_sort,
    pareto_front,
    scalarized,
)
from .prescreen import PrescreenStrategy
from .qlearning import QLearningStrategy
from .random_search import RandomStrategy
from .registry import STRATEGIES, get, register
from .reinforce import ReinforceStrategy

for _cls in (
    RandomStrategy,
    EvolutionStrategy,
    QLearningStrategy,
    ReinforceStrategy,
    BayesianStrategy,
    HalvingStrategy,
    HyperbandStrategy,
    NSGA2Strategy,
    PrescreenStrategy,
):
    register(_cls)

__all__ = [
    "STRATEGIES",
    "BaseStrategy",
    "BayesianStrategy",
    "EvolutionStrategy",
    "HalvingStrategy",
    "GPPrediction",
    "HammingGP",
    "HyperbandStrategy",
    "NSGA2Strategy",
    "PrescreenStrategy",
    "QLearningStrategy",
    "RandomStrategy",
    "ReinforceStrategy",
    "ScalarizedEvaluator",
    "crowding_distance",
    "dominates",
    "get",
    "non_dominated_sort",
    "pareto_front",
    "register",
    "scalarized",
]
