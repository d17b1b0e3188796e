"""``kto argilla up | down | status``: a real Argilla 2.8 server on 127.0.0.1, without Docker.

argilla-server runs in its own virtual environment (it pins typer 0.9, which breaks with the
click the project needs), beside an in-memory OpenSearch-compatible engine (osmem-server, from
PyPI), Redis for background jobs, and SQLite. The SQLite file under ``.argilla/`` is the data;
the search index is rebuilt from it at each start, so data survives ``down`` and ``up``.
Every process of the server carries KTO_ARGILLA_HOME=<its .argilla folder> in its environment, so
that ``up`` and ``down`` end whatever a crash left running (kto.processes). Redis overwrites that
part of its memory with its process title: it forks nothing here, and state.json names it.
"""

import json
import logging
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path

import psutil

from kto import processes
from kto.errors import KtoError

SERVER_PACKAGES = [
    "argilla-server==2.8.0",  # the last release, and the version the SDK (argilla==2.8.0) speaks to
    "click<8.2",  # argilla-server's typer 0.9 fails with click >= 8.2
    "osmem-server==0.1.6",  # in-memory OpenSearch-compatible search engine, a static binary
]
# Share one server installation between projects (tests do): KTO_ARGILLA_VENV=/some/dir
VENV_VARIABLE = "KTO_ARGILLA_VENV"
# In the environment of each process of the server, inherited by each of theirs.
MARKER = "KTO_ARGILLA_HOME"
PREFERRED_PORT = 6900
START_TIMEOUT = 90.0
PROCESSES = ("search", "redis", "server", "worker")
WATCHER, WATCHER_PORT = "watcher", 6901  # kto watch (the ratings journal), started beside the server
# Redis only carries the background jobs' queue: nothing to keep on disk.
REDIS_OPTIONS = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]


@dataclass(frozen=True)
class Login:
    username: str
    password: str
    api_key: str = ""  # kto uses the owner's; annotators sign in with their password


