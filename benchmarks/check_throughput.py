"""Responses/s of `kto check`: every quality gate over 10,000 responses in 5 languages (Dutch,
Japanese, Russian, Arabic, Hindi), a rendered Dutch haiku project, 5 models per prompt.

Prints the command's wall time (start-up and loading the language detector's models included),
then, in-process with the models loaded, every gate, and language detection alone over the same
texts: the baseline the gates add to.
Target: 10,000 responses in under 10 s on 2 cores.

    .venv/bin/python benchmarks/check_throughput.py [--responses 10000]
"""

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import yaml
from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parents[1]
LANGUAGES = ("nl", "ja", "ru", "ar", "hi")
MODELS = 5
warnings.filterwarnings("ignore")


def synthetic_generations(count: int, seed: int = 11) -> list[dict]:
    """Haiku-like answers of three lines cut from each language file's starter prompts; now and
    then one empty, one in prose, or a copy of another model's answer."""
    rng = random.Random(seed)
    words = {}
    for code in LANGUAGES:
        data = yaml.safe_load((TEMPLATE / "languages" / f"{code}.yaml").read_text(encoding="utf-8"))
        words[code] = " ".join(data["starter_prompts"]).split()
    rows = []
    for number in range(count // MODELS):
        code = LANGUAGES[number % len(LANGUAGES)]
        answers = []
        for _ in range(MODELS):
            lines = [" ".join(rng.sample(words[code], rng.randint(2, 5))) for _ in range(3)]
            roll = rng.random()
            text = "" if roll < 0.03 else " ".join(lines) if roll < 0.15 else "\n".join(lines)
            answers.append(answers[-1] if answers and roll > 0.97 else text)
        rows.append(
            {
                "input": f"{' '.join(rng.sample(words[code], 6))} ({number})",
                "generation_model": [f"team/model-{m}" for m in range(MODELS)],
                "generation_prompt": ["-"] * MODELS,
                "raw_generation_responses": answers,
                "generations": [answer or None for answer in answers],
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=10_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        dutch = {"language_code": "nl"}
        project = Path(cookiecutter(str(TEMPLATE), no_input=True, output_dir=folder, extra_context=dutch))
        sys.path.insert(0, str(project / "src"))
        from kto import gates
        from kto.config import load_config
        from kto.responses import write_rows

        rows = synthetic_generations(args.responses)
        count = len(rows) * MODELS
        write_rows(rows, project / "data" / "generations.parquet")

        start = time.perf_counter()
        command = subprocess.run(
            [sys.executable, "-m", "kto", "check", "--examples", "0"],
            cwd=project,
            env={**os.environ, "PYTHONPATH": str(project / "src"), "HF_HUB_OFFLINE": "1"},
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - start
        if command.returncode:
            sys.exit(command.stderr)

        config = load_config(project / "project.yaml")
        for text in [text for row in rows[:50] for text in row["generations"] if text]:
            gates.detect_language(text, "nl")  # its models loaded, as in a long-running process
        start = time.perf_counter()
        report = gates.run(config, rows)
        in_process = time.perf_counter() - start
        texts = [verdict.text for verdict in report.verdicts if verdict.text.strip()]
        gates.detect_language.cache_clear()  # the gates' run remembered every text's language
        start = time.perf_counter()
        for text in texts:
            gates.detect_language(text, "nl")
        detection = time.perf_counter() - start

    for name, seconds in (("kto check (the command)  ", wall), ("gates in-process         ", in_process)):
        print(f"{name}: {count} responses in {seconds:6.2f} s = {count / seconds:8.0f} responses/s")
    print(
        f"language detection alone: {len(texts)} responses in {detection:6.2f} s = "
        f"{len(texts) / detection:8.0f} responses/s"
    )
    ratio = in_process / detection
    print(f"ratio gates/detection   : {ratio:.2f}; target: {count} in under 10 s (the command)")
    # The language models load on first use, which is CPU-bound: a busy machine stretches it.
    print("load average (1, 5, 15 min): " + ", ".join(f"{load:.1f}" for load in os.getloadavg()))


if __name__ == "__main__":
    main()
