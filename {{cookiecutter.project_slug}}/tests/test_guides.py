"""docs/: the volunteers' guide matches project.yaml, and the lead's guide names only real commands."""

import re
import shlex

import pytest
import typer.main
from helpers import PROJECT

from kto.cli import app
from kto.config import load_config

CONFIG = load_config(PROJECT / "project.yaml")
VOLUNTEERS = (PROJECT / "docs" / "volunteer-guide.md").read_text(encoding="utf-8")
LEAD = (PROJECT / "docs" / "lead-guide.md").read_text(encoding="utf-8")
TIMES, DIVIDED = "\N{MULTIPLICATION SIGN}", "\N{DIVISION SIGN}"
CODE = re.compile(r"```[^\n]*\n(.*?)```|`([^`\n]+)`", re.DOTALL)


def kto_commands(markdown: str) -> list[list[str]]:
    """Every ``kto ...`` command in the code spans and blocks, as its words (comments and
    following commands after ``&&``, ``;`` or ``|`` left out)."""
    found = []
    for block, span in CODE.findall(markdown):
        for line in (block or span).splitlines():
            for part in re.split(r"&&|;|\|", line.split(" #")[0]):
                words = shlex.split(part)
                if words[:1] == ["kto"]:
                    found.append(words)
    return found


def problem(words: list[str]) -> str | None:
    """Why ``kto`` would refuse these words, or None: each subcommand and option must exist."""
    command, rest = typer.main.get_command(app), words[1:]
    while hasattr(command, "commands") and rest and not rest[0].startswith("-"):
        if rest[0] not in command.commands:
            return f"no command {rest[0]!r}"
        command, rest = command.commands[rest[0]], rest[1:]
    if hasattr(command, "commands") and not command.invoke_without_command:  # kto community runs alone
        return "a group of commands, not a command"
    options = {name: param for param in command.params for name in param.opts + param.secondary_opts}
    while rest:
        word = rest.pop(0)
        option = options.get(word.split("=")[0])
        if option is None:
            return f"no option or argument {word!r}"
        if not option.is_flag and "=" not in word:
            rest.pop(0)  # the option's value
    return None


def test_the_volunteers_guide_names_labels_and_fields_as_project_yaml():
    argilla = CONFIG.argilla
    assert f"👍 **{argilla.label_up}** · 👎 **{argilla.label_down}**" in VOLUNTEERS
    assert f"**{argilla.question}**" in VOLUNTEERS
    for title in (argilla.prompt_title, argilla.response_title, argilla.comment_title):
        assert title in VOLUNTEERS
    for line in argilla.guidelines.splitlines():
        assert f"> {line}" in VOLUNTEERS


def test_the_volunteers_guide_says_the_community_sentences_with_the_space():
    community = CONFIG.community
    assert f"# {community.guide_title}\n" in VOLUNTEERS
    for text in (community.guide_intro, community.record, community.draft, community.questions):
        assert text in VOLUNTEERS
    sign_in = community.sign_in.replace("{space_url}", CONFIG.space_url)
    assert f"{sign_in} → `{CONFIG.argilla.dataset}`" in VOLUNTEERS  # the dataset to open, once in
    assert "{" not in VOLUNTEERS


def test_the_volunteers_guide_has_the_languages_direction_and_translation_marks():
    body = re.sub(r"<!--.*?-->\s*", "", VOLUNTEERS, flags=re.DOTALL)
    rtl = CONFIG.language.direction == "rtl"
    assert body.startswith('<div dir="rtl">\n\n') == rtl
    assert body.endswith("</div>\n") == rtl
    translating = "TO TRANSLATE" in (PROJECT / "project.yaml").read_text(encoding="utf-8")
    assert ("TO TRANSLATE" in VOLUNTEERS) == translating


def test_the_lead_guide_parser_sees_what_kto_refuses():
    assert problem(["kto", "status", "--markdown"]) is None
    assert problem(["kto", "generate", "--limit", "4", "--local"]) is None
    assert problem(["kto", "space"]) == "a group of commands, not a command"
    assert problem(["kto", "stauts"]) == "no command 'stauts'"
    assert problem(["kto", "export", "--polcy", "majority"]) == "no option or argument '--polcy'"
    assert kto_commands("run `kto a --b` then\n```bash\nkto c  # kto d\ncd x && kto e | kto f\n```") == [
        ["kto", "a", "--b"],
        ["kto", "c"],
        ["kto", "e"],
        ["kto", "f"],
    ]


@pytest.mark.parametrize("words", sorted(set(map(tuple, kto_commands(LEAD)))), ids=" ".join)
def test_the_lead_guide_names_only_commands_that_exist(words):
    assert problem(list(words)) is None


def test_the_lead_guide_goes_from_render_to_trained_model_in_order():
    """The dry run first (it needs no account, so no preflight), then the preflight, then the
    campaign; the dry run's answers reach Argilla only with --local."""
    dry_run = ["kto generate --local --limit 4", "kto argilla up", "kto annotate --local", "kto argilla down"]
    steps = [*dry_run, "kto doctor", "kto generate`", "kto space create", "kto annotate`", "kto status"]
    steps += ["kto backup", "kto export"] + (["kto train"] if CONFIG.training else []) + ["kto eval"]
    place = 0
    for step in steps:
        found = LEAD.find(f"`{step}", place)
        assert found != -1, f"{step} is not after {LEAD[max(0, place - 60) : place]!r}"
        place = found + 1
    assert LEAD.find("`kto doctor") > LEAD.find("`kto generate --local")
    # The week-one plan's arithmetic, with this project's slots and min_submitted.
    slots, votes = len(CONFIG.generation.models), CONFIG.argilla.min_submitted
    per_prompt = slots * votes
    assert f"{slots} {TIMES} {votes} = **{per_prompt} ratings**" in LEAD
    assert f"| 10 | 10 {TIMES} 100 = 1000 | 1000 {DIVIDED} {per_prompt} = {1000 // per_prompt} |" in LEAD


def test_the_readme_links_both_guides_and_their_links_resolve():
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    assert "(docs/lead-guide.md)" in readme and "(docs/volunteer-guide.md)" in readme
    for link in re.findall(r"\]\(([^)#:]+)\)", LEAD + VOLUNTEERS):
        assert (PROJECT / "docs" / link).resolve().is_file(), link
