import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import PROJECT

from kto.errors import KtoError
from kto.prompts import Decoded, decode_file, load_prompts

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
    assert str(error.value).partition("my-org/prompts: ")[2]  # the cause follows


WESTERN = ["Café crème à la gare", "Grüße aus München", "Le cœur naïf — « déjà vu »"]


@pytest.mark.parametrize(
    ("name", "encoding"),
    [
        ("p.csv", "cp1252"),  # a spreadsheet's "CSV" on Windows
        ("p.csv", "utf-16"),  # a spreadsheet's "Unicode text", with its byte-order mark
        ("p.csv", "utf-8-sig"),  # "CSV UTF-8": the mark must not end up in the column's name
        ("p.txt", "cp1252"),
        ("p.txt", "utf-16"),
        ("p.jsonl", "cp1252"),
        ("p.jsonl", "utf-16"),
    ],
)
def test_files_in_other_encodings_are_read_as_written(tmp_path, name, encoding):
    if name == "p.jsonl":
        text = "".join(json.dumps({"prompt": line}, ensure_ascii=False) + "\n" for line in WESTERN)
    else:
        text = ("prompt\r\n" if name == "p.csv" else "") + "".join(f"{line}\r\n" for line in WESTERN)
    (tmp_path / name).write_bytes(text.encode(encoding))
    assert load_prompts(name, "prompt", tmp_path) == WESTERN


def test_a_file_in_the_languages_windows_code_page_is_read(tmp_path):
    lines = ["Москва зимой", "Старый дом у реки"]  # noqa: RUF001 (Cyrillic on purpose)
    (tmp_path / "p.txt").write_bytes("\n".join(lines).encode("cp1251"))
    assert load_prompts("p.txt", "prompt", tmp_path, "ru") == lines
    assert load_prompts("p.txt", "prompt", tmp_path, "en") != lines  # what the language changes


@pytest.mark.parametrize("name", ["p.csv", "p.txt", "p.jsonl"])
def test_a_binary_file_is_one_line_naming_it_and_the_fix(tmp_path, name):
    (tmp_path / name).write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    with pytest.raises(KtoError, match=f"{name} is not a text file .* save it as UTF-8") as error:
        load_prompts(name, "prompt", tmp_path)
    assert error.value.field == "prompts"
    assert "PNG" not in str(error.value) and "IHDR" not in str(error.value)  # never the file's bytes


@pytest.mark.parametrize(
    ("lines", "language"),
    [
        (["古い池に蛙が飛び込む", "雨の夜の俳句を書いてください", "夏の海"], "ja"),
        # One line beyond ASCII in valid UTF-8 tells a Dutch file from one in Windows-1252.
        (["Schrijf een haiku over de zee.", "Een haiku over de kerk.", "\U0001f338\U0001f338"], "nl"),
    ],
)
def test_a_utf8_file_with_a_bad_byte_is_read_as_utf8_naming_the_line(tmp_path, lines, language):
    data = [line.encode("utf-8") for line in lines]
    data[1] = data[1][:4] + b"\xff\xfe" + data[1][4:]  # two bytes that are never UTF-8
    (tmp_path / "p.txt").write_bytes(b"\n".join(data) + b"\n")
    decoded = decode_file(tmp_path / "p.txt", language)
    assert decoded.bad_lines == (2,) and decoded.guessed is None
    read = decoded.text.splitlines()
    assert [read[0], read[2]] == [lines[0], lines[2]]  # the other lines as written, not in a code page
    assert "\ufffd" in read[1]


def test_a_file_in_a_code_page_says_the_guess(tmp_path):
    (tmp_path / "p.txt").write_bytes("Café crème à la gare\n".encode("cp1252"))
    assert decode_file(tmp_path / "p.txt", "fr") == Decoded("Café crème à la gare\n", "cp1252")
