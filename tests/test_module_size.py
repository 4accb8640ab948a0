"""No module of the library over 400 lines (issue 16): a module that grows past it holds two concepts.

The limit is a review rule made executable, so a change that crosses it fails here and is split
along a real seam (see docs/architecture.md for how the earlier splits were cut) instead of being
noticed in a later review.
"""

from pathlib import Path

LIMIT = 400
PACKAGE = Path(__file__).resolve().parent.parent / "nasnb"


def test_no_module_is_over_the_limit():
    sizes = {
        path.relative_to(PACKAGE.parent).as_posix(): len(path.read_text().splitlines())
        for path in PACKAGE.rglob("*.py")
    }
    assert len(sizes) > 50  # the package was found
    over = {name: n for name, n in sorted(sizes.items()) if n > LIMIT}
    assert not over, f"modules over {LIMIT} lines (split them along a real seam): {over}"
