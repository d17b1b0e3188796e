"""kto prompts generate against a stand-in writer: what the gates keep, when it stops, and hard kills.

The writer is the fake provider with a scripted reply: it learns which request it was sent
from the project's own request plan, so its answers are the same whatever order the requests
come in. kto runs as a user runs it, in a process of its own.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time

import pyarrow.parquet as pq
from helpers import edit_config, kto_env, openai_slot, run_kto, use_models

WRITER = "team/writer"
# Thirty Dutch prompts on thirty topics: what a good writer brings.
DUTCH = [
    "Schrijf een haiku over een reiger die bij de sloot op een kikker wacht.",
    "Maak een haiku over de geur van natte bladeren in een bos in oktober.",
    "Schrijf een haiku over een oude vissersboot die in de haven ligt te roesten.",
    "Kun je een haiku schrijven over kinderen die op het ijs van de vijver glijden?",
    "Schrijf een haiku over de laatste veerpont van de avond over de rivier.",
    "Maak een haiku over een grootmoeder die aardappels schilt aan de keukentafel.",
    "Schrijf een haiku over het geluid van hagel op een zinken dak.",
    "Schrijf een haiku over een verdwaalde ballon boven de weilanden.",
    "Maak een haiku over de eerste kievit die je in maart hoort roepen.",
    "Schrijf een haiku over een lege schommel in een stil speeltuintje.",
    "Kun je een haiku maken over de markt waar kaas wordt gewogen?",
    "Schrijf een haiku over zeehonden die op een zandbank liggen te zonnen.",
    "Maak een haiku over een trein die 's nachts door het polderland rijdt.",
    "Schrijf een haiku over de bibliotheek vlak voor sluitingstijd.",
    "Schrijf een haiku over een kat die op de vensterbank naar de regen kijkt.",
    "Maak een haiku over het dauwnat gras van een voetbalveld op zondagochtend.",
    "Schrijf een haiku over de lichtjes van een kermis in de verte.",
    "Kun je een haiku schrijven over een brief die nooit verstuurd werd?",
    "Schrijf een haiku over de stilte in een kerk op een doordeweekse middag.",
    "Maak een haiku over een volkstuin waar de pompoenen rijp worden.",
    "Schrijf een haiku over het eerste kopje koffie na een nachtdienst.",
    "Schrijf een haiku over een eenzame wandelaar op de dijk in de mist.",
    "Maak een haiku over de zwaluwen die in september vertrekken.",
    "Schrijf een haiku over een verhuisdoos vol oude foto's op zolder.",
    "Kun je een haiku maken over het gezoem van bijen in de lindeboom?",
    "Schrijf een haiku over een fietsenstalling bij het station in de spits.",
    "Maak een haiku over de schaduw van een windturbine over een akker.",
    "Schrijf een haiku over een bakker die om vier uur 's ochtends het deeg kneedt.",
    "Schrijf een haiku over de geur van teer op een warme zomerdag.",
    "Maak een haiku over een vuurtoren die zijn licht over de golven draait.",
]
ENGLISH = [
    "Write a haiku about a heron waiting by the ditch.",
    "Describe the smell of rain on a summer street.",
]
# Already in prompts.source: new prompts may not repeat them.
SOURCE = [
    "Schrijf een haiku over de stilte van een polder bij zonsopgang.",
    "Maak een haiku over oliebollen op oudejaarsavond.",
]


def variant(text: str) -> str:
    """``text`` with one letter changed in a word of five letters or more near its middle (a shorter
    word one letter away may be another word: kto.near_repeats)."""
    at = next(i for i in range(len(text) // 2, len(text)) if text[i - 2 : i + 3].isalpha())
    return text[:at] + ("x" if text[at] != "x" else "y") + text[at + 1 :]


def writer_project(project, url: str, language: str, source: list[str], **slot) -> dict[str, int]:
    """The project in ``language``, with ``source`` as prompts.source and a writer on ``url``;
    returns each request's text -> its number, from the project's own request plan."""
    from kto import prompt_writer
    from kto.config import load_config

    use_models(project, openai_slot(WRITER, url, **slot))
    (project / "source.txt").write_text("\n".join(source) + "\n", encoding="utf-8")
    # Topics of their own for each request: the texts differ, so the writer can tell them apart.
    (project / "topics.txt").write_text("\n".join(f"topic {n}" for n in range(200)) + "\n", encoding="utf-8")

    def change(config):
        config["language"]["code"] = language
        config["checks"]["expected_language"] = language
        config["prompts"].update(source="source.txt", topics="topics.txt")

    edit_config(project, change)
    config = load_config(project / "project.yaml")
    writer = prompt_writer.plan(config, source)
    return {writer.request(index): index for index in range(200)}


def mixing(requests: dict[str, int], pool: list[str], source: list[str], new: int = 3):
    """A writer whose request i brings ``new`` prompts of ``pool`` and, after the first, an exact
    repeat (another case), a one-letter variant of an earlier prompt and of a source prompt, and
    an English prompt, in a numbered list under a heading."""

    def reply(request: str) -> str:
        i = requests[request]
        lines = [f"{n}. {text}" for n, text in enumerate(pool[new * i : new * i + new], start=1)]
        if i:
            earlier = pool[new * (i - 1) : new * i]
            lines += [earlier[0].upper(), variant(earlier[-1]), variant(source[i % len(source)])]
            lines.append(f'- "{ENGLISH[i % len(ENGLISH)]}"')
        return "Hier zijn nieuwe prompts:\n" + "\n".join(lines)

    return reply


def generated(project) -> list[str]:
    lines = (project / "prompts" / "generated.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["prompt"] for line in lines]


def test_the_gates_keep_exactly_n_new_prompts(project, fake_provider):
    requests = {}
    fake, url = fake_provider(
        [WRITER], replies={WRITER: lambda request: mixing(requests, DUTCH, SOURCE)(request)}
    )
    requests.update(writer_project(project, url, "nl", SOURCE, concurrency=4))
    result = run_kto(project, "prompts", "generate", "--n", "20")
    assert result.returncode == 0, result.stderr
    assert generated(project) == DUTCH[:20]
    summary = result.stderr.strip().splitlines()[-1]
    assert summary.startswith("Kept 20 prompts in ") and "wrong language" in summary, summary
    assert " repeat" in summary and "near repeat" in summary
    asked = fake.attempts.total()
    # 3 new prompts a request: 7 requests bring 20; the run ends then, with at most the writer's
    # concurrency (4) of requests still in flight, cancelled.
    assert 7 <= asked < 7 + 2 * 4 and not fake.asked_twice()

    again = run_kto(project, "prompts", "generate", "--n", "20")
    assert again.returncode == 0 and "nothing asked" in again.stderr
    assert fake.attempts.total() == asked and generated(project) == DUTCH[:20]


def test_a_writer_that_repeats_itself_is_stopped(project, fake_provider):
    line = "Schrijf een haiku over de maan boven de duinen."
    fake, url = fake_provider([WRITER], replies={WRITER: lambda request: f"1. {line}\n2. {line}"})
    writer_project(project, url, "nl", SOURCE, concurrency=4)
    result = run_kto(project, "prompts", "generate", "--n", "50")
    assert result.returncode == 1
    assert generated(project) == [line]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("stopped: the last ") and "1 of 50 kept" in last and "prompts.topics" in last
    # A stretch of requests (the first, then 12 that brought nothing), and those in flight then:
    # not one per prompt wanted.
    assert fake.attempts.total() < 13 + 2 * 4


JAPANESE = [
    "古い池に蛙が飛び込む音について俳句を書いてください。",
    "京都の秋の紅葉を題材にした俳句を詠んでください。",
    "満員電車の朝の静けさを俳句にしてください。",
    "雪の降る夜に灯る街灯の俳句をお願いします。",
    "夏祭りの花火を見上げる子どもの俳句を作ってください。",
    "梅雨の晴れ間に干した洗濯物の俳句を書いてください。",
    "富士山の頂に残る春の雪を俳句に詠んでください。",
    "縁側で昼寝をする猫の姿を俳句にしてください。",
    "桜の花びらが川面を流れる様子の俳句をお願いします。",
    "冬の海辺で貝を拾う老人の俳句を作ってください。",
]
JAPANESE_SOURCE = [
    "田植えの終わった水田に映る夕日の俳句を書いてください。",
    "新年の初詣で鳴る鈴の音を俳句に詠んでください。",
]


def polite_variant(text: str) -> str:
    """``text`` asked again politely: the same ask in other characters (one kanji changed would be
    another word, so another ask)."""
    return f"すみません、{text}よろしくお願いします。"


def test_near_repeats_of_unspaced_japanese_are_removed(project, fake_provider):
    requests = {}

    def reply(request: str) -> str:
        i = requests[request]
        lines = JAPANESE[2 * i : 2 * i + 2]
        if i:
            lines += [polite_variant(JAPANESE[2 * i - 1]), polite_variant(JAPANESE_SOURCE[i % 2])]
        return "\n".join(lines)

    _fake, url = fake_provider([WRITER], replies={WRITER: reply})
    requests.update(writer_project(project, url, "ja", JAPANESE_SOURCE))
    result = run_kto(project, "prompts", "generate", "--n", "8")
    assert result.returncode == 0, result.stderr
    assert generated(project) == JAPANESE[:8]
    assert "near repeat" in result.stderr.strip().splitlines()[-1]


def lines_in(path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def test_after_a_hard_kill_the_next_run_asks_only_for_what_was_in_flight(project, fake_provider):
    requests = {}
    fake, url = fake_provider(
        [WRITER],
        latency=0.3,
        replies={WRITER: lambda request: mixing(requests, DUTCH, SOURCE, new=2)(request)},
    )
    requests.update(writer_project(project, url, "nl", SOURCE, concurrency=3))
    store, journal = (
        project / "prompts" / ".generated.answers.jsonl",
        project / "prompts" / ".generated.journal.jsonl",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "kto", "prompts", "generate", "--n", "24"],
        cwd=project,
        env=kto_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while lines_in(journal) < 4:  # a third of the way
        assert time.monotonic() < deadline and process.poll() is None, "the run ended before the kill"
        time.sleep(0.01)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    in_flight = fake.attempts.total() - lines_in(store) - lines_in(journal)

    result = run_kto(project, "prompts", "generate", "--n", "24")
    assert result.returncode == 0, result.stderr
    assert "Resuming: " in result.stderr
    assert generated(project) == DUTCH[:24]
    assert sum(count - 1 for count in fake.asked_twice().values()) <= in_flight <= 3
    assert not journal.exists()


def test_a_numbered_list_on_one_line_is_three_prompts():
    from kto.prompt_writer import parse

    line = "1. 春の朝の霧を詠んでください。 2. 夏の海辺の貝殻を俳句にしてください。 3. 「秋の夜長を詠んで」"
    assert parse(f"以下のプロンプトです:\n{line}") == [
        "春の朝の霧を詠んでください。",
        "夏の海辺の貝殻を俳句にしてください。",
        "秋の夜長を詠んで",
    ]


def leftovers(project) -> list[str]:
    """What a run may leave in prompts/ besides its output and answers: nothing."""
    kept = {"generated.jsonl", ".generated.answers.jsonl", "starter.jsonl", "gold.jsonl"}
    return sorted(path.name for path in (project / "prompts").iterdir() if path.name not in kept)


def test_a_failing_writer_stops_the_run_non_zero_naming_the_error_and_the_server(project, fake_provider):
    fake, url = fake_provider([WRITER], share_500=1.0)
    writer_project(project, url, "nl", SOURCE, max_retries=0)
    result = run_kto(project, "prompts", "generate", "--n", "10")
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"stopped: a request to {WRITER} at {url} failed (InternalServerError: ")
    output = project / "prompts" / "generated.jsonl"
    assert last.endswith(f"); 0 of 10 kept in {output}: run it again to go on"), last
    assert not (project / "prompts" / "generated.jsonl").exists()  # no empty output
    assert leftovers(project) == []  # no lock, no journal
    assert fake.attempts.total() <= 32  # stopped at the first failure: those in flight then


def interrupt_mid_run(
    project, command: list[str], journal, sign: signal.Signals
) -> subprocess.CompletedProcess:
    """``kto command`` sent ``sign`` once its journal holds a few answers: SIGINT to its whole
    process group, as Ctrl-C in a terminal (the language gate's child gets it too), SIGTERM to
    kto alone, as ``kill PID``."""
    process = subprocess.Popen(
        [sys.executable, "-m", "kto", *command],
        cwd=project,
        env=kto_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while lines_in(journal) < 4:
        assert time.monotonic() < deadline and process.poll() is None, "the run ended before the signal"
        time.sleep(0.01)
    if sign == signal.SIGINT:
        os.killpg(process.pid, sign)
    else:
        process.send_signal(sign)
    stdout, stderr = process.communicate(timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def test_ctrl_c_says_in_one_line_what_was_kept_and_the_output_holds_it(project, fake_provider):
    requests = {}
    _fake, url = fake_provider(
        [WRITER],
        latency=0.3,
        replies={WRITER: lambda request: mixing(requests, DUTCH, SOURCE, new=2)(request)},
    )
    requests.update(writer_project(project, url, "nl", SOURCE, concurrency=3))
    command = ["prompts", "generate", "--n", "24"]
    result = interrupt_mid_run(
        project, command, project / "prompts" / ".generated.journal.jsonl", signal.SIGINT
    )
    assert result.returncode == 130
    last = result.stderr.strip().splitlines()[-1]
    match = re.fullmatch(
        r"interrupted: (\d+) of 24 prompts in \S+/prompts/generated.jsonl \((\d+) new answers kept\); "
        r"run `kto prompts generate --n 24` again to go on",
        last,
    )
    assert match, result.stderr[-3000:]
    kept, answers = map(int, match.groups())
    assert answers >= 4 and kept >= 2 * 4 - 1 and generated(project) == DUTCH[:kept]
    assert leftovers(project) == []

    again = run_kto(project, *command)
    assert again.returncode == 0, again.stderr
    assert generated(project) == DUTCH[:24]


def test_sigterm_in_kto_generate_writes_the_answers_and_exits_143(project, fake_provider):
    prompts = [f"Schrijf een haiku over vogel {n} in de polder." for n in range(40)]
    (project / "prompts.txt").write_text("\n".join(prompts) + "\n", encoding="utf-8")
    _fake, url = fake_provider([WRITER], latency=0.3)
    use_models(project, openai_slot(WRITER, url, concurrency=2))
    edit_config(project, lambda config: config["prompts"].update(source="prompts.txt"))
    data = project / "data"
    result = interrupt_mid_run(project, ["generate"], data / ".generations.journal.jsonl", signal.SIGTERM)
    assert result.returncode == 143
    last = result.stderr.strip().splitlines()[-1]
    match = re.fullmatch(
        r"interrupted: 40 rows in \S+/data/generations.parquet \((\d+) new answers kept\); "
        r"run `kto generate` again to go on",
        last,
    )
    assert match, result.stderr[-3000:]
    answered = [
        row for row in pq.read_table(data / "generations.parquet").to_pylist() if row["generations"][0]
    ]
    assert len(answered) == int(match.group(1)) >= 4
    assert not (data / ".generations.journal.jsonl").exists()
