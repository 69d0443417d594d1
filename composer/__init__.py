"""composer: Docker Compose in Python, without Docker.

Kept import-free on purpose: `composer ps` must start fast (see DESIGN.md).
"""

__version__ = "0.1.0"
