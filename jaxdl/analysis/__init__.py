"""Analysis tools: optimisation test functions (more arrive with the theory issue)."""

from jaxdl.analysis.test_functions import TEST_FUNCTIONS, TestFunction, beale, rastrigin, rosenbrock, trajectory

__all__ = ["TEST_FUNCTIONS", "TestFunction", "beale", "rastrigin", "rosenbrock", "trajectory"]
