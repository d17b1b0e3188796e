import pytest
from helpers import PROJECT, edit_config, openai_slot, use_models

from kto.config import find_config, load_config
from kto.errors import KtoError


def test_the_rendered_config_is_valid():
    config = load_config(PROJECT / "project.yaml")
    assert config.language.code
    assert config.task.system_prompt.strip()
    assert config.generation.models
    assert config.argilla.min_submitted >= 1
    assert config.root == PROJECT


def test_find_config_searches_parent_folders(project):
    nested = project / "data" / "deeper"
    nested.mkdir(parents=True)
    assert find_config(nested) == project / "project.yaml"


def test_no_config_is_one_clear_error(tmp_path):
    with pytest.raises(KtoError, match=r"no project\.yaml"):
        find_config(tmp_path)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda c: c["generation"]["models"][0].update(backend="magic"), "generation.models.0.backend"),
        (lambda c: c["generation"]["models"][0].update(temperature=9), "generation.models.0.temperature"),
        (lambda c: c["generation"].update(models=[]), "generation.models"),
        (lambda c: c["generation"].update(max_new_tokens=0), "generation.max_new_tokens"),
        (lambda c: c["argilla"].update(min_submitted=0), "argilla.min_submitted"),
        (lambda c: c["task"].update(system_promt="typo"), "task.system_promt"),
        (lambda c: c["checks"].update(language="maybe"), "checks.language"),
        (lambda c: c["checks"].update(empty="flag"), "checks.empty"),  # nothing to rate in it
        (lambda c: c["checks"].update(max_chars=0), "checks.max_chars"),
        (
            lambda c: c["generation"].update(models=[{"id": "a/b", "backend": "openai"}]),
            "generation.models.0",
        ),
        (
            lambda c: c["generation"].update(models=[{"id": "x", "backend": "local"}] * 2),
            "generation",
        ),
        (lambda c: c["community"].update(space_url="huggingface.co/spaces/a/b"), "community.space_url"),
        (lambda c: c["community"].update(hide="alice"), "community.hide"),
        (lambda c: c["community"].update(post_title=""), "community.post_title"),
        (lambda c: c.pop("community"), "community"),
        (lambda c: c["argilla"].update(label_down=c["argilla"]["label_up"]), "argilla"),
    ],
)
def test_bad_settings_name_the_field(project, change, field):
    edit_config(project, change)
    with pytest.raises(KtoError) as error:
        load_config(project / "project.yaml")
    assert error.value.field == f"project.yaml: {field}"
    # pydantic's own report (its heading, the input echoed, a link) is not what the user reads.
    message = str(error.value)
    assert not any(part in message for part in ("validation error", "input_value=", "errors.pydantic.dev"))


def misspell(section: str, key: str, wrong: str):
    def change(config: dict) -> None:
        config[section][wrong] = config[section].pop(key)

    return change


@pytest.mark.parametrize(
    ("section", "key", "wrong"),
    [
        ("argilla", "min_submitted", "min_submited"),  # required: its real key is missing too
        ("generation", "max_new_tokens", "max_new_token"),
        ("argilla", "label_up", "lable_up"),
    ],
)
def test_a_misspelt_key_is_named_with_the_key_it_means(project, section, key, wrong):
    edit_config(project, misspell(section, key, wrong))
    with pytest.raises(KtoError) as error:
        load_config(project / "project.yaml")
    assert error.value.field == f"project.yaml: {section}.{wrong}"
    assert str(error.value).endswith(f"unknown key: did you mean {key}?")


def test_a_misspelt_key_in_a_model_slot_is_named_too(project):
    edit_config(project, lambda c: c["generation"]["models"][0].update(temprature=0.3))
    with pytest.raises(
        KtoError, match=r"generation\.models\.0\.temprature: unknown key: did you mean temperature\?"
    ):
        load_config(project / "project.yaml")


def test_the_same_word_for_both_labels_is_refused(project):
    edit_config(project, lambda c: c["argilla"].update(label_up="Good", label_down="good"))
    with pytest.raises(KtoError, match="label_up and label_down are both 'Good'"):
        load_config(project / "project.yaml")


def test_the_space_url_defaults_to_the_space_kto_space_create_makes(project):
    edit_config(project, lambda c: c["community"].pop("space_url"))
    config = load_config(project / "project.yaml")
    assert (
        config.space_url
        == f"https://huggingface.co/spaces/{config.hub.namespace}/{config.argilla.dataset}-argilla"
    )
    assert config.space_url == load_config(PROJECT / "project.yaml").space_url  # as rendered


def test_invalid_yaml_is_reported_on_one_line(project):
    (project / "project.yaml").write_text("task: [unclosed\n", encoding="utf-8")
    with pytest.raises(KtoError, match="not valid YAML") as error:
        load_config(project / "project.yaml")
    assert "line 1, column 7" in str(error.value)  # where the YAML breaks, from the parser


def test_api_key_comes_from_the_named_environment_variable(project, monkeypatch):
    use_models(project, openai_slot("a/b", "http://127.0.0.1:1/v1", api_key_env="MY_KEY"))
    slot = load_config(project / "project.yaml").generation.models[0]
    monkeypatch.delenv("MY_KEY", raising=False)
    with pytest.raises(KtoError, match="set the environment variable MY_KEY"):
        slot.api_key()
    monkeypatch.setenv("MY_KEY", "secret")
    assert slot.api_key() == "secret"
