"""`kto generate` against a remote provider's latency, next to a plain AsyncOpenAI loop.

The provider is the test suite's OpenAI-compatible stand-in (tests/fake_provider.py): every
answer after a mean of 1 s (+/- 0.3 s), with no limit of its own on concurrency, and in a second
round with 10 % of first attempts answered 429 with Retry-After: 1. kto runs as a user runs it
(its own process, process start and writing included) with 3 model slots at the default
concurrency; the baseline asks the same requests through `openai.AsyncOpenAI` with the same total
concurrency. Target: ratio >= 0.9 at 3,000 requests.

    .venv/bin/python benchmarks/generate_remote.py [--prompts 1000] [--latency 1.0]
"""

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
import yaml
from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parents[1]
# The files git would publish, as users get them (no caches or bytecode from this tree).
sys.path.insert(0, str(TEMPLATE / "tests"))
from conftest import published_template  # noqa: E402

sys.dont_write_bytecode = True  # cookiecutter would render bytecode left in the template folder
sys.path.insert(0, str(TEMPLATE / "{{cookiecutter.project_slug}}" / "tests"))
sys.path.insert(0, str(TEMPLATE / "{{cookiecutter.project_slug}}" / "src"))

from fake_provider import FakeProvider  # noqa: E402
from kto.config import DEFAULT_CONCURRENCY  # noqa: E402

MODELS = ["bench/model-a", "bench/model-b", "bench/model-c"]


def render_project(folder: Path, url: str, prompts: list[str]) -> Path:
    project = Path(cookiecutter(str(published_template()), no_input=True, output_dir=str(folder)))
    config_path = project / "project.yaml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config["generation"]["models"] = [{"id": model, "backend": "openai", "base_url": url} for model in MODELS]
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    (project / "bench_prompts.txt").write_text("\n".join(prompts) + "\n", encoding="utf-8")
    return project


def run_kto(project: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(project / "src"), "HF_HUB_OFFLINE": "1"}
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "kto", "generate", "--prompts", "bench_prompts.txt"],
        cwd=project,
        env=env,
        check=True,
        capture_output=True,
    )
    seconds = time.perf_counter() - start
    rows = pq.read_table(project / "data/generations.parquet").to_pylist()
    assert all(text for row in rows for text in row["generations"]), "kto left gaps"
    return seconds


async def plain_loop(url: str, prompts: list[str], concurrency: int) -> float:
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=url, api_key="none", max_retries=5)
    limit = asyncio.Semaphore(concurrency)

    async def ask(model: str, prompt: str) -> str:
        async with limit:
            reply = await client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": prompt}], max_tokens=128
            )
            return reply.choices[0].message.content

    start = time.perf_counter()
    answers = await asyncio.gather(*(ask(model, prompt) for model in MODELS for prompt in prompts))
    assert all(answers)
    return time.perf_counter() - start


def measure(prompts: list[str], latency: float, share_429: float) -> tuple[float, float, int]:
    """(plain seconds, kto seconds, prompts asked twice by kto), each against a fresh provider."""
    plain = FakeProvider(models=MODELS, latency=latency, jitter=0.3 * latency, share_429=share_429)
    url = plain.start()
    try:
        plain_seconds = asyncio.run(plain_loop(url, prompts, DEFAULT_CONCURRENCY * len(MODELS)))
    finally:
        plain.stop()
    served = FakeProvider(models=MODELS, latency=latency, jitter=0.3 * latency, share_429=share_429)
    url = served.start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            kto_seconds = run_kto(render_project(Path(folder), url, prompts))
    finally:
        served.stop()
    return plain_seconds, kto_seconds, len(served.asked_twice())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=1.0)
    args = parser.parse_args()
    prompts = [f"Write a haiku about morning number {n}." for n in range(args.prompts)]
    requests = len(prompts) * len(MODELS)
    print(
        f"{requests} requests: {args.prompts} prompts x {len(MODELS)} models, latency "
        f"{args.latency:g} s +/- 30 %, concurrency {DEFAULT_CONCURRENCY} per model, {os.cpu_count()} CPUs"
    )
    for label, share in (("no errors", 0.0), ("10 % 429s", 0.1)):
        plain, kto, twice = measure(prompts, args.latency, share)
        print(
            f"{label:9} : plain AsyncOpenAI {plain:6.1f} s, kto generate {kto:6.1f} s, "
            f"ratio plain/kto {plain / kto:.2f} (target >= 0.90); asked twice: {twice}"
        )


if __name__ == "__main__":
    main()
