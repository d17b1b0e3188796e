"""kto argilla up / down: a real local Argilla of the test's own, stopped, restarted and killed."""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from helpers import PROJECT, edit_config, run_kto, write_generations

MARKER = "KTO_ARGILLA_HOME"  # what kto puts in the environment of each process of the server


def processes_of_server(folder: Path) -> list[psutil.Process]:
    """Live processes of the local server in ``folder``: started there (their working directory,
    where kto argilla up starts them) or carrying its marker, which their forks inherit wherever they
    end up."""
    home = str(folder.resolve())
    found = []
    for process in psutil.process_iter():
        try:
            if process.status() != psutil.STATUS_ZOMBIE and home in (
                process.cwd(),
                process.environ().get(MARKER),
            ):
                found.append(process)
        except psutil.Error:  # gone meanwhile
            continue
    return found


def orphan_of_server(folder: Path) -> psutil.Process:
    """A process with the server's marker whose parent has exited, as a crash leaves the worker's
    forks: nothing but the marker leads to it."""
    spawn = (  # its output elsewhere than our pipe, or reading the pid would wait for its end
        "import subprocess; print(subprocess.Popen(['sleep', '600'], start_new_session=True,"
        " stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).pid)"
    )
    started = subprocess.run(
        [sys.executable, "-c", spawn],
        env={**os.environ, MARKER: str(folder.resolve())},
        capture_output=True,
        text=True,
        check=True,
    )
    return psutil.Process(int(started.stdout))


def alive(process: psutil.Process) -> bool:
    """Still running: the same process (pid and start time), and not a zombie waiting for init."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


@pytest.fixture
def server_project(tmp_path):
    """A project of its own for a server of its own; nothing of that server outlives the test."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    shutil.copy(PROJECT / "project.yaml", tmp_path)
    edit_config(tmp_path, lambda config: config["checks"].update(language="off"))  # English answers
    yield tmp_path
    run_kto(tmp_path, "argilla", "down")
    for process in processes_of_server(tmp_path / ".argilla"):
        with contextlib.suppress(psutil.Error):
            process.kill()


def watcher_line(project: Path) -> str:
    """``kto argilla status``'s line on the watcher, once the watcher that ``up`` started has
    registered its webhook (or after a minute)."""
    deadline = time.monotonic() + 60
    while True:
        status = run_kto(project, "argilla", "status")
        assert status.returncode == 0, status.stderr
        line = next(line for line in status.stderr.splitlines() if line.startswith("watcher "))
        if line.startswith("watcher registered for") or time.monotonic() > deadline:
            return line
        time.sleep(1)


@pytest.mark.once
@pytest.mark.slow
def test_the_local_server_keeps_its_data_through_down_and_up_and_a_crash(server_project):
    """Stopped and started again, or killed, the server still has every record."""
    assert run_kto(server_project, "argilla", "up", "--annotators", "1").returncode == 0
    write_generations(server_project, prompts=3)
    assert run_kto(server_project, "annotate").returncode == 0
    watcher = watcher_line(server_project)
    assert watcher.startswith("watcher registered for http://127.0.0.1:") and "last push" in watcher, watcher
    stopped = run_kto(server_project, "argilla", "down")
    assert "Stopped watcher, worker, server, redis, search." in stopped.stderr
    assert run_kto(server_project, "argilla", "status").returncode == 3
    assert processes_of_server(server_project / ".argilla") == []  # the worker's forks too
    restarted = run_kto(server_project, "argilla", "up")
    assert restarted.returncode == 0, restarted.stderr
    again = run_kto(server_project, "annotate")
    assert "0 records added, 6 already there" in again.stderr

    state = json.loads((server_project / ".argilla" / "state.json").read_text())
    for name in ("server", "worker"):  # as the OOM killer or a reboot would
        os.killpg(state["pids"][name], signal.SIGKILL)
    after_crash = run_kto(server_project, "argilla", "up")
    assert after_crash.returncode == 0, after_crash.stderr
    assert "half running (server, worker had stopped): stopped the rest" in after_crash.stderr
    assert "0 records added, 6 already there" in run_kto(server_project, "annotate").stderr


