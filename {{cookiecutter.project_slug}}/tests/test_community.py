"""kto community against the Hub double: the board lists exactly the public campaigns tagged
kto-template, names the skipped with their reason, fits one Discord message, and waits out 429s;
kto community merge refuses licences that cannot be combined and writes what datasets reads back."""

import json
import time

import pytest
import yaml
from community_campaigns import campaign
from helpers import CASE, edit_config, run_kto
from hypothesis import given, settings
from hypothesis import strategies as st

from kto import community, community_board
from kto.community import Board, Campaign, CampaignFields, Skipped

# Eight tagged campaigns in six scripts, plus untagged datasets. pt-BR repeats a Dutch train prompt
# (the same rows: an exact repeat) and has Dutch's held-out prompt, spaced differently, in its train split.
TAGGED = {
    "team-nl/haiku-kto-nl": ("nl", ["Schrijf over de zee", "Een haiku over regen"], ["Over de maan"], {}),
    "team-ja/haiku-kto-ja": ("ja", ["海についての俳句", "雨の日の俳句"], ["月の夜の俳句"], {}),
    "team-ar/haiku-kto-ar": ("ar", ["هايكو عن البحر"], ["هايكو عن القمر"], {"license": "cc-by-nc-4.0"}),
    "team-pt/haiku-kto-pt-BR": ("pt-BR", ["Sobre o mar", "Schrijf over de zee", "Over  de maan"], [], {}),
    "team-hi/haiku-kto-hi": ("hi", ["समुद्र पर हाइकु"], [], {"fields": {"annotators": "three"}}),
    "team-ru/haiku-kto-ru": ("ru", ["Хайку о море"], [], {}),  # private  # noqa: RUF001 (Cyrillic)
    "team-uk/haiku-kto-uk": ("uk", ["Хайку про море"], [], {}),  # disabled
    "team-el/haiku-kto-el": ("el", ["Χαϊκού για τη θάλασσα"], [], {"data": False}),  # no files  # noqa: RUF001
}
LISTED = ["team-ar/haiku-kto-ar", "team-ja/haiku-kto-ja", "team-nl/haiku-kto-nl", "team-pt/haiku-kto-pt-BR"]
SKIPPED = {
    "team-hi/haiku-kto-hi": "broken card: kto_template.annotators",
    "team-ru/haiku-kto-ru": "private",
    "team-el/haiku-kto-el": "no splits",
    "team-uk/haiku-kto-uk": "no access (HTTP 403)",
}


@pytest.fixture
def campaigns(hub):
    double, env = hub
    for repo, (language, train, test, options) in TAGGED.items():
        files = campaign(language, train, test, **options)
        double.add_dataset(
            repo, files, private=repo.startswith("team-ru"), disabled=repo.startswith("team-uk")
        )
    untagged = campaign("nl", ["Een ander gedicht"], [])
    untagged["README.md"] = untagged["README.md"].replace(b"- kto-template\n", b"")
    double.add_dataset("other/plain-nl", untagged)
    double.add_dataset("other/no-card", {"data/train.parquet": untagged["kto/train.parquet"]})
    return double, env


def listed(folder, env, *args):
    return run_kto(folder, "community", "--hub-only", *args, env=env)


def test_the_board_lists_exactly_the_public_tagged_campaigns(campaigns, tmp_path):
    double, env = campaigns
    result = listed(tmp_path, env, "--json", "--markdown", "board.md", "--plot", "rows.png")  # no project
    assert result.returncode == 0, result.stderr
    table = json.loads(result.stdout)
    assert [row["dataset"] for row in table["campaigns"]] == LISTED  # sorted by language
    assert [row["language"] for row in table["campaigns"]] == ["ar", "ja", "nl", "pt-BR"]
    nl = table["campaigns"][2]
    assert (
        nl["rows"] == 6 and nl["annotators"] == 2 and nl["agreement"] == 0.5 and nl["license"] == "cc-by-4.0"
    )
    assert nl["revision"] == double.history["dataset/team-nl/haiku-kto-nl"][-1]["id"]
    assert nl["link"].endswith("/datasets/team-nl/haiku-kto-nl") and len(nl["last_update"]) == 10
    reasons = {item["dataset"]: item["reason"] for item in table["skipped"]}
    assert reasons.keys() == SKIPPED.keys()
    assert all(reasons[repo].startswith(start) for repo, start in SKIPPED.items()), reasons
    board = (tmp_path / "board.md").read_text(encoding="utf-8")
    assert (
        len(board.rstrip("\n")) <= 2000 and "**ja** (1, 6 rows)" in board and "team-el/haiku-kto-el" in board
    )
    assert (tmp_path / "rows.png").read_bytes()[:4] == b"\x89PNG"


