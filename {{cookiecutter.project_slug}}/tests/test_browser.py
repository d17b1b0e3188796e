"""A person's path through the web UI, in a real headless Chromium: sign in, rate, submit."""

import json
import os
import re
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest
from helpers import PROJECT, dataset_of, needs_extra, run_kto, table_rows, write_generations

from kto.config import load_config

pytestmark = pytest.mark.slow
CHROMIUM = os.environ.get("KTO_CHROMIUM", "/usr/bin/chromium")
# Where the screenshot is kept for people to look at (CI sets this to its artifacts folder).
ARTIFACTS = Path(os.environ.get("KTO_TEST_ARTIFACTS", PROJECT / ".test-artifacts"))


@contextmanager
def signed_in(server, project, username: str):
    """A headless Chromium page on the project's dataset, signed in as ``username``."""
    needs_extra("dev", "playwright.sync_api")
    from playwright import sync_api

    if not shutil.which(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set KTO_CHROMIUM)")
    dataset = load_config(project / "project.yaml").argilla.dataset
    login = server.logins[username]
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=shutil.which(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"{server.url}/sign-in")
        page.get_by_label("Username").fill(login["username"])
        page.get_by_label("Password").fill(login["password"])
        page.get_by_role("button", name="Sign in").click()
        page.get_by_text(dataset).first.click()
        yield page
        browser.close()


def test_an_annotator_gives_a_thumbs_up_in_the_browser(annotation_project, argilla_server):
    needs_extra("dev", "playwright.sync_api")
    from playwright import sync_api

    write_generations(annotation_project, prompts=2, models=1)
    assert run_kto(annotation_project, "annotate").returncode == 0
    with signed_in(argilla_server, annotation_project, "annotator1") as page:
        page.locator("label[for=rating_up]").click()
        with page.expect_response(lambda r: "/responses" in r.url and r.request.method != "GET") as answer:
            page.get_by_role("button", name="Submit").click()
        assert answer.value.ok, answer.value.status
        submitted = page.get_by_role("listitem").filter(has_text=re.compile("submitted", re.IGNORECASE))
        sync_api.expect(submitted).to_contain_text("1", timeout=15_000)  # the UI's own counter
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=ARTIFACTS / "annotator-gives-a-thumbs-up.png")

    status = run_kto(annotation_project, "status")
    assert status.returncode == 0, status.stderr
    rows = table_rows(status.stdout)
    assert rows["annotator1"] == ["1", "0", "0", "1", "-"]  # submitted, discarded, draft, pending, flagged
    assert rows["team/model-0"] == ["1", "0", "100%"]


def what_a_user_sees(page) -> tuple[str, list[str]]:
    """The text of a record's "View metadata" panel, and the metadata the filters offer."""
    page.get_by_label("Expand Record Dropdown for Extra Information").click()
    page.get_by_text("View metadata").click()
    page.get_by_text("Record info").wait_for()
    record = page.inner_text("body")
    page.reload()  # closes the panel
    page.get_by_text("Filters", exact=True).click()
    page.get_by_text("Metadata", exact=True).click()
    page.get_by_text("Prompt id", exact=True).wait_for()
    # The open menu lists the metadata properties between its own button and the next one.
    lines = [line.strip() for line in page.inner_text("body").splitlines() if line.strip()]
    return record, lines[lines.index("Metadata") + 1 : lines.index("Responses")]


def test_the_model_is_hidden_from_annotators_in_the_browser(annotation_project, argilla_server):
    write_generations(annotation_project, prompts=1, models=1)
    assert run_kto(annotation_project, "annotate").returncode == 0
    with signed_in(argilla_server, annotation_project, "annotator1") as page:
        record, filters = what_a_user_sees(page)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=ARTIFACTS / "annotator-metadata-filters.png")
    assert "lines" in record and "team/model-0" not in record and "model" not in record.split()
    assert {"Flags", "Detected language", "Lines"} <= set(filters) and "Model" not in filters

    # The same page for the owner shows both: the annotator's view lacks them because they are hidden.
    with signed_in(argilla_server, annotation_project, "owner") as page:
        record, filters = what_a_user_sees(page)
    assert "team/model-0" in record and "Model" in filters


def test_a_gold_record_looks_like_any_other_in_the_browser(annotation_project, argilla_server):
    """A gold record and an ordinary one, answers to the same prompt: the annotator's page shows
    the same fields, metadata and filters for both, nothing but the answer's text differs."""
    write_generations(annotation_project, prompts=1, models=1)
    gold = {"prompt": "Prompt number 0", "response": "Answer 7 to prompt 0.", "label": False}
    (annotation_project / "prompts" / "gold.jsonl").write_text(json.dumps(gold) + "\n", encoding="utf-8")
    assert run_kto(annotation_project, "annotate").returncode == 0
    assert len(list(dataset_of(argilla_server, annotation_project).records())) == 2
    seen = []
    with signed_in(argilla_server, annotation_project, "annotator1") as page:
        # The queue's first page: after a Submit, Argilla's address moves on to the queue's next page,
        # which a reload would ask for once the queue has one record left (an empty page).
        page.get_by_label("Expand Record Dropdown for Extra Information").wait_for()
        queue = page.url
        for _ in range(2):
            record, filters = what_a_user_sees(page)
            # The record's metadata and fields, as the panel lists them (its id and times aside).
            shown = record[record.index("Metadata\nValue") : record.index("GUIDELINES")]
            seen.append((re.sub(r"Answer \d", "Answer #", shown), filters, re.search(r"Answer \d", shown)[0]))
            page.get_by_text("Filters", exact=True).click()  # closes the menu
            page.locator("label[for=rating_up]").click()
            with page.expect_response(lambda r: "/responses" in r.url and r.request.method != "GET"):
                page.get_by_role("button", name="Submit").click()
            page.goto(queue)
    assert {answer for *_, answer in seen} == {"Answer 0", "Answer 7"}  # the ordinary one, the gold one
    assert seen[0][:2] == seen[1][:2] and "prompt_id" in seen[0][0]
    assert "gold" not in seen[0][0].lower() and "Gold label" not in seen[0][1]
