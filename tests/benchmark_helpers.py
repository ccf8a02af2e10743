"""Load a script of ``benchmarks/`` as a module, so its bookkeeping can be tested without running it."""
import importlib.util
from pathlib import Path


def load_benchmark(name):
    """The module ``benchmarks/<name>.py``."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