def test_the_table_names_the_skipped_with_their_reason(campaigns, tmp_path):
    result = listed(tmp_path, campaigns[1])
    assert result.returncode == 0, result.stderr
    assert "4 campaigns; 4 skipped." in result.stdout
    assert "skipped team-ru/haiku-kto-ru: private: the board lists public datasets only" in result.stdout


def test_without_a_token_only_public_datasets_are_seen(campaigns, tmp_path):
    env = {key: value for key, value in campaigns[1].items() if key != "HF_TOKEN"}
    result = listed(tmp_path, env | {"HF_TOKEN": ""}, "--json")
    assert result.returncode == 0, result.stderr
    table = json.loads(result.stdout)
    assert [row["dataset"] for row in table["campaigns"]] == LISTED
    assert "team-ru/haiku-kto-ru" not in {item["dataset"] for item in table["skipped"]}


@pytest.fixture
def in_process(campaigns, monkeypatch):
    """The campaigns' double, for kto's functions called here (huggingface_hub read its settings
    when first imported)."""
    double, env = campaigns
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr("huggingface_hub.constants.ENDPOINT", env["HF_ENDPOINT"])
    template = env["HF_ENDPOINT"] + "/{repo_id}/resolve/{revision}/{filename}"
    monkeypatch.setattr("huggingface_hub.constants.HUGGINGFACE_CO_URL_TEMPLATE", template)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", False)
    return double


def test_a_429_is_waited_out(in_process):
    double = in_process
    double.rate_limited, double.rate_limited_path = 2, "/api/datasets/team-ja/"
    started = time.monotonic()
    board = community.find()
    assert time.monotonic() - started >= 2  # Retry-After: 1, twice
    assert double.rate_limited == 0 and [c.repo for c in board.campaigns] == LISTED
    answered = [line for line in double.requests if line.startswith("GET /api/datasets/team-ja/")]
    assert len(answered) == 3  # two answered 429, then the one that was served


def test_an_export_pushed_in_public_joins_the_board(project, hub):
    from kto.ratings import save

    _, env = hub
    edit_config(project, lambda config: config["hub"].update(private=False))
    save(CASE, project / "ratings.parquet")
    assert run_kto(project, "export", "--from", "ratings.parquet", "--push", env=env).returncode == 0
    result = run_kto(project, "community", "--json", env=env)
    assert result.returncode == 0, result.stderr
    [row] = json.loads(result.stdout)["campaigns"]
    assert "is on the board" in result.stderr and row["dataset"] in result.stderr
    assert row["rows"] == 2 and row["annotators"] == 3


def fake_campaign(repo: str, language: str, rows: int) -> Campaign:
    counts = {"train": {"rows": rows, "prompts": rows}}
    fields = CampaignFields(
        language=language, task="haiku", splits={"kto": counts}, annotators=3, ratings=9, agreement=0.5
    )
    return Campaign(repo, "0" * 40, "2026-12-07", fields, {"kto": {"train": ["kto/train.parquet"]}})


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text("abcdefghij-", min_size=1, max_size=30),
            st.sampled_from(["ar", "ja", "nl", "pt-BR", "hi", "zh-Hans", "sw", "el", "ru", "fi"]),
            st.integers(0, 10**6),
        ),
        max_size=300,
    ),
    st.lists(st.text(min_size=1, max_size=200), max_size=50),
)
def test_the_board_always_fits_one_discord_message(items, reasons):
    board = Board(
        [fake_campaign(f"org/{name}", language, rows) for name, language, rows in items],
        [Skipped(f"org/skipped-{n}", reason) for n, reason in enumerate(reasons)],
    )
    text = community_board.markdown(board)
    assert len(text) <= community_board.DISCORD_LIMIT
    if "more languages" not in text:  # languages are cut last: every one has its line
        assert all(f"**{language}** (" in text for _, language, _ in items)


