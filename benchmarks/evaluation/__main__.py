"""``python -m benchmarks.evaluation``: see the package's docstring."""

from .cli import main

main()
