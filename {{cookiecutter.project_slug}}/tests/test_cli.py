"""Every bad input ends as one line, ``error: <field>: ...``, and a non-zero exit."""

import os

import pytest
from helpers import assert_one_error_line, edit_config, kto_env, openai_slot, run_kto, use_models


@pytest.mark.parametrize(
    ("args", "field", "code"),
    [
        (["generate", "--limit", "0"], "limit", 2),
        (["generate", "--no-such-option"], "usage", 2),
        (["generate", "--prompts", "missing.csv"], "prompts", 1),
        (["--config", "elsewhere/project.yaml", "generate"], "config", 1),
        (["serve", "--port", "70000"], "port", 2),
    ],
)
def test_bad_arguments(project, args, field, code):
    assert_one_error_line(run_kto(project, *args), field, code)


def test_outside_a_project(tmp_path):
    assert_one_error_line(run_kto(tmp_path, "generate"), "config")


def test_a_broken_config(project):
    edit_config(project, lambda c: c["generation"]["models"][0].update(backend="magic"))
    assert_one_error_line(run_kto(project, "generate"), "project.yaml: generation.models.0.backend")


def test_a_missing_api_key_is_named(project):
    use_models(project, openai_slot("a/b", "http://127.0.0.1:9/v1", api_key_env="NO_SUCH_KEY"))
    (project / "p.txt").write_text("a prompt\n", encoding="utf-8")
    result = run_kto(project, "generate", "--prompts", "p.txt")
    assert_one_error_line(result, "generation.models[a/b].api_key_env")
    assert "NO_SUCH_KEY" in result.stderr
    assert not list((project / "data").glob("*.parquet"))  # nothing written, nothing asked


def test_ray_without_the_extra_is_named(project, tmp_path):
    # ray may be installed here: a package of that name that fails to import stands in for its absence.
    hidden = tmp_path / "no-ray" / "ray"
    hidden.mkdir(parents=True)
    (hidden / "__init__.py").write_text("raise ImportError('No module named ray')\n")
    (project / "p.txt").write_text("a prompt\n", encoding="utf-8")
    pythonpath = os.pathsep.join([str(hidden.parent), kto_env()["PYTHONPATH"]])
    result = run_kto(
        project, "generate", "--local", "--ray", "--prompts", "p.txt", env={"PYTHONPATH": pythonpath}
    )
    assert_one_error_line(result, "ray")


def test_a_generations_file_of_another_shape_is_not_overwritten(project):
    (project / "data" / "dry-run").mkdir(parents=True)
    (project / "data" / "dry-run" / "generations.parquet").write_text("precious, not parquet")
    (project / "p.txt").write_text("a prompt\n", encoding="utf-8")
    assert_one_error_line(run_kto(project, "generate", "--local", "--prompts", "p.txt"), "output")
    assert (project / "data" / "dry-run" / "generations.parquet").read_text() == "precious, not parquet"


def test_help_lists_the_steps(tmp_path):
    result = run_kto(tmp_path)
    assert result.returncode == 0
    for step in ("generate", "annotate", "suggest", "export", "train", "serve"):
        assert step in result.stdout


def test_train_without_a_training_section_is_named(project):
    edit_config(project, lambda config: config.pop("training", None))
    assert_one_error_line(run_kto(project, "train", "--dry-run"), "training")


def test_a_judge_prompt_without_the_record_is_named(project):
    edit_config(project, lambda config: config["suggest"].update(prompt="Is it good? {instructions}"))
    result = run_kto(project, "suggest", "--local")
    assert_one_error_line(result, "project.yaml: suggest")
    assert "{prompt} and {response}" in result.stderr


def test_annotate_names_its_input_when_the_file_is_of_another_shape(project):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist([{"prompt": "p", "completion": "c"}]), project / "other.parquet")
    result = run_kto(project, "annotate", "--input", "other.parquet")
    assert_one_error_line(result, "input")
    assert "is not a generations file" in result.stderr


def causes(count: int) -> list[str]:
    """Library messages of every shape: words, punctuation, URLs, line breaks, one long token."""
    import random

    pick = random.Random(26)
    words = [
        "HTTPSConnectionPool(host='router.huggingface.co',",
        "port=443):",
        "Max",
        "retries",
        "(offline",
        "mode",
        "is",
        "enabled.",
        "https://huggingface.co/api/whoami-v2",
        "\n",
        "x" * 300,
        "refused;",
        "a",
    ]
    return [" ".join(pick.choice(words) for _ in range(pick.randint(1, 60))) for _ in range(count)]


@pytest.mark.parametrize("text", causes(200))
def test_a_cause_is_never_cut_in_the_middle_of_a_word(text):
    from kto.errors import one_line, short

    line, cut = one_line(text), short(text, 80)
    if len(line) <= 80:
        assert cut == line
        return
    assert cut.endswith(" …") and "\n" not in cut
    head = cut.removesuffix(" …")
    assert line.startswith(head) and line[len(head)] in " ,;:("  # it ends where a word ends
    assert len(head) <= 80 or " " not in head  # only a single token longer than the limit is kept whole
