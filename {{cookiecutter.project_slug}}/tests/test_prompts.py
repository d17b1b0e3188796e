import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import PROJECT

from kto.errors import KtoError
from kto.prompts import load_prompts

TEXTS = ["Write about the sea.", "Schrijf over de zee.", "海について書いてください。"]


def test_the_starter_prompts_load():
    config_source = PROJECT / "prompts" / "starter.jsonl"
    if not config_source.read_text(encoding="utf-8").strip():
        pytest.skip("this project's task has no starter prompts")
    prompts = load_prompts("prompts/starter.jsonl", "prompt", PROJECT)
    assert len(prompts) == 20
    assert all(text.strip() for text in prompts)


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".csv", ".txt", ".parquet"])
def test_each_file_type_gives_the_prompts_in_order(tmp_path, suffix):
    path = tmp_path / f"prompts{suffix}"
    rows = [{"prompt": text, "other": 1} for text in TEXTS]
    if suffix == ".jsonl":
        path.write_text(
            "\n".join(json.dumps(row, ensure_ascii=False) for row in rows) + "\n\n", encoding="utf-8"
        )
    elif suffix == ".json":
        path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    elif suffix == ".csv":
        path.write_text("prompt,other\n" + "".join(f'"{t}",1\n' for t in TEXTS), encoding="utf-8")
    elif suffix == ".txt":
        path.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    else:
        pq.write_table(pa.Table.from_pylist(rows), path)
    assert load_prompts(str(path), "prompt", tmp_path) == TEXTS


def test_duplicates_and_blanks_are_dropped(tmp_path):
    (tmp_path / "p.txt").write_text("a\n\n  \nb\na\n b \n", encoding="utf-8")
    assert load_prompts("p.txt", "prompt", tmp_path) == ["a", "b"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("p.jsonl", '{"text": "hi"}\n', "no 'prompt' column"),
        ("p.jsonl", '{"prompt": "hi"}\nnot json\n', "p.jsonl:2: not valid JSON"),
        ("p.json", '{"prompt": "hi"}', "expected a JSON list"),
        ("p.txt", "\n\n", "holds no prompts"),
        ("p.xlsx", "whatever", "unsupported file type"),
        ("p.jsonl", '["a list"]\n', "every row must be an object"),
    ],
)
def test_bad_files_are_one_clear_error(tmp_path, name, content, message):
    (tmp_path / name).write_text(content, encoding="utf-8")
    with pytest.raises(KtoError, match=message) as error:
        load_prompts(name, "prompt", tmp_path)
    assert error.value.field == "prompts"


def test_a_missing_file_that_is_no_hub_id_is_reported(tmp_path):
    with pytest.raises(KtoError, match="neither a file nor a Hub dataset id"):
        load_prompts("missing.csv", "prompt", tmp_path)


def test_a_hub_dataset_offline_is_one_clear_error(tmp_path):
    with pytest.raises(KtoError, match="could not load Hub dataset my-org/prompts") as error:
        load_prompts("my-org/prompts", "prompt", tmp_path)
    assert "\n" not in str(error.value)
