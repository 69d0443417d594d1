"""composer.planner: pure functions from a Project to orders and plans.

Import submodules directly (``composer.planner.graph``): networkx is costly to
import and commands that only read state must not pay for it.
"""
