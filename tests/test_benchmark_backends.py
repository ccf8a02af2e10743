"""benchmarks/backends.py's bookkeeping: arguments, notebook selection and the table (no timing run here)."""
import pathlib

import pytest

from benchmark_helpers import load_benchmark

bench = load_benchmark("backends")


def test_arguments_are_checked_and_name_the_option(capsys):
    args = bench.parse_args(["--backends", "jax,torch", "--notebooks", "02,05", "--steps", "3"])
    assert args.backends == ["jax", "torch"] and args.steps == 3
    assert [p.name[:2] for p in args.notebooks] == ["02", "05"]
    assert bench.parse_args(["--notebooks", "none"]).notebooks == []
    assert len(bench.parse_args([]).notebooks) == 9
    for bad, option in [(["--backends", "numpy"], "--backends"), (["--notebooks", "42"], "--notebooks"),
                        (["--steps", "0"], "--steps"), (["--repeats", "0"], "--repeats")]:
        with pytest.raises(SystemExit):
            bench.parse_args(bad)
        assert option in capsys.readouterr().err


def test_the_table_gives_ratios_to_tensorflow_and_marks_failures():
    nb = [pathlib.Path("notebooks/02_convolution.ipynb"), pathlib.Path("notebooks/03_pooling.ipynb")]
    results = {
        "tensorflow": {"version": "2.21", "notebooks": {nb[0].name: 10.0, nb[1].name: 20.0},
                       "throughput": {"lenet5": 1000.0, "cifar": 50.0}},
        "jax": {"version": "0.10", "notebooks": {nb[0].name: 15.0, nb[1].name: None},
                "throughput": {"lenet5": 2000.0, "cifar": 25.0}},
    }
    lines = bench.table(results, nb).splitlines()
    assert lines[0] == "| | tensorflow 2.21 | jax 0.10 |"
    assert lines[2] == "| 02_convolution (fast mode) | 10 s (1.00x) | 15 s (1.50x) |"
    assert lines[3] == "| 03_pooling (fast mode) | 20 s (1.00x) | failed |"
    assert lines[4] == "| **all 2 notebooks** | 30 s (1.00x) | failed |"
    assert lines[5] == "| LeNet-5 training (05's recipe) | 1,000 img/s (1.00x) | 2,000 img/s (2.00x) |"
    assert lines[6] == "| CIFAR-10 VGG training (07's recipe) | 50 img/s (1.00x) | 25 img/s (0.50x) |"