def test_the_longest_list_is_cut_first_with_and_n_more():
    board = Board(
        [fake_campaign(f"org/nl-{n:03d}", "nl", 10) for n in range(60)] + [fake_campaign("org/ja", "ja", 5)],
        [],
    )
    text = community_board.markdown(board)
    assert len(text) <= 2000 and "org/ja" in text  # the short list is whole
    shown = text.count("](<https://huggingface.co/datasets/org/nl-")
    assert 0 < shown < 60 and f"and {60 - shown} more" in text


def test_merge_refuses_the_non_commercial_source_in_one_line_and_writes_nothing(campaigns, tmp_path):
    result = run_kto(tmp_path, "community", "merge", "--hub-only", "--output", "merged", env=campaigns[1])
    assert result.returncode == 1
    refused = [line for line in result.stderr.splitlines() if line.startswith("refused: ")]
    assert refused == [
        "refused: team-ar/haiku-kto-ar: its licence cc-by-nc-4.0 is non-commercial, but other sources allow "
        "commercial use: drop it (--drop team-ar/haiku-kto-ar) or set a non-commercial merged licence "
        "(--license cc-by-nc-4.0)"
    ]
    assert not (tmp_path / "merged").exists()


def test_merge_without_the_conflict_writes_configurations_datasets_reads(campaigns, tmp_path):
    import datasets

    double, env = campaigns
    args = ["community", "merge", "--hub-only", "--drop", "team-ar/haiku-kto-ar", "--output", "merged"]
    result = run_kto(tmp_path, *args, env=env)
    assert result.returncode == 0, result.stderr
    assert "3 train rows moved to test" in result.stderr and "3 exact repeats left out" in result.stderr
    folder = str(tmp_path / "merged")  # a path, not ".": datasets needs the folder's name
    revisions = {repo: double.history[f"dataset/{repo}"][-1]["id"] for repo in TAGGED}
    loaded = {
        name: datasets.load_dataset(folder, name)
        for name in ["kto-ja", "kto-nl", "kto-pt-BR", "kto-all", "dpo-ja", "dpo-nl", "dpo-pt-BR", "dpo-all"]
    }
    for name, dataset in loaded.items():
        train = {" ".join(prompt.split()) for prompt in dataset["train"]["prompt"]}
        test = (
            {" ".join(prompt.split()) for prompt in dataset["test"]["prompt"]} if "test" in dataset else set()
        )
        assert not train & test, name
        for split in dataset.values():
            assert all(revisions[row["source"]] == row["revision"] for row in split), name
    everything = loaded["kto-all"]
    assert set(everything["train"]["language"]) == {"ja", "nl", "pt-BR"}
    held_out = {"Over de maan", "Over  de maan", "月の夜の俳句"}
    assert set(everything["test"]["prompt"]) == held_out  # pt-BR's copy of nl's held-out prompt moved
    assert (
        everything["train"]["prompt"].count("Schrijf over de zee") == 2
    )  # nl's two rows; pt-BR's repeat out
    assert len(everything["train"]) == len(loaded["kto-ja"]["train"]) + 4 + len(loaded["kto-pt-BR"]["train"])
    assert set(loaded["kto-pt-BR"]["test"]["prompt"]) == {"Over  de maan"}  # its source had no test split
    card = (tmp_path / "merged" / "README.md").read_text(encoding="utf-8")
    for repo in ["team-ja/haiku-kto-ja", "team-nl/haiku-kto-nl", "team-pt/haiku-kto-pt-BR"]:
        assert f"| [{repo}](https://huggingface.co/datasets/{repo}) | `{revisions[repo][:12]}` |" in card
    assert "team-ar" not in card and "| team/a | `apache-2.0` |" in card


