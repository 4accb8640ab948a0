"""The explorer: an ipywidgets + bqplot dashboard that steers a live search and replays a recorded one.

This is the only part of nasnb that imports ipywidgets and bqplot (``pip install nasnb[widgets]``);
nothing else imports it. Each view is a pure function computing its plot data (importable from
``nasnb.widgets.views`` and tested without a browser) plus a thin bqplot renderer.
"""

try:
    import bqplot  # noqa: F401
    import ipywidgets  # noqa: F401
except ImportError as err:  # pragma: no cover - depends on the installation
    raise ImportError(
        f"the nasnb explorer needs ipywidgets and bqplot ({err}); install them with "
        "`pip install 'nasnb[widgets]'` (or `pip install ipywidgets bqplot`)"
    ) from err

from .driver import SearchDriver, population_of
from .explorer import Explorer
from .frame import Frame
from .replay import ReplayCursor
from .throttle import Throttle

__all__ = ["Explorer", "Frame", "ReplayCursor", "SearchDriver", "Throttle", "population_of"]
