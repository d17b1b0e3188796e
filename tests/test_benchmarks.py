"""The benchmarks run and print their figures (their targets are read by people, not asserted)."""

import re
import subprocess
import sys

import pytest
from conftest import TEMPLATE


def run_benchmark(script: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, f"benchmarks/{script}", *args],
        cwd=TEMPLATE,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.mark.slow
def test_the_generation_benchmark_prints_both_rates_and_their_ratio():
    out = run_benchmark("generate_throughput.py", "--prompts", "2", "--max-new-tokens", "8")
    rates = re.findall(r"(\d+) tokens in +[\d.]+ s = +([\d.]+) tokens/s", out)
    assert len(rates) == 2 and all(int(tokens) > 0 for tokens, _ in rates), out
    assert re.search(r"ratio kto/plain +: \d+\.\d\d", out), out


@pytest.mark.slow
def test_the_annotation_benchmark_prints_both_rates_and_their_ratio():
    out = run_benchmark("annotate_throughput.py", "--records", "20")
    assert len(re.findall(r"[\d.]+ s = +[\d.]+ records/s", out)) == 2, out
    assert re.search(r"ratio kto/SDK +: \d+\.\d\d", out), out


def test_the_export_benchmark_prints_rates_and_growth():
    out = run_benchmark("export_throughput.py", "--sizes", "200", "2000")
    assert len(re.findall(r"\d+ records: +[\d.]+ s = +\d+ records/s", out)) == 2, out
    assert re.search(r"per-record cost x\d+\.\d\d", out), out


def test_the_check_benchmark_prints_rates_and_their_ratio():
    out = run_benchmark("check_throughput.py", "--responses", "200")
    assert len(re.findall(r"\d+ responses in +[\d.]+ s = +\d+ responses/s", out)) == 3, out
    assert re.search(r"ratio gates/detection +: \d+\.\d\d", out), out


@pytest.mark.slow
def test_the_prompts_benchmark_prints_its_rates_and_ratio():
    out = run_benchmark("prompts_generate.py", "--n", "30", "--latency", "0.05")
    assert re.search(r"30 kept in +[\d.]+ s = +[\d.]+ prompts/s", out), out
    assert re.search(r"\d+ requests / 30 kept = \d+\.\d{3}", out), out
    assert re.search(
        r"ratio plain/kto +: \d+\.\d\d \(both processes.*\); \d+\.\d\d against the loop alone", out
    ), out
    assert re.search(r"in +[\d.]+ s as a process, [\d.]+ s of it in its loop", out), out


def test_the_community_benchmark_prints_both_times_and_their_ratio():
    out = run_benchmark("community_list.py", "--datasets", "40", "--latency", "0.01")
    assert out.startswith("40 campaigns, 10 ms per request") or "\n40 campaigns, 10 ms per request" in out, (
        out
    )
    assert len(re.findall(r": +[\d.]+ s = +\d+ datasets/s", out)) == 2, out
    assert re.search(r"ratio one-by-one/concurrent: \d+\.\dx", out), out


@pytest.mark.slow
def test_the_eval_benchmark_prints_both_times_and_their_ratio():
    out = run_benchmark("eval_remote.py", "--prompts", "8", "--latency", "0.05")
    assert re.search(r"plain AsyncOpenAI +[\d.]+ s, kto eval +[\d.]+ s, ratio plain/kto \d+\.\d\d", out), out
    assert "asked twice: 0" in out, out


@pytest.mark.slow
def test_the_watch_benchmark_prints_events_per_second_and_the_push_lag():
    out = run_benchmark("watch_throughput.py", "--events", "200", "--seconds", "5")
    assert re.search(r"journalled 200 events in +[\d.]+ s = +\d+ events/s", out), out
    assert re.search(r"lag from answer to push: max [\d.]+ s, mean [\d.]+ s", out), out