def test_merge_with_a_non_commercial_licence_keeps_every_source(campaigns, tmp_path):
    languages = ["--languages", "ar,nl,pt", "--task", "haiku"]  # "pt" chooses pt-BR
    args = ["community", "merge", "--hub-only", "--license", "cc-by-nc-4.0", *languages, "--output", "m"]
    result = run_kto(tmp_path, *args, env=campaigns[1])
    assert result.returncode == 0, result.stderr
    meta = yaml.safe_load((tmp_path / "m" / "README.md").read_text(encoding="utf-8").split("---")[1])
    assert meta["license"] == "cc-by-nc-4.0"
    assert [source["dataset"] for source in meta["kto_template_merge"]["sources"]] == [
        "team-ar/haiku-kto-ar",
        "team-nl/haiku-kto-nl",
        "team-pt/haiku-kto-pt-BR",
    ]


def licensed(repo: str, licence: str | None, model_licence: str = "apache-2.0") -> Campaign:
    base = fake_campaign(repo, "nl", 10)
    fields = base.fields.model_copy(
        update={"license": licence, "models": [{"id": "m", "license": model_licence}]}
    )
    return Campaign(repo, base.revision, base.last_update, fields, base.files)


@pytest.mark.parametrize(
    ("sources", "chosen", "refused"),
    [
        ([("a", "cc-by-4.0"), ("b", "apache-2.0")], None, []),  # permissive ones combine
        ([("a", "cc-by-nc-4.0"), ("b", "cc-by-nc-sa-4.0")], None, []),  # all non-commercial
        ([("a", "cc-by-4.0"), ("b", "cc-by-nc-4.0")], None, ["org/b"]),
        ([("a", "cc-by-4.0"), ("b", "cc-by-nc-4.0")], "cc-by-nc-4.0", []),  # the lead's choice
        ([("a", "cc-by-4.0"), ("b", "cc-by-nc-4.0")], "apache-2.0", ["org/b"]),  # a choice that drops terms
        ([("a", "cc-by-4.0"), ("b", "cc-by-nd-4.0")], "cc-by-nc-4.0", ["org/b"]),  # no derivatives
        ([("a", "cc-by-4.0"), ("b", None)], None, ["org/b"]),  # unknown: the lead decides
        ([("a", "cc-by-4.0"), ("b", "cc-by-4.0", "cc-by-nc-4.0")], None, ["org/b"]),  # its model forbids
    ],
)
def test_licences_that_cannot_be_combined_are_refused_one_line_each(sources, chosen, refused):
    from kto import community_licences

    campaigns = [licensed(f"org/{name}", licence, *model) for name, licence, *model in sources]
    lines = community_licences.conflicts(campaigns, chosen)
    assert [line.split(":")[0] for line in lines] == refused
    assert all("\n" not in line and "--drop" in line for line in lines)


def test_the_merge_reads_each_source_at_the_revision_the_board_listed(in_process):
    from kto import community_merge

    double = in_process
    board = community.find()
    [nl] = [source for source in board.campaigns if source.language == "nl"]
    repo = "dataset/team-nl/haiku-kto-nl"
    double.files[repo] = campaign("nl", ["Een nieuw gedicht"], [])  # a later push
    double.record_commit(repo, "Upload with kto", "")
    tables = community_merge.download([nl])
    prompts = {row["prompt"] for _, _, _, rows in tables for row in rows}
    assert prompts == {"Schrijf over de zee", "Een haiku over regen", "Over de maan"}
    merged = community_merge.combine(tables)
    revisions = {row["revision"] for rows in merged.rows.values() for row in rows}
    assert revisions == {nl.revision} != {double.history[repo][-1]["id"]}
