"""Completion tokens/s of `kto generate --local` against a plain loop of llama.cpp calls.

Both answer the same prompts, with the same system prompt, model, temperatures and token
budget; both are timed from start to finish (process start, model load, writing included for
kto) and their answers are counted by the same tokenizer. Target: ratio >= 0.8 at 32 prompts x
2 model slots.

    .venv/bin/python benchmarks/generate_throughput.py [--prompts 32] [--slots 2] [--max-new-tokens 64]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pyarrow.parquet as pq
import yaml
from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parents[1]
# The files git would publish, as users get them (no caches or bytecode from this tree).
sys.path.insert(0, str(TEMPLATE / "tests"))
from conftest import published_template  # noqa: E402

# distilabel 1.5.3's field declarations under newer pydantic: noise around the figures.
warnings.filterwarnings("ignore", message="The 'default' attribute with value None")


def render_project(folder: Path, slots: int, max_new_tokens: int) -> Path:
    project = Path(cookiecutter(str(published_template()), no_input=True, output_dir=str(folder)))
    config_path = project / "project.yaml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    first = config["generation"]["models"][0]
    config["generation"]["models"] = [{**first, "id": f"{first['id']}-{n}"} for n in range(slots)]
    config["generation"]["max_new_tokens"] = max_new_tokens
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return project


def benchmark_prompts(project: Path, count: int) -> list[str]:
    starter = [
        json.loads(line)["prompt"] for line in (project / "prompts/starter.jsonl").read_text().splitlines()
    ]
    # Numbered past the starter set, so every prompt is distinct and none is answered from a cache.
    return [starter[i % len(starter)] + (f" ({i})" if i >= len(starter) else "") for i in range(count)]


def run_kto(project: Path, prompts_file: Path) -> tuple[float, list[str]]:
    env = {**os.environ, "PYTHONPATH": str(project / "src"), "HF_HUB_OFFLINE": "1"}
    command = [
        sys.executable,
        "-m",
        "kto",
        "generate",
        "--local",
        "--prompts",
        str(prompts_file),
    ]
    start = time.perf_counter()
    subprocess.run(command, cwd=project, env=env, check=True, capture_output=True)
    seconds = time.perf_counter() - start
    rows = pq.read_table(project / "data/dry-run/generations.parquet").to_pylist()
    return seconds, [text for row in rows for text in row["raw_generation_responses"] if text]


def run_plain_loop(project: Path, prompts: list[str]) -> tuple[float, list[str]]:
    sys.path.insert(0, str(project / "src"))
    from kto import local_model
    from kto.config import load_config
    from llama_cpp import Llama

    config = load_config(project / "project.yaml")
    start = time.perf_counter()
    local_model.prepare()  # as kto does: our chat format, weight repacking as KTO_LLAMA_REPACK says
    llm = Llama(
        model_path=str(local_model.model_path()),
        chat_format=local_model.CHAT_FORMAT,
        n_ctx=config.generation.local.n_ctx,
        n_threads=os.cpu_count(),
        verbose=False,
    )
    answers = []
    for slot in config.generation.local_slots():
        for prompt in prompts:
            messages = [
                {"role": "system", "content": config.task.system_prompt},
                {"role": "user", "content": prompt},
            ]
            completion = llm.create_chat_completion(
                messages=messages,
                max_tokens=config.generation.max_new_tokens,
                temperature=slot.temperature,
                repeat_penalty=config.generation.local.repeat_penalty,
            )
            answers.append(completion["choices"][0]["message"]["content"])
    return time.perf_counter() - start, answers


def count_tokens(texts: list[str], model_path: Path) -> int:
    from llama_cpp import Llama

    tokenizer = Llama(model_path=str(model_path), vocab_only=True, verbose=False)
    return sum(len(tokenizer.tokenize(text.encode(), add_bos=False)) for text in texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=32)
    parser.add_argument("--slots", type=int, default=2)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        project = render_project(Path(folder), args.slots, args.max_new_tokens)
        prompts = benchmark_prompts(project, args.prompts)
        prompts_file = project / "benchmark_prompts.txt"
        prompts_file.write_text("\n".join(prompts) + "\n", encoding="utf-8")

        plain_seconds, plain_answers = run_plain_loop(project, prompts)
        kto_seconds, kto_answers = run_kto(project, prompts_file)

        from kto.local_model import model_path

        plain_tokens = count_tokens(plain_answers, model_path())
        kto_tokens = count_tokens(kto_answers, model_path())

    plain_rate, kto_rate = plain_tokens / plain_seconds, kto_tokens / kto_seconds
    setup = f"{args.prompts} prompts x {args.slots} slots, <= {args.max_new_tokens} new tokens"
    print(f"{setup}, {os.cpu_count()} CPUs")
    for name, tokens, seconds in (
        ("plain llama.cpp loop", plain_tokens, plain_seconds),
        ("kto generate --local", kto_tokens, kto_seconds),
    ):
        print(f"{name} : {tokens:6d} tokens in {seconds:6.1f} s = {tokens / seconds:6.1f} tokens/s")
    print(f"ratio kto/plain      : {kto_rate / plain_rate:.2f} (target >= 0.80)")


if __name__ == "__main__":
    main()
