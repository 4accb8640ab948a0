"""Search strategies, one per file, all on the ask/tell protocol of BaseStrategy."""

from .base import BaseStrategy
from .evolution import EvolutionStrategy
from .random_search import RandomStrategy
from .registry import STRATEGIES, get, register

for _cls in (RandomStrategy, EvolutionStrategy):
    register(_cls)

__all__ = ["STRATEGIES", "BaseStrategy", "EvolutionStrategy", "RandomStrategy", "get", "register"]