@pytest.mark.once
@pytest.mark.slow
def test_a_server_killed_outright_leaves_nothing_running_and_comes_back_with_its_data(server_project):
    """kill -9 of the server's four processes, as the OOM killer would: the worker's forks lose
    their parent. The next up ends every process of the dead server and brings the data back;
    down then leaves no process of the server at all."""
    folder = server_project / ".argilla"
    assert run_kto(server_project, "argilla", "up", "--annotators", "1").returncode == 0
    write_generations(server_project, prompts=3)
    assert run_kto(server_project, "annotate").returncode == 0
    pids = json.loads((folder / "state.json").read_text())["pids"]
    before = processes_of_server(folder)
    assert set(pids.values()) < {process.pid for process in before}  # the worker has forks to orphan

    for pid in pids.values():
        os.kill(pid, signal.SIGKILL)
    restarted = run_kto(server_project, "argilla", "up")
    assert restarted.returncode == 0, restarted.stderr
    assert [process for process in before if alive(process)] == []
    assert "0 records added, 6 already there" in run_kto(server_project, "annotate").stderr

    # A process that escaped even so (another platform, a fork of a fork): up, with the server
    # running, and down find it by its marker alone.
    orphan = orphan_of_server(folder)
    again = run_kto(server_project, "argilla", "up")
    assert "Stopped 1 orphaned process of an earlier server" in again.stderr
    assert not alive(orphan)
    orphan = orphan_of_server(folder)
    stopped = run_kto(server_project, "argilla", "down")
    assert "Stopped watcher, worker, server, redis, search, 1 orphaned process." in stopped.stderr
    assert not alive(orphan)
    deadline = time.monotonic() + 10  # SIGKILLed processes may take a moment to be reaped
    while processes_of_server(folder) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_of_server(folder) == []


@pytest.mark.once
@pytest.mark.slow
def test_down_wipe_deletes_the_data_and_keeps_the_server_install(server_project):
    """--wipe: the next up starts with no dataset and no old login, and installs nothing."""
    shared = os.environ.get("KTO_ARGILLA_VENV")
    if not shared:
        pytest.skip("set KTO_ARGILLA_VENV: this test reuses a server install, it does not build one")
    folder = server_project / ".argilla"
    folder.mkdir()
    (folder / "venv").symlink_to(shared)  # the install where kto puts it by default: .argilla/venv
    own = {"KTO_ARGILLA_VENV": ""}
    assert run_kto(server_project, "argilla", "up", "--annotators", "1", env=own).returncode == 0
    write_generations(server_project, prompts=2)
    assert run_kto(server_project, "annotate").returncode == 0
    old_key = json.loads((folder / "users.json").read_text())["owner"]["api_key"]
    assert datasets(folder, old_key) != []

    wiped = run_kto(server_project, "argilla", "down", "--wipe", env=own)
    assert wiped.returncode == 0, wiped.stderr
    assert "worker, server, redis, search" in wiped.stderr and "kept the server install" in wiped.stderr
    assert [path.name for path in folder.iterdir()] == ["venv"]
    assert (folder / "venv" / "kto-server-packages.txt").is_file() and processes_of_server(folder) == []

    restarted = run_kto(server_project, "argilla", "up", "--annotators", "1", env=own)
    assert restarted.returncode == 0, restarted.stderr
    assert "Installing" not in restarted.stderr
    owner = json.loads((folder / "users.json").read_text())["owner"]["api_key"]
    assert owner != old_key and datasets(folder, owner) == []


def datasets(folder: Path, api_key: str) -> list[str]:
    """The names of the datasets on the local server in ``folder``."""
    import argilla as rg

    port = json.loads((folder / "state.json").read_text())["ports"]["server"]
    return [
        dataset.name for dataset in rg.Argilla(api_url=f"http://127.0.0.1:{port}", api_key=api_key).datasets
    ]


def test_down_ends_the_orphans_of_a_server_that_is_gone(project):
    """No server, no state file: what a crash orphaned is found by its marker alone."""
    orphan = orphan_of_server(project / ".argilla")
    try:
        stopped = run_kto(project, "argilla", "down")
        assert stopped.returncode == 0 and "Stopped 1 orphaned process." in stopped.stderr
        assert not alive(orphan)
        assert "Nothing was running." in run_kto(project, "argilla", "down").stderr
    finally:
        with contextlib.suppress(psutil.Error):  # ended, as it should be
            orphan.kill()