class LocalArgilla:
    def __init__(self, root: Path):
        self.dir = root / ".argilla"
        self.home = self.dir / "home"
        self.logs = self.dir / "logs"
        self.state_file = self.dir / "state.json"
        self.users_file = self.dir / "users.json"
        self.env_file = self.dir / "local.env"
        self.venv = Path(os.environ.get(VENV_VARIABLE) or self.dir / "venv")

    # -- state -------------------------------------------------------------------------------

    def state(self) -> dict:
        return json.loads(self.state_file.read_text()) if self.state_file.exists() else {}

    def users(self) -> dict[str, Login]:
        if not self.users_file.exists():
            return {}
        return {name: Login(**login) for name, login in json.loads(self.users_file.read_text()).items()}

    def running(self) -> dict[str, bool]:
        pids = self.state().get("pids", {})
        return {name: processes.is_ours(pids[name], self.dir) for name in PROCESSES if name in pids}

    @property
    def url(self) -> str | None:
        port = self.state().get("ports", {}).get("server")
        return f"http://127.0.0.1:{port}" if port else None

    # -- up ----------------------------------------------------------------------------------

    def up(self, annotators: int, workspace: str, say=print, watch=True) -> tuple[str, dict[str, Login]]:
        redis = shutil.which("redis-server")
        if redis is None:
            raise KtoError(
                "argilla",
                "redis-server is not installed: apt-get install redis-server (or brew install redis)",
            )
        running, url = self.running(), self.url
        if running and all(running.values()) and url:
            self._end_strays(say)
            logins = self._ensure_annotators(url, self.users()["owner"], annotators, workspace)
            self._write_env_file(url, logins)
            self._start_watcher(url, say, watch)
            return url, logins
        self._end_what_a_crash_left(running, say)
        self._install_server(say)
        for folder in (self.home, self.logs):
            folder.mkdir(parents=True, exist_ok=True)
        had_data = (self.home / "argilla.db").exists()
        ports = {"search": _free_port(), "redis": _free_port()}
        env = self._server_env(ports)
        pids: dict[str, int] = {}
        self._save_state(pids, ports)
        try:
            pids["search"] = self._start(
                "search",
                [self._bin("osmem-server"), "-addr", f"127.0.0.1:{ports['search']}", "-no-stdin-watch"],
                env,
            )
            pids["redis"] = self._start("redis", [redis, *REDIS_OPTIONS, "--port", str(ports["redis"])], env)
            self._save_state(pids, ports)
            search_url = f"http://127.0.0.1:{ports['search']}/"
            _wait_for(lambda: _http_ok(search_url), "the search engine", pids["search"], self.logs)
            _wait_for(lambda: not _port_is_free(ports["redis"]), "redis", pids["redis"], self.logs)
            say("Preparing the database...")
            self._manage(env, "database", "migrate")
            if had_data:
                self._manage(env, "search-engine", "reindex")
            owner = self._create_owner(env)
            # Chosen just before it is bound, not before the minute of migrations, in which another
            # server may take the preferred port.
            ports["server"] = PREFERRED_PORT if _port_is_free(PREFERRED_PORT) else _free_port()
            listen = ["--host", "127.0.0.1", "--port", str(ports["server"])]
            pids["server"] = self._start("server", [*self._server_command(), "start", *listen], env)
            pids["worker"] = self._start("worker", [*self._server_command(), "worker"], env)
            self._save_state(pids, ports)
            url = f"http://127.0.0.1:{ports['server']}"
            # Ours, not another server that took the port first: it knows our owner's key.
            serving = lambda: _http_ok(f"{url}/api/v1/me", owner.api_key)  # noqa: E731
            _wait_for(serving, "the Argilla server", pids["server"], self.logs)
            logins = self._ensure_annotators(url, owner, annotators, workspace)
            self._write_env_file(url, logins)
        except BaseException:  # whatever failed, leave nothing running behind
            self.down()
            raise
        self._start_watcher(url, say, watch)
        return url, logins

    def _start_watcher(self, url: str, say, wanted: bool) -> None:
        """``kto watch`` for this server (unless it runs), whatever server the environment names."""
        state = self.state()
        pids, ports = state.get("pids", {}), state.get("ports", {})
        if not wanted or (pids.get(WATCHER) and processes.is_ours(pids[WATCHER], self.dir)):
            return
        ports[WATCHER] = WATCHER_PORT if _port_is_free(WATCHER_PORT) else _free_port()
        env = {**os.environ, "ARGILLA_API_URL": url, MARKER: self.marker}
        env["ARGILLA_API_KEY"] = self.users()["owner"].api_key
        config = str(self.dir.parent.resolve() / "project.yaml")
        command = [sys.executable, "-m", "kto", "--config", config, "watch", "--port", str(ports[WATCHER])]
        pids[WATCHER] = self._start(WATCHER, command, env)
        self._save_state(pids, ports)
        say(f"The ratings watcher journals to data/watch/ (port {ports[WATCHER]}; .argilla/logs/watcher.log)")

    def _end_what_a_crash_left(self, running: dict[str, bool], say) -> None:
        """Stop what a crash or a kill -9 left behind, down to the orphans of the worker's forks
        (the data is safe in SQLite)."""
        left = self.down()
        if any(running.values()):
            gone = [name for name, alive in running.items() if not alive]
            say(f"A previous server was half running ({', '.join(gone)} had stopped): stopped the rest")
        elif left:
            say(f"Stopped what a previous server left running: {', '.join(left)}")

    def _install_server(self, say) -> None:
        marker = self.venv / "kto-server-packages.txt"
        wanted = "\n".join(SERVER_PACKAGES)
        if marker.exists() and marker.read_text() == wanted:
            return
        say(f"Installing the Argilla server in {self.venv} (first time only, about a minute)...")
        subprocess.run([sys.executable, "-m", "venv", str(self.venv)], check=True)
        result = subprocess.run(
            [
                self._python(),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                *SERVER_PACKAGES,
            ],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise KtoError(
                "argilla", f"could not install the server: {result.stderr.strip().splitlines()[-1:]}"
            )
        marker.write_text(wanted)

    def _server_command(self) -> list[str]:
        """``python -m argilla_server`` with the osmem-server shim (see argilla_server_launcher.py)."""
        return [self._python(), str(Path(__file__).with_name("argilla_server_launcher.py"))]

    def _python(self) -> str:
        return str(self.venv / "bin" / "python")

    def _bin(self, name: str) -> str:
        found = list((self.venv / "lib").glob(f"python*/site-packages/osmem_server/bin/{name}"))
        if not found:
            raise KtoError(
                "argilla", f"{name} is missing from {self.venv}: delete that folder and run up again"
            )
        return str(found[0])

    def _server_env(self, ports: dict[str, int]) -> dict[str, str]:
        return {
            **os.environ,
            "ARGILLA_HOME_PATH": str(self.home),
            "ARGILLA_SEARCH_ENGINE": "opensearch",
            "ARGILLA_ELASTICSEARCH": f"http://127.0.0.1:{ports['search']}",
            "ARGILLA_DATABASE_URL": f"sqlite+aiosqlite:///{self.home / 'argilla.db'}",
            "ARGILLA_REDIS_URL": f"redis://127.0.0.1:{ports['redis']}/0",
            "ARGILLA_ENABLE_TELEMETRY": "0",
            "HF_HUB_DISABLE_TELEMETRY": "1",
            MARKER: self.marker,
        }

    @property
    def marker(self) -> str:
        return str(self.dir.resolve())

    def _start(self, name: str, command: list[str], env: dict[str, str]) -> int:
        log = (self.logs / f"{name}.log").open("ab")
        # A session of its own: Ctrl+C in the terminal that ran `up` does not stop the server.
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.dir, start_new_session=True
        )
        return process.pid

    def _manage(self, env: dict[str, str], *command: str) -> str:
        result = subprocess.run(
            [self._python(), "-m", "argilla_server", *command], env=env, capture_output=True, text=True
        )
        if result.returncode != 0:
            raise KtoError(
                "argilla", f"argilla_server {' '.join(command)} failed: {result.stderr.strip()[-300:]}"
            )
        return result.stdout

    def _create_owner(self, env: dict[str, str]) -> Login:
        owner = self.users().get("owner") or Login("owner", _secret(), f"owner.{_secret()}")
        self._manage(
            env, "database", "users", "create", "--username", owner.username, "--password", owner.password,
            "--api-key", owner.api_key, "--role", "owner", "--first-name", "Owner",
        )  # fmt: skip
        self._save_users({**self.users(), "owner": owner})
        return owner

    def _ensure_annotators(self, url: str, owner: Login, count: int, workspace: str) -> dict[str, Login]:
        """Annotator accounts (created through the API: faster than one CLI process each), all
        members of ``workspace``, where Hugging Face sign-ins land on a Space too."""
        import argilla as rg

        quiet_sdk()
        client = rg.Argilla(api_url=url, api_key=owner.api_key)
        space = client.workspaces(workspace) or rg.Workspace(name=workspace, client=client).create()
        logins = self.users()
        for name in (f"annotator{n}" for n in range(1, count + 1)):
            user = client.users(name)
            if user is None:
                login = logins.get(name) or Login(name, _secret())
                user = rg.User(
                    username=name, password=login.password, role="annotator", client=client
                ).create()
                logins[name] = login
            if name not in {member.username for member in space.users}:
                space.add_user(user)
        self._save_users(logins)
        return logins

    def _save_users(self, logins: dict[str, Login]) -> None:
        self.users_file.write_text(
            json.dumps({name: vars(login) for name, login in logins.items()}, indent=2)
        )
        self.users_file.chmod(0o600)

    def _write_env_file(self, url: str, logins: dict[str, Login]) -> None:
        annotators = [login for name, login in logins.items() if name != "owner"]
        self.env_file.write_text(
            "# Written by `kto argilla up` for the local server; kto reads it when the environment has no\n"
            "# ARGILLA_API_URL. The annotators sign in at ARGILLA_API_URL with these logins.\n"
            f"ARGILLA_API_URL={url}\nARGILLA_API_KEY={logins['owner'].api_key}\n"
            + "".join(f"KTO_ANNOTATOR_{n}={a.username}:{a.password}\n" for n, a in enumerate(annotators, 1))
        )
        self.env_file.chmod(0o600)

    def _save_state(self, pids: dict[str, int], ports: dict[str, int]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(json.dumps({"pids": pids, "ports": ports}, indent=2))

    # -- down --------------------------------------------------------------------------------

    def down(self) -> list[str]:
        """Stop the processes ``up`` started, then any other process of this server (by its marker:
        children orphaned by a crash); the data stays."""
        pids = self.state().get("pids", {})
        stopped = []
        for name in (WATCHER, *reversed(PROCESSES)):  # the watcher first: its last push
            pid = pids.get(name)
            if pid and processes.is_ours(pid, self.dir):
                processes.stop_group(pid)
                stopped.append(name)
        strays = processes.marked(MARKER, self.marker)
        processes.end(strays)
        if strays:
            stopped.append(_orphans(len(strays)))
        self.state_file.unlink(missing_ok=True)
        return stopped

    def wipe(self) -> list[str]:
        """After ``down``: delete what ``.argilla/`` holds (the data, logs and logins) but the
        server's virtualenv, so that the next ``up`` starts empty without installing it again."""
        wiped = []
        for path in sorted(self.dir.iterdir()) if self.dir.is_dir() else []:
            if path.resolve() == self.venv.resolve():
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
            wiped.append(path.name)
        return wiped

    def _end_strays(self, say) -> None:
        """End the marked processes that descend from none of the running server's: an earlier
        server's, orphaned by a crash."""
        family = set()
        for pid in self.state().get("pids", {}).values():
            try:
                family |= {pid, *(child.pid for child in psutil.Process(pid).children(recursive=True))}
            except psutil.Error:
                continue
        strays = [process for process in processes.marked(MARKER, self.marker) if process.pid not in family]
        processes.end(strays)
        if strays:
            say(f"Stopped {_orphans(len(strays))} of an earlier server")


def _orphans(count: int) -> str:
    return f"{count} orphaned process{'es' if count > 1 else ''}"


def quiet_sdk() -> None:
    """Keep the SDK's chatter ("not found" warnings, batch-size notes) out of kto's output."""
    warnings.filterwarnings("ignore", message=".* not found", module=r"argilla\.")
    logging.getLogger("argilla.sdk").setLevel(logging.ERROR)


def _secret() -> str:
    return secrets.token_urlsafe(18)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def _http_ok(url: str, api_key: str | None = None) -> bool:
    request = urllib.request.Request(url, headers={"X-Argilla-Api-Key": api_key} if api_key else {})
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _wait_for(ready, what: str, pid: int, logs: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not ready():
        if not processes.alive(pid):
            raise KtoError("argilla", f"{what} stopped while starting (a port taken?): see {logs}")
        if time.monotonic() > deadline:
            raise KtoError("argilla", f"{what} did not start within {START_TIMEOUT:.0f} s: see {logs}")
        time.sleep(0.3)
