"""kto status --markdown / --post: the public progress post, against a real Argilla on 127.0.0.1
and a local HTTP server standing in for Discord's webhook endpoint."""

import email
import email.policy
import json
import re
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
from helpers import PROJECT, dataset_of, edit_config, run_kto, submit, write_generations

from kto import progress_post
from kto.campaign_settings import Quality
from kto.config import load_config

COMMUNITY = load_config(PROJECT / "project.yaml").community
SPACE = "https://huggingface.co/spaces/team/ratings-argilla"


def post_of(submitted: dict[str, int], hide=(), hall_of_fame=True, done=7, total=10) -> str:
    community = COMMUNITY.model_copy(update={"hide": list(hide), "hall_of_fame": hall_of_fame})
    return progress_post.build(progress_post.PostTally(total, done, Counter(submitted), 5), community, SPACE)


def test_the_post_carries_the_counts_the_hall_of_fame_and_the_link():
    text = post_of({"alice": 3, "bob": 9, "carol": 0})
    assert f"**7 / 10** {COMMUNITY.post_records}" in text and f"**5** {COMMUNITY.post_last_day}" in text
    assert "`██████████████░░░░░░` 70%" in text
    assert f"### {COMMUNITY.post_hall_of_fame}\n1. bob: 9\n2. alice: 3\n" in text
    assert "carol" not in text  # no submitted rating, no place
    assert text.endswith(f"<{SPACE}>")


def test_hidden_annotators_and_a_switched_off_hall_of_fame_are_left_out():
    assert "1. alice: 3\n" in post_of({"Bob": 9, "alice": 3}, hide=["bob"])
    assert "Bob" not in post_of({"Bob": 9, "alice": 3}, hide=["bob"])
    text = post_of({"bob": 9, "alice": 3}, hall_of_fame=False)
    assert COMMUNITY.post_hall_of_fame not in text and "alice" not in text and "bob" not in text


def test_five_hundred_annotators_with_long_names_fit_one_message():
    names = {f"{'volunteer-with-a-very-long-name-' * 10}{n}": 1000 - n for n in range(500)}
    text = post_of(names)
    assert len(text) <= progress_post.MAX_CHARACTERS
    assert "1. volunteer-with" in text and text.endswith(f"<{SPACE}>")
    assert re.findall(r"^(\d+)\. ", text, re.MULTILINE) == [str(rank) for rank in range(1, 11)]


def test_the_hall_of_fame_gives_up_places_rather_than_overflow():
    community = COMMUNITY.model_copy(update={"post_title": "x" * 1750})
    tally = progress_post.PostTally(10, 7, Counter({f"user{n}": n + 1 for n in range(10)}), 0)
    text = progress_post.build(tally, community, SPACE)
    assert len(text) <= progress_post.MAX_CHARACTERS
    assert "1. user9: 10" in text and "user0" not in text


def test_usernames_show_as_typed_without_markdown():
    text = post_of({"__init__": 2, "a*b`c": 1})
    assert "1. \\_\\_init\\_\\_: 2" in text and "2. a\\*b\\`c: 1" in text


class Discord:
    """Discord's webhook endpoint on 127.0.0.1: records each request and answers from a script."""

    def __init__(self, answers: list[tuple[int, dict | None]]):
        self.answers = list(answers)
        self.requests: list[dict] = []
        discord = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                discord.requests.append(
                    {
                        "path": self.path,
                        "type": self.headers["Content-Type"],
                        "body": body,
                        "at": time.monotonic(),
                    }
                )
                status, answer = discord.answers.pop(0) if discord.answers else (204, None)
                data = json.dumps(answer).encode() if answer else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/api/webhooks/123/secret-token-abc"

    def json_bodies(self) -> list[dict]:
        return [json.loads(request["body"]) for request in self.requests]


@pytest.fixture
def discord():
    servers = []

    def start(*answers):
        servers.append(Discord(answers))
        return servers[-1]

    yield start
    for server in servers:
        server.server.shutdown()


def test_post_needs_the_webhook_url_in_one_line(project):
    missing = run_kto(project, "status", "--post", env={"DISCORD_WEBHOOK_URL": ""})
    assert missing.returncode == 1
    assert missing.stderr.strip() == (
        "error: post: set DISCORD_WEBHOOK_URL (environment or .env) to the channel's webhook URL"
    )
    bad = run_kto(project, "status", "--post", env={"DISCORD_WEBHOOK_URL": "discord.com/api/webhooks/1/tok"})
    assert bad.stderr.strip() == "error: post: DISCORD_WEBHOOK_URL is not an http(s) URL"
    assert "tok" not in bad.stderr


@pytest.fixture
def rated(annotation_project, argilla_server):
    """Two annotators have rated: annotator1 twice, annotator2 once (one record completed)."""
    write_generations(annotation_project, prompts=3)
    assert run_kto(annotation_project, "annotate").returncode == 0
    submit(
        argilla_server,
        annotation_project,
        {("annotator1", 0): "up", ("annotator2", 0): "down", ("annotator1", 1): "up"},
    )
    return annotation_project


