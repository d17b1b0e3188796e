"""The embedded model in a child process: llama.cpp's OpenAI-compatible server (what ``kto serve``
runs), one per model slot, on a free port of 127.0.0.1.

A crash in llama.cpp's C code (a SIGSEGV, an illegal instruction) then ends that child, not kto,
which can say in one line which slot died of what, with every answer already in its journal.
The child must never outlive kto: it asks the kernel to kill it when kto dies, even of SIGKILL
(``PR_SET_PDEATHSIG``); ``close()`` ends it on a normal exit; and its pid is recorded under the
project's ``.cache/kto/embedded/`` so that the next run ends any child a crash left behind.

Run as ``python -m kto.embedded PARENT_PID PORT N_CTX N_THREADS`` by ``EmbeddedServer``.
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from kto.errors import KtoError
from kto.processes import die_with_parent

START_TIMEOUT = 180.0  # seconds: the first load on a busy two-core machine
MODULE = "kto.embedded"  # in a child's command line: a recorded pid is ours only if it says so


# Where each child's pid record lies, in the project: the next run ends what a crash left.
EMBEDDED_RECORDS = ".cache/kto/embedded"


class EmbeddedServer:
    """One child process serving the embedded model; ``records`` is where its pid is kept."""

    def __init__(self, records: Path, n_ctx: int, n_threads: int):
        self.records = records
        self.settings = (n_ctx, n_threads)
        self.process: subprocess.Popen | None = None
        self.url = ""
        self.log = records / "none.log"

    def start(self) -> str:
        """Start the child; returns its API's base URL, which answers once ``wait_until_ready``
        returns (the children of several slots load at once). Start it from the main thread:
        the kernel's parent-death signal follows the thread that forked. First ends any child
        a crashed kto left behind."""
        end_leftovers(self.records)
        self.records.mkdir(parents=True, exist_ok=True)
        port = free_port()
        args = [str(os.getpid()), str(port), *map(str, self.settings)]
        self.log = self.records / f"port-{port}.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", MODULE, *args],
                env=child_environment(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        self.record.write_text(f"{self.process.pid} {os.getpid()}")
        self.url = f"http://127.0.0.1:{port}/v1"
        return self.url

    @property
    def record(self) -> Path:
        return self.records / f"{self.process.pid if self.process else 0}.pid"

    def death(self, wait: float = 0.0) -> str | None:
        """How the child ended (``died of SIGSEGV``), or None while it runs (after ``wait``
        seconds: a dying process drops its connections a moment before it can be waited for)."""
        if self.process is None:
            return None
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=wait)
        code = self.process.returncode
        if code is None:
            return None
        if code < 0:
            return f"died of {signal.Signals(-code).name}"
        return f"exited with status {code}"

    def close(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        clean = self.process.returncode in (0, -signal.SIGTERM)
        self.record.unlink(missing_ok=True)
        if clean:  # a crash's log is kept for kto doctor and bug reports
            self.log.unlink(missing_ok=True)
        self.process = None

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/models", timeout=2).close()
                return
            except OSError:
                if died := self.death():
                    self.close()
                    raise KtoError(
                        "local", f"llama.cpp's server {died} while loading (see {self.log}): run kto doctor"
                    ) from None
                if time.monotonic() > deadline:
                    self.close()
                    raise KtoError(
                        "local", f"llama.cpp's server did not start in {START_TIMEOUT:g} s"
                    ) from None
                time.sleep(0.1)


def child_environment() -> dict[str, str]:
    """This environment, with this kto importable however it was (installed, or from src/)."""
    package_root = str(Path(__file__).resolve().parents[1])
    path = os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def end_leftovers(records: Path) -> list[int]:
    """End the children whose kto is gone (none should be, short of a kernel without parent-death
    signals, but a model held in memory by nobody is worth a look); returns their pids. The
    children of a kto still running (another command in this project) are left alone."""
    ended = []
    for record in records.glob("*.pid"):
        with contextlib.suppress(ValueError, OSError):
            pid, parent = map(int, record.read_text().split())
            if parent_of(pid) == parent:
                continue
            if MODULE in Path(f"/proc/{pid}/cmdline").read_text(errors="replace"):
                os.kill(pid, signal.SIGKILL)
                ended.append(pid)
        record.unlink(missing_ok=True)
    return ended


def parent_of(pid: int) -> int | None:
    """The parent pid of a running process, from /proc (None when it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rpartition(")")[2].split()[1])  # after the command name, which may hold spaces


def main(argv: list[str]) -> None:
    parent, port, n_ctx, n_threads = map(int, argv)
    die_with_parent(parent)
    from kto import local_model

    local_model.serve("127.0.0.1", port, n_ctx=n_ctx, n_threads=n_threads)


if __name__ == "__main__":
    main(sys.argv[1:])
