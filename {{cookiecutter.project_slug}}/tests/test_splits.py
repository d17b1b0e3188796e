"""kto export holds a share of the prompts out as a test split, by a stable hash of their text."""

import json

import pyarrow.parquet as pq
import pytest
from helpers import edit_config, rated_backup, run_kto
from huggingface_hub import DatasetCard
from hypothesis import given
from hypothesis import strategies as st

from kto import splits

PROMPTS = [f"Prompt number {n}" for n in range(40)]


def test_an_exports_train_and_test_splits_share_no_prompt(project):
    edit_config(project, lambda config: config["argilla"].update(min_submitted=2))
    backup = rated_backup(project / "ratings.parquet", PROMPTS)
    result = run_kto(project, "export", "--from", str(backup))
    assert result.returncode == 0, result.stderr
    folder = project / "data" / "export"
    for name in ("kto", "dpo"):
        train, test = (
            pq.read_table(folder / name / f"{side}.parquet").to_pylist() for side in ("train", "test")
        )
        train_prompts, test_prompts = {row["prompt"] for row in train}, {row["prompt"] for row in test}
        assert test_prompts and train_prompts and not train_prompts & test_prompts
        assert train_prompts | test_prompts == set(PROMPTS)
        assert test_prompts == {prompt for prompt in PROMPTS if splits.is_held_out(prompt, 0.1)}
    held_out = len(test_prompts)
    assert 0 < held_out < 10  # about a tenth of 40
    stats = json.loads((folder / "statistics.json").read_text())
    assert stats["splits"]["kto"] == {"train": 2 * (40 - held_out), "test": 2 * held_out}
    card = DatasetCard.load(folder / "README.md")
    assert [c["data_files"][-1]["split"] for c in card.data.to_dict()["configs"]] == ["test", "test"]
    assert f"`kto`: {2 * (40 - held_out)} train, {2 * held_out} test rows" in card.text


def test_no_test_split_without_a_share(project):
    edit_config(project, lambda config: config.update(export={"test_share": 0.0}))
    edit_config(project, lambda config: config["argilla"].update(min_submitted=2))
    backup = rated_backup(project / "ratings.parquet", PROMPTS[:5])
    assert run_kto(project, "export", "--from", str(backup)).returncode == 0
    assert not (
        project / "data" / "export" / "kto" / "test.parquet"
    ).exists()  # datasets cannot read an empty one
    assert len(pq.read_table(project / "data" / "export" / "kto" / "train.parquet")) == 10


@given(st.text(min_size=1), st.floats(min_value=0.0, max_value=0.99))
def test_the_side_depends_on_the_text_only(text, share):
    conversational = [{"role": "user", "content": text}]
    assert splits.is_held_out(text, share) == splits.is_held_out(conversational, share)
    assert splits.is_held_out(f"  {text} ", share) == splits.is_held_out(text, share)
    assert not splits.is_held_out(text, 0.0)


@pytest.mark.parametrize("share", [0.1, 0.3, 0.5])
def test_about_the_share_is_held_out(share):
    held = sum(splits.is_held_out(f"prompt {n}", share) for n in range(4000))
    assert abs(held / 4000 - share) < 0.03
