"""`kto prompts generate` against a remote writer's latency, next to a plain AsyncOpenAI loop.

The writer is the test suite's OpenAI-compatible stand-in (tests/fake_provider.py): each answer
after a mean of 1 s (+/- 0.3 s) holds eight lines, of which a share are new English prompts and
the rest repeats, one-letter variants and prompts in another language, as a real writer mixes them.
kto runs as a user runs it (its own process, start-up, gates and writing included) at the default
concurrency; the baseline (benchmarks/plain_openai_loop.py) sends the same number of requests
(those kto sent, the ones in flight when it had enough included) through `openai.AsyncOpenAI` at
the same concurrency, with no gates, and writes the answers. Prints prompts kept per second,
requests per kept prompt, and the ratio plain/kto of the times: with the plain loop timed as a
process of its own (Python's start and openai's import included, as kto's are; the goal is 0.9)
and by its loop alone. Then kto once more on the same project, which asks nothing: its time is
start-up, the gates on every answer and the language detector's model load, which no request
overlaps then (in a run it loads in a child process while the first requests are out).

    .venv/bin/python benchmarks/prompts_generate.py [--n 1000] [--latency 1.0] [--new 5]
"""

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TEMPLATE / "tests"))
from conftest import published_template  # noqa: E402

sys.dont_write_bytecode = True  # cookiecutter would render bytecode left in the template folder
sys.path.insert(0, str(TEMPLATE / "{{cookiecutter.project_slug}}" / "tests"))
sys.path.insert(0, str(TEMPLATE / "{{cookiecutter.project_slug}}" / "src"))

from fake_provider import FakeProvider  # noqa: E402
from kto.config import DEFAULT_CONCURRENCY  # noqa: E402

WRITER = "bench/writer"
# Fresh prompts name three things of sixty and a time of day: two of them share a frame, as a
# writer's prompts do, yet rarely fall within a near repeat's few edits of each other.
THINGS = [
    "heron",
    "owl",
    "fox",
    "hare",
    "otter",
    "badger",
    "swallow",
    "salmon",
    "beetle",
    "moth",
    "wren",
    "seal",
    "deer",
    "crow",
    "lynx",
    "kettle",
    "lantern",
    "bicycle",
    "ferry",
    "chimney",
    "orchard",
    "marsh",
    "quarry",
    "meadow",
    "lighthouse",
    "vineyard",
    "glacier",
    "canyon",
    "chapel",
    "bakery",
    "library",
    "market",
    "harbour",
    "bridge",
    "tram",
    "umbrella",
    "violin",
    "letter",
    "compass",
    "blanket",
    "teapot",
    "mirror",
    "ladder",
    "garden",
    "river",
    "island",
    "station",
    "tunnel",
    "attic",
    "window",
    "festival",
    "wedding",
    "funeral",
    "classroom",
    "hospital",
    "factory",
    "stadium",
    "kitchen",
]
TIMES = ["dawn", "noon", "dusk", "midnight", "the first frost", "a monsoon night", "the harvest", "low tide"]
OTHER = ["Schrijf een haiku over de zee bij nacht.", "Escribe un haiku sobre la lluvia de otoño."]


def writer(new: int):
    """A writer whose answer to a request is the same in every run: ``new`` fresh prompts, then
    an exact repeat, a one-letter variant and a prompt in another language."""

    def reply(request: str) -> str:
        rng = random.Random(hashlib.sha256(request.encode()).digest())
        fresh = [
            "Write a haiku about the {}, the {} and the {} at {}.".format(
                *rng.sample(THINGS, 3), rng.choice(TIMES)
            )
            for _ in range(new)
        ]
        variant = fresh[0][:-3] + "x" + fresh[0][-2:]
        return "\n".join([*fresh, fresh[0].upper(), variant, rng.choice(OTHER)])

    return reply


def render_project(folder: Path, url: str) -> Path:
    project = Path(cookiecutter(str(published_template()), no_input=True, output_dir=str(folder)))
    config_path = project / "project.yaml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config["generation"]["models"] = [{"id": WRITER, "backend": "openai", "base_url": url}]
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return project


def run_kto(project: Path, n: int) -> tuple[float, str]:
    """(seconds, kto's last line: what it kept and dropped); a second call asks nothing."""
    env = {**os.environ, "PYTHONPATH": str(project / "src"), "HF_HUB_OFFLINE": "1"}
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "kto", "prompts", "generate", "--n", str(n)],
        cwd=project,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    kept = (project / "prompts" / "generated.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(kept) == n and all(json.loads(line)["prompt"] for line in kept), "kto kept too few"
    return seconds, result.stderr.strip().splitlines()[-1]


def plain_loop(url: str, requests: int, concurrency: int) -> tuple[float, float]:
    """(the plain loop's process's seconds, its loop's seconds)."""
    script = Path(__file__).with_name("plain_openai_loop.py")
    with tempfile.TemporaryDirectory() as folder:
        arguments = [url, WRITER, str(requests), str(concurrency), str(Path(folder) / "answers.jsonl")]
        start = time.perf_counter()
        result = subprocess.run(
            [sys.executable, str(script), *arguments],
            check=True,
            capture_output=True,
            text=True,
        )
        return time.perf_counter() - start, float(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="prompts to keep")
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--new", type=int, default=5, help="new prompts in each answer of eight lines")
    args = parser.parse_args()
    served = FakeProvider(
        models=[WRITER], latency=args.latency, jitter=0.3 * args.latency, replies={WRITER: writer(args.new)}
    )
    url = served.start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            project = render_project(Path(folder), url)
            kto_seconds, summary = run_kto(project, args.n)
            requests = served.attempts.total()
            fixed_seconds, again = run_kto(project, args.n)
            assert "nothing asked" in again and served.attempts.total() == requests, again
    finally:
        served.stop()
    plain = FakeProvider(
        models=[WRITER], latency=args.latency, jitter=0.3 * args.latency, replies={WRITER: writer(args.new)}
    )
    url = plain.start()
    try:
        plain_seconds, loop_seconds = plain_loop(url, requests, DEFAULT_CONCURRENCY)
    finally:
        plain.stop()
    print(
        f"{args.n} prompts wanted; the writer answers in {args.latency:g} s +/- 30 % with {args.new} new "
        f"prompts in 8 lines; concurrency {DEFAULT_CONCURRENCY}, {os.cpu_count()} CPUs"
    )
    print(
        f"kto prompts generate : {args.n} kept in {kto_seconds:6.1f} s = "
        f"{args.n / kto_seconds:7.1f} prompts/s"
    )
    print(f"requests per kept    : {requests} requests / {args.n} kept = {requests / args.n:.3f}")
    print(f"kto said             : {summary}")
    print(
        f"plain AsyncOpenAI    : {requests} requests in {plain_seconds:6.1f} s as a process, "
        f"{loop_seconds:.1f} s of it in its loop"
    )
    print(
        f"ratio plain/kto      : {plain_seconds / kto_seconds:.2f} (both processes: goal >= 0.90); "
        f"{loop_seconds / kto_seconds:.2f} against the loop alone"
    )
    print(f"kto asking nothing   : {fixed_seconds:6.1f} s (start, imports, gates, detector load)")


if __name__ == "__main__":
    main()