@pytest.mark.slow
def test_markdown_counts_and_names_both_annotators(rated):
    result = run_kto(rated, "status", "--markdown")
    assert result.returncode == 0, result.stderr
    text = result.stdout.strip()
    assert len(text) <= progress_post.MAX_CHARACTERS
    assert f"**1 / 6** {COMMUNITY.post_records}" in text  # 3 prompts x 2 models, one with 2 ratings
    assert f"**3** {COMMUNITY.post_last_day}" in text
    assert "1. annotator1: 2\n2. annotator2: 1" in text
    assert "team/model" not in text  # no model id
    config = load_config(rated / "project.yaml")
    assert text.endswith(f"<{config.space_url}>")

    edit_config(rated, lambda c: c["community"].update(hide=["annotator1"]))
    hidden = run_kto(rated, "status", "--markdown").stdout
    assert "annotator1" not in hidden and "1. annotator2: 1" in hidden


@pytest.mark.slow
def test_the_last_day_counts_by_the_responses_time(rated, argilla_server):
    dataset = dataset_of(argilla_server, rated)
    client = argilla_server.client()
    now = progress_post.tally(client, dataset, Quality())
    assert (now.total, now.done, now.last_day) == (6, 1, 3)
    assert now.submitted == Counter({"annotator1": 2, "annotator2": 1})
    later = progress_post.tally(client, dataset, Quality(), datetime.now(UTC) + timedelta(hours=25))
    assert (later.last_day, later.submitted) == (0, now.submitted)


class Unavailable(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(503)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_a_server_error_while_counting_is_one_line():
    """The records are paged by kto.ratings, whose errors are kto's one line, not httpx's."""
    import httpx

    from kto.errors import KtoError

    server = ThreadingHTTPServer(("127.0.0.1", 0), Unavailable)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{server.server_port}") as http:
            client = SimpleNamespace(api=SimpleNamespace(http_client=http), users=[])
            with pytest.raises(KtoError) as raised:
                dataset = SimpleNamespace(id="d1", settings=SimpleNamespace(questions=[]))
                progress_post.tally(client, dataset, Quality())
    finally:
        server.shutdown()
    assert raised.value.field == "argilla"
    assert str(raised.value).startswith("argilla: could not read the records: ") and "503" in str(
        raised.value
    )


@pytest.mark.slow
def test_post_sends_json_without_mentions(rated, discord):
    server = discord()
    result = run_kto(rated, "status", "--post", env={"DISCORD_WEBHOOK_URL": server.url})
    assert result.returncode == 0, result.stderr
    assert "Posted the progress" in result.stderr and server.url not in result.stderr + result.stdout
    [request] = server.requests
    assert request["path"] == "/api/webhooks/123/secret-token-abc"
    assert request["type"] == "application/json"
    [body] = server.json_bodies()
    assert body["allowed_mentions"] == {"parse": []}
    assert "1. annotator1: 2" in body["content"] and len(body["content"]) <= 2000


@pytest.mark.slow
def test_post_with_plot_attaches_the_chart_as_a_file(rated, discord, tmp_path):
    server = discord()
    chart = tmp_path / "progress.png"
    result = run_kto(rated, "status", "--post", "--plot", str(chart), env={"DISCORD_WEBHOOK_URL": server.url})
    assert result.returncode == 0, result.stderr
    [request] = server.requests
    assert request["type"].startswith("multipart/form-data")
    form = email.message_from_bytes(
        b"Content-Type: " + request["type"].encode() + b"\r\n\r\n" + request["body"], policy=email.policy.HTTP
    )
    parts = {part.get_param("name", header="content-disposition"): part for part in form.iter_parts()}
    payload = json.loads(parts["payload_json"].get_content())
    assert payload["allowed_mentions"] == {"parse": []} and "annotator2" in payload["content"]
    image = parts["files[0]"]
    assert image.get_filename() == "progress.png" and image.get_content_type() == "image/png"
    assert image.get_content() == chart.read_bytes() and chart.read_bytes().startswith(b"\x89PNG")


@pytest.mark.slow
def test_post_waits_out_a_429_as_discord_asks(rated, discord):
    server = discord((429, {"message": "You are being rate limited.", "retry_after": 0.8, "global": False}))
    result = run_kto(rated, "status", "--post", env={"DISCORD_WEBHOOK_URL": server.url})
    assert result.returncode == 0, result.stderr
    assert "after 1 rate-limit waits" in result.stderr
    first, second = server.requests
    assert second["at"] - first["at"] >= 0.8
    assert server.json_bodies()[0] == server.json_bodies()[1]


@pytest.mark.slow
def test_a_refused_post_is_one_line_without_the_url(rated, discord):
    server = discord((404, {"message": "Unknown Webhook", "code": 10015}))
    result = run_kto(rated, "status", "--post", env={"DISCORD_WEBHOOK_URL": server.url})
    assert result.returncode == 1
    assert result.stderr.strip() == "error: post: the webhook answered 404: Unknown Webhook"
    assert "secret-token-abc" not in result.stderr + result.stdout
    assert len(server.requests) == 1  # a 4xx other than 429 is not retried

    server.server.shutdown()
    server.server.server_close()
    gone = run_kto(rated, "status", "--post", env={"DISCORD_WEBHOOK_URL": server.url})
    assert (
        gone.stderr.strip()
        == "error: post: could not reach the webhook in DISCORD_WEBHOOK_URL (ConnectError)"
    )
