"""``kto generate``: one distilabel TextGeneration per model slot, combined into seed-format rows.

Each slot gets its own branch (load -> generate) holding only the prompts it still lacks,
so a re-run fills gaps (a failed model, new prompts) and never duplicates a response.
``kto suggest`` runs its judge through the same pipeline.
"""

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass

from datasets.utils.logging import disable_progress_bar
from distilabel.models.llms.base import LLM
from distilabel.pipeline import Pipeline, RayPipeline
from distilabel.pipeline.base import BasePipeline
from distilabel.steps import LoadDataFromDicts
from distilabel.steps.tasks import TextGeneration

from kto.config import ModelSlot, ProjectConfig
from kto.llms import prompt_seen
from kto.responses import Response, Table

# Small batches keep the progress bar moving and lose little work if a run is killed.
BATCH_SIZE = 8

RowsDone = Callable[[str, int], None]


class _ReportsProgress:
    """Calls ``on_rows(step_name, rows)`` as each batch of a leaf step arrives in the main process.

    distilabel has no public progress hook; ``_process_batch`` is where every batch passes
    (distilabel is pinned to its last release, 1.5.3, so this private method stays put).
    """

    on_rows: RowsDone | None = None

    def _process_batch(self, batch, send_last_batch_flag: bool = True) -> None:
        super()._process_batch(batch, send_last_batch_flag)
        if self.on_rows and batch.step_name in self.dag.leaf_steps and batch.data:
            self.on_rows(batch.step_name, len(batch.data[0]))


class SlotGeneration(TextGeneration):
    """TextGeneration for one model slot.

    Its own docstring matters: distilabel looks up BibTeX for the arXiv links in a step's
    docstring at the end of each run, which needs the network (and bs4).
    """


class GenerationPipeline(_ReportsProgress, Pipeline):
    pass


class RayGenerationPipeline(_ReportsProgress, RayPipeline):
    pass


@dataclass(frozen=True)
class Job:
    index: int
    slot: ModelSlot
    prompts: list[str]

    @property
    def step(self) -> str:
        return f"generate_{self.index}"


def pipeline_name(command: str, jobs: list[Job]) -> str:
    """Name the cache folder after the work itself.

    distilabel's cache signature covers step settings but not LoadDataFromDicts' data, so
    without this a run over other prompts would be answered from the previous run's cache.
    """
    work = json.dumps([[job.slot.id, job.prompts] for job in jobs], ensure_ascii=False)
    return f"kto-{command}-{hashlib.sha256(work.encode()).hexdigest()[:16]}"


def build_pipeline(
    jobs: list[Job],
    config: ProjectConfig,
    make_llm: Callable[[ModelSlot], LLM],
    *,
    command: str = "generate",
    system_prompt: str | None = None,
    ray: bool = False,
) -> BasePipeline:
    pipeline_class = RayGenerationPipeline if ray else GenerationPipeline
    cache_dir = config.path(".cache/distilabel")
    with pipeline_class(name=pipeline_name(command, jobs), cache_dir=cache_dir) as pipeline:
        for job in jobs:
            load = LoadDataFromDicts(
                name=f"load_{job.index}",
                data=[{"instruction": prompt} for prompt in job.prompts],
                batch_size=BATCH_SIZE,
            )
            generate = SlotGeneration(
                name=job.step,
                llm=make_llm(job.slot),
                system_prompt=system_prompt,
                input_batch_size=BATCH_SIZE,
            )
            load >> generate
    return pipeline


def plan_jobs(missing: dict[str, list[str]], slots: list[ModelSlot]) -> list[Job]:
    pending = [slot for slot in slots if missing[slot.id]]
    return [Job(index, slot, missing[slot.id]) for index, slot in enumerate(pending)]


def run_pipeline(
    pipeline: BasePipeline,
    jobs: list[Job],
    *,
    use_cache: bool = True,
    on_rows: RowsDone | None = None,
) -> Table:
    """Run the pipeline; returns the new responses.

    ``on_rows(model_id, rows)`` is called as answers arrive.
    """
    os.environ.setdefault("DISTILABEL_LOG_LEVEL", "WARNING")
    disable_progress_bar()  # datasets' bars while distilabel builds its result; ours is enough
    if on_rows:
        model_of_step = {job.step: job.slot.id for job in jobs}
        pipeline.on_rows = lambda step, rows: on_rows(model_of_step[step], rows)
    distiset = pipeline.run(use_cache=use_cache)
    table: Table = {}
    for job in jobs:
        # A pipeline with a single leaf step names its only subset "default".
        subset = distiset["default" if len(jobs) == 1 else job.step]["train"]
        for row in subset:
            metadata = row.get("distilabel_metadata") or {}
            messages = metadata.get(f"raw_input_{job.step}")
            seen = prompt_seen(job.slot, messages) if messages else None
            table.setdefault(row["instruction"], {})[job.slot.id] = Response(seen, row["generation"])
    return table
