"""What ``kto eval`` compares, taken from the config alone: the base and the tuned model (eval.base
and eval.tuned, by default the project's own trained model and its base, run here), the judge
(``kto.judge.pair_judge``), the language gate that decides before the judge, and the held-out
prompts. Their servers must list the three models before anything is asked.
"""

import hashlib
from dataclasses import dataclass

from kto import identities
from kto.config import ModelSlot, ProjectConfig
from kto.errors import KtoError
from kto.judge import Judge, pair_judge
from kto.serving import raise_on_failure, unserved


@dataclass(frozen=True)
class EvalSetup:
    base: ModelSlot
    tuned: ModelSlot
    judge: Judge
    language: str | None  # the code kto check's language gate expects; None: the gate is off

    def rejected(self, text: str | None) -> bool:
        """Whether the language gate rejects an answer (an empty one always fails)."""
        from kto.gates import language_finding

        if not text:
            return True
        return bool(self.language and language_finding(text, self.language)[1])


def setup(config: ProjectConfig, local: bool) -> EvalSetup:
    """eval.base and eval.tuned (default: the project's own models, the dry run's with ``local``);
    the judge: eval.judge, else suggest.judge, or the embedded model with ``local``."""
    from kto.gates import Gates

    judge = pair_judge(config, local)
    settings = config.eval
    base, tuned = settings.base, settings.tuned
    if base is None or tuned is None:
        if config.training is None:
            raise KtoError("eval.base", "set eval.base and eval.tuned: this project has no training section")
        from kto.transformers_model import adapter_base

        trained = config.model_dir(dry_run=local)
        if not trained.is_dir():
            run = "kto train --dry-run" if local else "kto train"
            raise KtoError(
                "eval.tuned", f"no trained model in {trained}: run {run} first (or set eval.tuned)"
            )
        # The base the adapter names, else training.base_model.
        name = adapter_base(trained) or config.training.base_model
        base_id = f"base-{hashlib.sha256(name.encode()).hexdigest()[:10]}"
        base = base or ModelSlot(id=base_id, backend="transformers", model=name)
        tuned_id = f"tuned-{identities.of_folder(trained)}"
        tuned = tuned or ModelSlot(id=tuned_id, backend="transformers", model=str(trained))
    if base.id == tuned.id:
        raise KtoError("eval.tuned", f"the base and the tuned model have the same id {base.id!r}: rename one")
    gates = Gates.from_config(config)
    # Before anything is asked: a judge on a dead server would waste every answer's request.
    raise_on_failure(unserved([base, tuned, judge.slot], unreachable=True))
    return EvalSetup(base, tuned, judge, gates.language if gates.actions["language"] != "off" else None)


def held_out_prompts(config: ProjectConfig) -> list[str]:
    """The prompts of the export's test split, in their order, once each."""
    import pyarrow.parquet as pq

    from kto.splits import prompt_text

    path = config.path(config.export.output) / "kto" / "test.parquet"
    if not path.is_file():
        raise KtoError(
            "eval", f"no test split at {path}: run kto export (export.test_share > 0), or --prompts"
        )
    prompts = list(dict.fromkeys(prompt_text(row["prompt"]) for row in pq.read_table(path).to_pylist()))
    if not prompts:
        raise KtoError(
            "eval", f"{path} holds no prompt: raise export.test_share and export again, or --prompts"
        )
    return prompts
