"""nasnb: watch, steer and explain neural architecture search in Jupyter.

The top level stays light (no torch import): spaces, strategies, Search and the run log.
"""

__version__ = "0.1.0"

from .budget import Budget  # noqa: E402
from .resume import resume_search  # noqa: E402
from .runs import Run, load_run  # noqa: E402
from .search import Search  # noqa: E402
from .search_checks import SearchFailed  # noqa: E402
from .spaces import Architecture, CellSpace, ChainSpace, HyperSpace, ProductSpace, get_space  # noqa: E402
from .trial import Proposal, Trial  # noqa: E402


def __getattr__(name: str):
    if name == "load_model":  # imports torch, so only on first use
        from .deploy.models import load_model

        return load_model
    raise AttributeError(f"module 'nasnb' has no attribute {name!r}")


__all__ = [
    "Architecture",
    "Budget",
    "CellSpace",
    "ChainSpace",
    "HyperSpace",
    "ProductSpace",
    "Proposal",
    "Run",
    "Search",
    "SearchFailed",
    "Trial",
    "__version__",
    "get_space",
    "load_model",
    "load_run",
    "resume_search",
]
