"""Finds and ends the background processes kto started, wherever a crash left them, and lets a
child ask to die with kto (``die_with_parent``).

``kto argilla up`` leaves its services running on purpose, and they fork children of their own. A
kill -9 of a service (the OOM killer, a reboot of half a machine) orphans those children: their
parent becomes init, no pid file names them, and killing a process group misses any child that
started a session of its own. So kto puts a marker in the environment of every process it starts,
which every descendant inherits, forked or executed: the next ``up`` or ``down`` finds them all by
it and ends them.
"""

import contextlib
import ctypes
import os
import signal
import time
from pathlib import Path

import psutil

PR_SET_PDEATHSIG = 1  # prctl's option: a signal for this process when its parent dies


def marked(variable: str, value: str) -> list[psutil.Process]:
    """Live processes whose environment holds ``variable=value``; never this process or one of its
    ancestors (a shell that happened to export the marker)."""
    spared = {os.getpid(), *(parent.pid for parent in psutil.Process().parents())}
    found = []
    for process in psutil.process_iter():
        if process.pid in spared:
            continue
        try:
            if process.environ().get(variable) == value and _running(process):
                found.append(process)
        except psutil.Error:  # gone meanwhile, or another user's: not ours to end
            continue
    return found


def end(processes: list[psutil.Process], grace: float = 10.0) -> None:
    """SIGTERM each process, then SIGKILL whichever is still running after ``grace`` seconds."""
    for process in processes:
        with contextlib.suppress(psutil.Error):  # gone already
            process.terminate()
    deadline = time.monotonic() + grace
    running = processes
    while running and time.monotonic() < deadline:
        time.sleep(0.1)
        running = [process for process in running if _running(process)]
    for process in running:
        with contextlib.suppress(psutil.Error):
            process.kill()


def _running(process: psutil.Process) -> bool:
    """The same process (pid and start time) and not a zombie: an orphan's exit waits for init to
    reap it, which some containers' init never does."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def is_ours(pid: int, folder: Path) -> bool:
    """The pid is alive and is a process we started (a reused pid would have another cwd)."""
    try:
        return alive(pid) and Path(psutil.Process(pid).cwd()).resolve() == folder.resolve()
    except (psutil.Error, OSError):
        return False


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE  # a zombie has exited
    except psutil.Error:
        return False


def stop_group(pid: int, grace: float = 10.0) -> None:
    """Stop the process and what it spawned (the worker forks): each was started as the leader of
    a session, and so of a process group, of its own."""
    try:
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        os.killpg(pid, signal.SIGKILL)  # any child still hanging on
    except ProcessLookupError:
        pass


def die_with_parent(parent: int) -> None:
    """Ask the kernel for SIGKILL when the parent dies; if it already has, go now."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)
