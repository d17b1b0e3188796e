"""The benchmarks run and print their figures (their targets are read by people, not asserted)."""

import re
import subprocess
import sys

import pytest
from conftest import TEMPLATE


@pytest.mark.slow
def test_the_generation_benchmark_prints_both_rates_and_their_ratio():
    result = subprocess.run(
        [sys.executable, "benchmarks/generate_throughput.py", "--prompts", "2", "--max-new-tokens", "8"],
        cwd=TEMPLATE,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rates = re.findall(r"(\d+) tokens in +[\d.]+ s = +([\d.]+) tokens/s", result.stdout)
    assert len(rates) == 2 and all(int(tokens) > 0 for tokens, _ in rates), result.stdout
    assert re.search(r"ratio kto/plain +: \d+\.\d\d", result.stdout), result.stdout


@pytest.mark.slow
def test_the_annotation_benchmark_prints_both_rates_and_their_ratio():
    result = subprocess.run(
        [sys.executable, "benchmarks/annotate_throughput.py", "--records", "20"],
        cwd=TEMPLATE,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(re.findall(r"[\d.]+ s = +[\d.]+ records/s", result.stdout)) == 2, result.stdout
    assert re.search(r"ratio kto/SDK +: \d+\.\d\d", result.stdout), result.stdout
