"""``kto generate --ray``: the same work as a distilabel pipeline on a Ray cluster.

``run`` takes and returns what the engine's ``run`` does (``kto.engine.fill_gaps`` picks one).
Each slot gets its own branch (load -> ChatGeneration) holding only the prompts it still lacks,
as the chats the engine would send.
Answers reach the journal a batch at a time, as each batch arrives back in this process: on a
cluster the workers run on other machines, where the journal's file is not.
"""

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from distilabel.models.llms.base import LLM
from distilabel.pipeline import RayPipeline
from distilabel.steps import LoadDataFromDicts
from distilabel.steps.tasks import ChatGeneration

from kto.backends import build_llm
from kto.config import ProjectConfig
from kto.jobs import Answered, Job, Messages, prompt_seen
from kto.journal import Journal
from kto.responses import Response

# Small batches keep the journal and the progress bar moving.
BATCH_SIZE = 8


class SlotGeneration(ChatGeneration):
    """ChatGeneration for one model slot.

    Its own docstring matters: distilabel looks up BibTeX for the arXiv links in a step's
    docstring at the end of each run, which needs the network (and bs4).
    """


class JournaledRayPipeline(RayPipeline):
    """Hands each batch of a leaf step to ``on_batch`` as it arrives in this process.

    distilabel has no public hook for that; ``_process_batch`` is where every batch passes
    (distilabel is pinned to its last release, 1.5.3, so this private method stays put).
    """

    on_batch: Callable[[str, list[dict]], None] | None = None

    def _process_batch(self, batch, send_last_batch_flag: bool = True) -> None:
        super()._process_batch(batch, send_last_batch_flag)
        if self.on_batch and batch.step_name in self.dag.leaf_steps and batch.data:
            self.on_batch(batch.step_name, batch.data[0])


def step_name(index: int) -> str:
    return f"generate_{index}"


def pipeline_name(jobs: list[Job]) -> str:
    """A name of the work itself, so that runs over other work never share distilabel's folders."""
    work = json.dumps([[job.slot.id, job.prompts] for job in jobs], ensure_ascii=False)
    return f"kto-generate-{hashlib.sha256(work.encode()).hexdigest()[:16]}"


def llms(
    jobs: list[Job], config: ProjectConfig, max_new_tokens: int, choices: tuple[str, ...] | None = None
) -> dict[str, LLM]:
    """Each job's distilabel LLM, by slot id."""
    return {job.slot.id: build_llm(job.slot, config, max_new_tokens, choices) for job in jobs}


def build(jobs: list[Job], llms: dict[str, LLM], messages: Messages, cache_dir: Path) -> JournaledRayPipeline:
    with JournaledRayPipeline(name=pipeline_name(jobs), cache_dir=cache_dir) as pipeline:
        for index, job in enumerate(jobs):
            load = LoadDataFromDicts(
                name=f"load_{index}",
                data=[{"prompt": prompt, "messages": messages(prompt)} for prompt in job.prompts],
                batch_size=BATCH_SIZE,
            )
            generate = SlotGeneration(
                name=step_name(index), llm=llms[job.slot.id], input_batch_size=BATCH_SIZE
            )
            load >> generate
    return pipeline


def run(
    jobs: list[Job],
    models: dict[str, LLM],
    journal: Journal,
    *,
    messages: Messages,
    stall_timeout: float,
    answered: Answered,
) -> dict[str, str]:
    """As ``kto.engine.run``. ``stall_timeout`` is not watched here: each LLM has its own timeout
    and retries, and distilabel gives a failed call as a ``None`` answer without its error."""
    from datasets.utils.logging import disable_progress_bar

    os.environ.setdefault("DISTILABEL_LOG_LEVEL", "WARNING")
    disable_progress_bar()  # datasets' bars while distilabel builds its result; ours is enough
    # The journal, not distilabel's cache, is what resumes a run: the cache lives for one run only.
    cache = Path(tempfile.mkdtemp(prefix="kto-ray-"))
    pipeline = build(jobs, models, messages, cache)
    slot_of_step = {step_name(index): job.slot for index, job in enumerate(jobs)}
    errors: dict[str, str] = {}

    def on_batch(step: str, rows: list[dict]) -> None:
        slot = slot_of_step[step]
        for row in rows:
            if row["generation"] is None:
                errors.setdefault(slot.id, "the pipeline gave no answer (distilabel's log names the error)")
            else:
                journal.add(
                    row["prompt"], slot.id, Response(prompt_seen(slot, row["messages"]), row["generation"])
                )
            answered(slot.id, row["generation"] is not None)

    pipeline.on_batch = on_batch
    try:
        pipeline.run(use_cache=False)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return errors
