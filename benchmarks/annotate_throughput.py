"""Records/s of `kto annotate` against a plain Argilla SDK `dataset.records.log(...)`.

Both log the same records into fresh datasets with the same settings, on the same local server
(started by `kto argilla up`), in the same run; two alternating rounds, best of each. The SDK
baseline logs prepared flat dicts with its default batch size (256, as kto); kto's figure is its
whole command, process start and reading the generations file included. Target: ratio >= 0.9.

    .venv/bin/python benchmarks/annotate_throughput.py [--records 2000]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import yaml
from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parents[1]
# The files git would publish, as users get them (no caches or bytecode from this tree).
sys.path.insert(0, str(TEMPLATE / "tests"))
from conftest import published_template  # noqa: E402

# The SDK's progress bar and notes would bury the figures (tqdm reads this on first import).
os.environ.setdefault("TQDM_DISABLE", "1")
warnings.filterwarnings("ignore")


def kto(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(project / "src"), "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "kto", *args], cwd=project, env=env, check=True, capture_output=True
    )


def set_dataset(project: Path, name: str) -> None:
    path = project / "project.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["argilla"]["dataset"] = name
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2000)
    args = parser.parse_args()
    prompts = args.records // 2

    with tempfile.TemporaryDirectory() as folder:
        project = Path(cookiecutter(str(published_template()), no_input=True, output_dir=folder))
        sys.path.insert(0, str(project / "src"))
        import argilla as rg
        from kto import annotation, argilla_client, argilla_dataset
        from kto.config import load_config
        from kto.responses import write_rows

        answers = [[f"Answer {m} to prompt {p}: " + "words " * 30 for m in range(2)] for p in range(prompts)]
        rows = [
            {
                "input": f"Prompt {p}: write a haiku about the number {p}.",
                "generation_model": ["team/model-a", "team/model-b"],
                "generation_prompt": [f"Prompt {p}"] * 2,
                "raw_generation_responses": answers[p],
                "generations": answers[p],
            }
            for p in range(prompts)
        ]
        write_rows(rows, project / "data" / "generations.parquet")
        kto(project, "argilla", "up")
        try:
            config = load_config(project / "project.yaml")
            client = argilla_client.connect(config)
            records = list(annotation.records(rows, config.language.code))
            # The SDK's own plain form: flat dicts, matched to fields and metadata by name.
            flat = [{"id": record["id"], **record["fields"], **record["metadata"]} for record in records]
            sdk_best = kto_best = float("inf")
            for round_ in (1, 2):
                dataset = rg.Dataset(
                    name=f"sdk-{round_}",
                    workspace="argilla",
                    settings=argilla_dataset.settings(config, client),
                    client=client,
                ).create()
                start = time.perf_counter()
                dataset.records.log(flat, batch_size=256)
                sdk_best = min(sdk_best, time.perf_counter() - start)

                set_dataset(project, f"kto-{round_}")
                start = time.perf_counter()
                kto(project, "annotate")
                kto_best = min(kto_best, time.perf_counter() - start)
        finally:
            kto(project, "argilla", "down")

    sdk_rate, kto_rate = len(records) / sdk_best, len(records) / kto_best
    print(f"{len(records)} records into fresh datasets on a local Argilla 2.8, best of 2 rounds")
    print(f"plain SDK records.log : {sdk_best:6.2f} s = {sdk_rate:7.1f} records/s")
    print(f"kto annotate (command): {kto_best:6.2f} s = {kto_rate:7.1f} records/s")
    print(f"ratio kto/SDK         : {kto_rate / sdk_rate:.2f} (target >= 0.90)")


if __name__ == "__main__":
    main()
