"""Seconds for `kto community` to read 1,000 tagged campaigns from the Hub double: concurrent
info requests (kto's way) against the same requests one by one.

The double runs in its own process and answers each request after a round trip of --latency
seconds, as a distant Hub would. Goal: concurrent at least 5x faster than one by one.

    .venv/bin/python benchmarks/community_list.py [--datasets 1000] [--latency 0.02]
"""

import argparse
import multiprocessing
import os
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
LANGUAGES = ["ar", "de", "es", "fr", "hi", "id", "ja", "ko", "nl", "pt-BR", "ru", "sw", "th", "zh-Hans"]


def serve(count: int, latency: float, answer) -> None:
    """The double with ``count`` tagged campaigns (and a few untagged datasets), until killed."""
    from community_campaigns import campaign
    from hub_double import HubDouble

    double = HubDouble(latency=latency)
    for number in range(count):
        language = LANGUAGES[number % len(LANGUAGES)]
        double.add_dataset(f"team-{number}/haiku-kto-{language}", campaign(language, [f"p{number}"], []))
    for number in range(count // 10):
        double.add_dataset(f"other/untagged-{number}", {"README.md": b"---\nlicense: mit\n---\n"})
    answer.put((double.start(), double.token))
    while True:
        time.sleep(60)


def timed(workers: int) -> tuple[float, int]:
    from kto import community

    start = time.perf_counter()
    board = community.find(workers=workers)
    return time.perf_counter() - start, len(board.campaigns)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.02, help="seconds per request at the double")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        project = Path(cookiecutter(str(published_template()), no_input=True, output_dir=folder))
        sys.path[:0] = [str(project / "src"), str(project / "tests")]
        context = multiprocessing.get_context("fork")
        answer = context.Queue()
        server = context.Process(target=serve, args=(args.datasets, args.latency, answer), daemon=True)
        server.start()
        try:
            url, token = answer.get(timeout=300)
            # Read by huggingface_hub when first imported, below.
            os.environ.update(HF_ENDPOINT=url, HF_TOKEN=token, HF_HUB_OFFLINE="0", HF_HOME=folder)
            from kto.community import WORKERS

            concurrent, found = timed(WORKERS)
            one_by_one, found_again = timed(1)
        finally:
            server.kill()
    assert found == found_again == args.datasets, (found, found_again)
    print(f"{found} campaigns, {args.latency * 1000:.0f} ms per request at the double")
    print(f"concurrent ({WORKERS} in flight): {concurrent:7.2f} s = {found / concurrent:7.0f} datasets/s")
    print(f"one by one                : {one_by_one:7.2f} s = {found / one_by_one:7.0f} datasets/s")
    print(f"ratio one-by-one/concurrent: {one_by_one / concurrent:.1f}x (goal: at least 5x)")


if __name__ == "__main__":
    main()
