"""Records/s of `kto export --from BACKUP`: reading a backup, aggregating, writing KTO, DPO,
statistics, charts and the card, at 10,000 and 100,000 synthetic rated records.

Target: 100,000 records in under 5 s on 2 cores, and time growing no faster than the count.

    .venv/bin/python benchmarks/export_throughput.py [--sizes 10000 100000]
"""

import argparse
import random
import sys
import tempfile
import time
import warnings
from pathlib import Path

from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parents[1]
# The files git would publish, as users get them (no caches or bytecode from this tree).
sys.path.insert(0, str(TEMPLATE / "tests"))
from conftest import published_template  # noqa: E402

warnings.filterwarnings("ignore")


def synthetic_ratings(count: int, seed: int = 7) -> list[dict]:
    """Three answers per prompt; each record rated by two or three of five annotators."""
    rng = random.Random(seed)
    users = [f"annotator{n}" for n in range(1, 6)]
    rows = []
    for number in range(count):
        raters = rng.sample(users, rng.choice((2, 3)))
        leaning = rng.random()
        responses = [
            {"user": user, "value": "up" if rng.random() < leaning else "down", "status": "submitted"}
            for user in raters
        ]
        rows.append(
            {
                "id": f"r{number}",
                "prompt": f"Prompt {number // 3}: write a haiku about the number {number // 3}.",
                "completion": f"Answer {number}: " + "words " * 20,
                "model": f"team/model-{number % 3}",
                "prompt_id": str(number // 3),
                "language": "en",
                "status": "completed",
                "responses": responses,
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        project = Path(cookiecutter(str(published_template()), no_input=True, output_dir=folder))
        sys.path.insert(0, str(project / "src"))
        from kto import export, export_files, ratings
        from kto.config import load_config

        config = load_config(project / "project.yaml")
        policy = export.Policy.parse("majority", config.argilla.min_submitted)
        timings = {}
        for size in args.sizes:
            backup = project / f"backup-{size}.parquet"
            ratings.save(synthetic_ratings(size), backup)
            start = time.perf_counter()
            result = export.aggregate(ratings.load(backup), policy)
            export_files.write(result, config, policy, project / "data" / "export", style="standard")
            timings[size] = time.perf_counter() - start
            print(f"{size:7d} records: {timings[size]:6.2f} s = {size / timings[size]:9.0f} records/s")

    smallest, largest = min(timings), max(timings)
    growth = (timings[largest] / timings[smallest]) / (largest / smallest)
    print(
        f"time grew {timings[largest] / timings[smallest]:.1f}x for {largest // smallest}x the records",
        end=" ",
    )
    print(f"(per-record cost x{growth:.2f}: at most about 1 is linear); target: {largest} in under 5 s")


if __name__ == "__main__":
    main()
