"""`kto eval` against remote models' latency, next to a plain AsyncOpenAI loop.

The base, the tuned model and the judge are the test suite's OpenAI-compatible stand-in
(tests/fake_provider.py): every answer after a mean of 1 s (+/- 0.3 s), with no limit of its own
on concurrency; the judge prefers the tuned model's answer in either position. kto runs as a user
runs it (its own process, process start, the preflight, the journal and writing included) at the
default concurrency, with the language gate off (its cost is benchmarks/check_throughput.py's).
The baseline sends the same requests through `openai.AsyncOpenAI` at the same concurrency per
model: both models' answers, then the judge's two orders of each pair (the judge needs both
answers first, as in kto). Target: ratio plain/kto >= 0.9.

    .venv/bin/python benchmarks/eval_remote.py [--prompts 500] [--latency 1.0]
"""

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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
from kto.config import DEFAULT_CONCURRENCY, load_config  # noqa: E402
from kto.judge import pair_judge  # noqa: E402

BASE, TUNED, JUDGE = "bench/base", "bench/tuned", "bench/judge"


def prefers_tuned(text: str) -> str:
    return "1" if text.index(f"answer of {TUNED}") < text.index(f"answer of {BASE}") else "2"


def provider(latency: float) -> FakeProvider:
    return FakeProvider(
        models=[BASE, TUNED, JUDGE], latency=latency, jitter=0.3 * latency, replies={JUDGE: prefers_tuned}
    )


def render_project(folder: Path, url: str, prompts: list[str]) -> Path:
    project = Path(cookiecutter(str(published_template()), no_input=True, output_dir=str(folder)))
    config_path = project / "project.yaml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config["eval"] = {
        role: {"id": model, "backend": "openai", "base_url": url}
        for role, model in (("base", BASE), ("tuned", TUNED), ("judge", JUDGE))
    }
    config["checks"]["language"] = "off"
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    (project / "bench_prompts.txt").write_text("\n".join(prompts) + "\n", encoding="utf-8")
    return project


def run_kto(project: Path, prompts: int) -> float:
    env = {**os.environ, "PYTHONPATH": str(project / "src"), "HF_HUB_OFFLINE": "1"}
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "kto", "eval", "--prompts", "bench_prompts.txt"],
        cwd=project,
        env=env,
        check=True,
        capture_output=True,
    )
    seconds = time.perf_counter() - start
    report = json.loads((project / "data/eval/report.json").read_text(encoding="utf-8"))
    assert report["wins"] == prompts, f"kto left gaps: {report['wins']} wins of {prompts}"
    return seconds


async def plain_loop(url: str, project: Path, prompts: list[str]) -> float:
    """The same requests: the task's system prompt and each prompt to both models, then kto's
    judge prompt in both orders of each pair."""
    from openai import AsyncOpenAI

    config = load_config(project / "project.yaml")
    judge = pair_judge(config, local=False)
    client = AsyncOpenAI(base_url=url, api_key="none", max_retries=5)
    limits = {model: asyncio.Semaphore(DEFAULT_CONCURRENCY) for model in (BASE, TUNED, JUDGE)}

    async def ask(model: str, messages: list[dict], max_tokens: int) -> str:
        async with limits[model]:
            reply = await client.chat.completions.create(
                model=model, messages=messages, max_tokens=max_tokens
            )
            return reply.choices[0].message.content or ""

    def chat(prompt: str) -> list[dict]:
        return [
            {"role": "system", "content": config.task.system_prompt},
            {"role": "user", "content": prompt},
        ]

    start = time.perf_counter()
    tokens = config.generation.max_new_tokens
    answers = await asyncio.gather(
        *(ask(model, chat(prompt), tokens) for prompt in prompts for model in (BASE, TUNED))
    )
    pairs = zip(prompts, answers[0::2], answers[1::2], strict=True)
    texts = [
        judge.text(prompt=prompt, first=first, second=second)
        for prompt, base, tuned in pairs
        for first, second in ((tuned, base), (base, tuned))
    ]
    verdicts = await asyncio.gather(
        *(ask(JUDGE, [{"role": "user", "content": text}], judge.max_new_tokens) for text in texts)
    )
    assert all(verdicts)
    seconds = time.perf_counter() - start
    await client.close()
    return seconds


def measure(prompts: list[str], latency: float) -> tuple[float, float, int]:
    """(plain seconds, kto seconds, requests kto asked twice), each against a fresh provider."""
    with tempfile.TemporaryDirectory() as folder:
        plain = provider(latency)
        url = plain.start()
        try:
            project = render_project(Path(folder), url, prompts)
            plain_seconds = asyncio.run(plain_loop(url, project, prompts))
        finally:
            plain.stop()
        served = provider(latency)
        url = served.start()
        try:
            project = render_project(Path(folder) / "kto", url, prompts)
            kto_seconds = run_kto(project, len(prompts))
        finally:
            served.stop()
    return plain_seconds, kto_seconds, len(served.asked_twice())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=500)
    parser.add_argument("--latency", type=float, default=1.0)
    args = parser.parse_args()
    prompts = [f"Write a haiku about morning number {n}." for n in range(args.prompts)]
    print(
        f"{4 * args.prompts} requests: {args.prompts} prompts x (base, tuned, judge twice), latency "
        f"{args.latency:g} s +/- 30 %, concurrency {DEFAULT_CONCURRENCY} per model, {os.cpu_count()} CPUs"
    )
    plain, kto, twice = measure(prompts, args.latency)
    print(
        f"plain AsyncOpenAI {plain:6.1f} s, kto eval {kto:6.1f} s, "
        f"ratio plain/kto {plain / kto:.2f} (target >= 0.90); asked twice: {twice}"
    )


if __name__ == "__main__":
    main()
