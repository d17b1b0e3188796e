import pyarrow.parquet as pq
import pytest

from kto.errors import KtoError
from kto.responses import SCHEMA, Response, clean_response, gaps, merge, read_table, to_rows, write_rows


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("  Old pond\nfrog jumps in  \n\n", "Old pond\nfrog jumps in"),
        ("Old pond<end_of_turn>", "Old pond"),
        ("<|im_start|>Old pond<|im_end|>", "Old pond"),
        ("```\nOld pond\nfrog\n```", "Old pond\nfrog"),
        ("a\n\n\n\nb", "a\n\nb"),
        ("<end_of_turn>  ", None),
        ("<think>\nA haiku, 5-7-5.\n</think>\n\nOld pond\nfrog", "Old pond\nfrog"),
        ("Old pond<think>check</think> frog", "Old pond frog"),
        ("Okay, the user wants a haiku.\n</think>\nOld pond", "Old pond"),  # opened by the template
        ("<think>\nThe user wants a haiku about", None),  # cut off by max_new_tokens while thinking
        ("<think></think>", None),
        (None, None),
    ],
)
def test_clean_response(raw, clean):
    assert clean_response(raw) == clean


def answered(model: str) -> Response:
    return Response(prompt_seen=f"prompt for {model}", raw=f" answer of {model} ")


def test_gaps_are_unanswered_and_failed_slots():
    table = {"p1": {"a": answered("a"), "b": Response("seen", None)}, "p2": {"a": answered("a")}}
    assert gaps(table, ["p1", "p2", "p3"], ["a", "b"]) == {"a": ["p3"], "b": ["p1", "p2", "p3"]}


def test_merge_fills_gaps_and_never_replaces_an_answer():
    table = {"p1": {"a": answered("a"), "b": Response("seen", None)}}
    new = {"p1": {"a": Response("other", "other answer"), "b": answered("b")}, "p2": {"a": answered("a")}}
    merged = merge(table, new)
    assert merged["p1"] == {"a": answered("a"), "b": answered("b")}
    assert merged["p2"] == {"a": answered("a")}
    assert table["p1"]["b"].raw is None  # the input is left as it was


def test_rows_follow_the_seed_format_and_keep_older_data():
    table = {
        "old prompt": {"x": answered("x")},
        "p1": {"old-model": answered("old-model"), "a": answered("a")},
    }
    rows = to_rows(table, ["p1", "p2"], ["a", "b"])
    assert [row["input"] for row in rows] == ["p1", "p2", "old prompt"]
    p1, p2, old = rows
    assert p1["generation_model"] == ["a", "b", "old-model"]
    assert p1["raw_generation_responses"] == [" answer of a ", None, " answer of old-model "]
    assert p1["generations"] == ["answer of a", None, "answer of old-model"]
    assert p1["generation_prompt"] == ["prompt for a", None, "prompt for old-model"]
    assert p2["generations"] == [None, None]
    assert old["generation_model"] == ["x"]


def test_a_think_block_stays_raw_and_leaves_the_generation():
    raw = "<think>\nFive, seven, five.\n</think>\nOld pond"
    (row,) = to_rows({"p": {"a": Response("seen", raw)}}, ["p"], ["a"])
    assert row["raw_generation_responses"] == [raw]
    assert row["generations"] == ["Old pond"]


def test_write_then_read_round_trips(tmp_path):
    table = {"p1": {"a": answered("a"), "b": Response(None, None)}, "日本語": {"a": answered("a")}}
    path = tmp_path / "data" / "generations.parquet"
    write_rows(to_rows(table, ["p1", "日本語"], ["a", "b"]), path)
    assert pq.read_schema(path).equals(SCHEMA)
    assert read_table(path) == {
        "p1": {"a": answered("a"), "b": Response(None, None)},
        "日本語": {"a": answered("a"), "b": Response(None, None)},
    }
    assert not list(path.parent.glob(".*partial"))


def test_a_file_of_another_shape_is_refused(tmp_path):
    import pyarrow as pa

    path = tmp_path / "other.parquet"
    pq.write_table(pa.Table.from_pylist([{"prompt": "p", "completion": "c"}]), path)
    with pytest.raises(KtoError, match="is not a generations file"):
        read_table(path)
    (tmp_path / "junk.parquet").write_text("not parquet")
    with pytest.raises(KtoError, match="not a readable parquet file"):
        read_table(tmp_path / "junk.parquet")
