"""Events/s that `kto watch` journals, and the lag from an event to its push to the Hub.

Deliveries are signed as Argilla 2.8 signs them (Standard Webhooks) and posted over HTTP to the
watcher's real endpoint by 8 clients at once; each is verified, written and fsynced before its
answer. Then a steady stream (50 events/s) runs while the real pusher commits the journal every
30 s (its default) to the Hub double (tests/hub_double.py); the lag is from an event's answer to
the end of the commit that carried it. Targets: >= 50 events/s; lag < 60 s.

    .venv/bin/python benchmarks/watch_throughput.py [--events 2000] [--seconds 65]
"""

import argparse
import base64
import os
import secrets
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TEMPLATE / "tests"))
from conftest import published_template  # noqa: E402

SECRET = base64.b64encode(secrets.token_bytes(24)).decode()
DATASET = "argilla/haiku"


def signed(number: int) -> tuple[dict, bytes]:
    """One response.updated delivery, as argilla_server 2.8 builds and signs it."""
    from helpers import signed_delivery  # the project's tests (on the path once rendered)

    moment = datetime.now(UTC)
    record = {
        "external_id": f"rec-{number % 500}",
        "fields": {"prompt": f"Prompt {number}", "completion": "A haiku of seventeen syllables " * 3},
        "metadata": {"model": "team/model-0"},
        "dataset": {"name": "haiku", "workspace": {"name": "argilla"}},
    }
    data = {
        "id": f"resp-{number}",
        "values": {"rating": {"value": "up" if number % 2 else "down"}},
        "status": "submitted",
        "record": record,
        "user": {"username": f"annotator{number % 4 + 1}"},
        "updated_at": moment.strftime("%Y-%m-%dT%H:%M:%S.%f"),
    }
    return signed_delivery({"type": "response.updated", "version": 1, "timestamp": "", "data": data}, SECRET)


def throughput(folder: Path, events: int) -> float:
    import httpx
    from kto.watch_journal import EventJournal
    from kto.watch_receiver import Receiver, serve

    journal = EventJournal(folder / "burst")
    server = serve(Receiver(journal, DATASET, SECRET), "127.0.0.1", 0, dict)
    url = f"http://127.0.0.1:{server.server_port}/webhook"
    deliveries = [signed(number) for number in range(events)]
    started = time.perf_counter()
    with ThreadPoolExecutor(8) as pool, httpx.Client() as client:
        post = lambda d: client.post(url, headers=d[0], content=d[1]).status_code  # noqa: E731
        codes = list(pool.map(post, deliveries))
    elapsed = time.perf_counter() - started
    server.shutdown()
    assert codes.count(200) == events and len(journal.events) == events, "not every event was journalled"
    print(f"journalled {events} events in {elapsed:.1f} s = {events / elapsed:6.0f} events/s (8 clients)")
    return events / elapsed


def push_lag(folder: Path, seconds: float, rate: float = 50.0) -> float:
    from kto.watch_journal import EventJournal
    from kto.watch_push import JournalPusher
    from kto.watch_receiver import Receiver

    journal = EventJournal(folder / "stream")
    receiver = Receiver(journal, DATASET, SECRET)
    pusher = JournalPusher(journal.folder, "alice/haiku-ratings-backup", print)  # every 30 s
    lags, answered, pushed_lines = [], [], 0
    stop = threading.Event()
    thread = threading.Thread(target=pusher.run, args=(stop,))
    thread.start()
    started, number = time.monotonic(), 0
    while time.monotonic() - started < seconds:
        receiver.handle(*signed(number))
        pusher.journalled()
        answered.append(time.time())
        number += 1
        time.sleep(max(0.0, started + number / rate - time.monotonic()))
        if pusher.state.pushed_events > pushed_lines:  # a push landed: the lag of what it carried
            landed = pusher.state.last_push
            lags += [landed - at for at in answered[pushed_lines : pusher.state.pushed_events]]
            pushed_lines = pusher.state.pushed_events
    stop.set()
    thread.join()
    lags += [pusher.state.last_push - at for at in answered[pushed_lines:]]
    print(
        f"streamed {number} events at {rate:.0f}/s for {seconds:.0f} s; lag from answer to push: "
        f"max {max(lags):.1f} s, mean {sum(lags) / len(lags):.1f} s"
    )
    return max(lags)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=65.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        project = Path(cookiecutter(str(published_template()), no_input=True, output_dir=folder))
        sys.path[:0] = [str(project / "src"), str(project / "tests")]
        from hub_double import HubDouble

        double = HubDouble()  # before huggingface_hub is imported: it reads HF_ENDPOINT once
        os.environ.update({"HF_ENDPOINT": double.start(), "HF_HUB_OFFLINE": "0", "HF_TOKEN": double.token})
        rate = throughput(Path(folder), args.events)
        lag = push_lag(Path(folder), args.seconds)
        double.stop()
    verdicts = ("met" if rate >= 50 else "MISSED", "met" if lag < 60 else "MISSED")
    print("target >= 50 events/s: {}; lag < 60 s: {}".format(*verdicts))


if __name__ == "__main__":
    main()
