"""Near repeats (kto.near_repeats) on the labelled corpus and on a large mixed set of prompts.

Prints, per language (and its script) and per kind of variant, the share of variants flagged as
a repeat of their own original, and the share of distinct prompts (frames shared, topics not)
flagged at all: goals at least 95 % and at most 1 %. Then the seconds the index takes for
--prompts prompts of three topics each in all eight languages, one in ten a variant of another,
as kto prompts check runs them (each looked up, then added), and what it flagged: the later of a
prompt and its variant, and any other.
Target: 20,000 prompts in at most twice the time of the MinHash index it replaced (measured back
to back on the same prompts, 2 shared cores, load average 7-11: 24.6-31.2 s for it, 14.9-19.2 s
for this index).

    .venv/bin/python benchmarks/near_repeats.py [--prompts 20000]
"""

import argparse
import os
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1] / "{{cookiecutter.project_slug}}"
sys.path[:0] = [str(PROJECT / "src"), str(PROJECT / "tests")]

from kto.near_repeats import RepeatIndex  # noqa: E402
from near_repeat_corpus import KINDS, SCRIPTS, measure, mixed  # noqa: E402


def share(counts: list[int]) -> str:
    flagged, total = counts
    return f"{flagged:>4}/{total:<4} {100 * flagged / total:5.1f} %"


def print_figures() -> None:
    figures = measure()
    columns = ["distinct", *KINDS]
    print(f"{'language':<9}{'script':<14}" + "".join(f"{name:<24}" for name in columns))
    for language, script in SCRIPTS.items():
        cells = [figures.distinct[language]] + [figures.variants[language, kind] for kind in KINDS]
        print(f"{language:<9}{script:<14}" + "".join(f"{share(cell):<24}" for cell in cells))


def print_timing(count: int) -> None:
    """The later of a prompt and its variant should be flagged, and no other prompt."""
    labelled = mixed(count)
    start = time.perf_counter()
    index = RepeatIndex()
    flagged = [index.check(text, str(number)) is not None for number, (text, _) in enumerate(labelled)]
    seconds = time.perf_counter() - start
    seen: set[int] = set()
    copies, others = [0, 0], [0, 0]
    for found, (_, group) in zip(flagged, labelled, strict=True):
        counts = copies if group in seen else others
        counts[0], counts[1] = counts[0] + found, counts[1] + 1
        seen.add(group)
    print(
        f"\n{count} prompts in {seconds:.1f} s = {count / seconds:.0f} prompts/s, each looked up then added"
    )
    print(f"flagged: variants of an earlier prompt {share(copies)}; the others {share(others)}")
    print("load average (1, 5, 15 min): " + ", ".join(f"{load:.1f}" for load in os.getloadavg()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=20_000)
    args = parser.parse_args()
    print_figures()
    print_timing(args.prompts)


if __name__ == "__main__":
    main()
