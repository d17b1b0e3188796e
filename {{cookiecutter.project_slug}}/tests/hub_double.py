"""A stand-in for the Hugging Face Hub's HTTP API, on 127.0.0.1, for the few endpoints kto uses.

The Hub cannot be reached from the test machines; the real ``huggingface_hub`` client talks to
this server instead (``HF_ENDPOINT``), so everything above the HTTP boundary is the real code.
Reads of public datasets need no token, as on the Hub; a dataset's tags come from its card.
"""

import base64
import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import yaml

PAGE_SIZE = 100  # datasets per page of a listing; the next page is named in the Link header


@dataclass
class HubDouble:
    user: str = "alice"
    token: str = "hf_test_token"
    token_role: str = "write"  # "read", "write" or "fineGrained" (then see fine_grained)
    fine_grained: dict = field(default_factory=dict)  # whoami's "fineGrained": {"scoped": [...]}
    orgs: list[dict] = field(default_factory=list)  # [{"name": "my-org", "roleInOrg": "write"}]
    repos: dict[str, dict] = field(default_factory=dict)  # "space/ns/name" -> {"private", "sdk", ...}
    files: dict[str, dict[str, bytes]] = field(default_factory=dict)  # as of the last commit
    # Each repository's commits, oldest first: {"id", "title", "message", "date", "files"}.
    history: dict[str, list[dict]] = field(default_factory=dict)
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    # The next `rate_limited` requests whose path starts with `rate_limited_path` are answered 429
    # with Retry-After: `retry_after` seconds.
    rate_limited: int = 0
    rate_limited_path: str = "/"
    retry_after: int = 1
    latency: float = 0.0  # seconds each request waits before its answer (a network's round trip)
    cards: dict[bytes, dict | None] = field(default_factory=dict)  # README -> its parsed metadata
    unreachable: bool = False  # drop every connection unanswered, as a Hub out of reach would

    def start(self) -> str:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.double = self  # type: ignore[attr-defined]  # what each Handler serves
        self.lock = threading.Lock()
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_port}"

    def stop(self) -> None:
        self.server.shutdown()

    def whoami(self) -> dict:
        token = {"displayName": "kto-test", "role": self.token_role}
        if self.token_role == "fineGrained":
            token["fineGrained"] = self.fine_grained
        return {
            "name": self.user,
            "type": "user",
            "orgs": self.orgs,
            "auth": {"type": "access_token", "accessToken": token},
        }

    def add_dataset(self, repo_id: str, files: dict[str, bytes], *, private: bool = False, **meta) -> str:
        """A dataset holding ``files`` in one commit, as if pushed (``meta``: e.g. gated=True);
        returns the commit id."""
        repo = f"dataset/{repo_id}"
        self.repos[repo] = {"private": private, **meta}
        self.files[repo] = dict(files)
        return self.record_commit(repo, "Upload with kto", "")

    def record_commit(self, repo: str, title: str, message: str) -> str:
        commits = self.history.setdefault(repo, [])
        oid = hashlib.sha1(f"{repo}#{len(commits)}".encode()).hexdigest()
        date = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # the Hub's format
        commits.append(
            {
                "id": oid,
                "title": title,
                "message": message,
                "date": date,
                "files": dict(self.files.get(repo, {})),
            }
        )
        return oid

    def throttled(self, path: str) -> bool:
        """Whether this request is one of the rate-limited ones (each uses one up)."""
        with self.lock:
            if self.rate_limited <= 0 or not path.startswith(self.rate_limited_path):
                return False
            self.rate_limited -= 1
            return True

    def visible(self, repo: str, token: str | None) -> bool:
        """Public repositories to anyone; private ones with the token (the double has one user)."""
        return not self.repos[repo].get("private") or token == self.token

    def card(self, repo: str, files: dict[str, bytes] | None = None) -> dict | None:
        """The README's metadata (in ``files``, else the last commit's), as the Hub parses it: None
        without a README or with broken YAML."""
        readme = (self.files.get(repo, {}) if files is None else files).get("README.md", b"")
        if readme not in self.cards:  # parsed once per content: listings read every card
            self.cards[readme] = parsed_card(readme.decode())
        return self.cards[readme]

    def tags(self, repo: str) -> list[str]:
        """The card's tags, plus language:xx and license:xx, as the Hub indexes a dataset."""
        meta = self.card(repo) or {}
        languages = meta.get("language") or []
        extra = [f"language:{code}" for code in ([languages] if isinstance(languages, str) else languages)]
        return (
            list(meta.get("tags") or [])
            + extra
            + ([f"license:{meta['license']}"] if meta.get("license") else [])
        )

    def dataset_item(self, repo: str) -> dict:
        """A dataset as a listing shows it."""
        last = self.history.get(repo, [{}])[-1]
        return {
            "_id": hashlib.sha1(repo.encode()).hexdigest()[:24],
            "id": repo.split("/", 1)[1],
            "author": repo.split("/")[1],
            "sha": last.get("id"),
            "lastModified": last.get("date"),
            "createdAt": self.history.get(repo, [last])[0].get("date"),
            "private": bool(self.repos[repo].get("private")),
            "gated": self.repos[repo].get("gated", False),
            "disabled": bool(self.repos[repo].get("disabled")),
            "downloads": 0,
            "likes": 0,
            "tags": self.tags(repo),
        }

    def dataset_info(self, repo: str, revision: str = "main") -> dict | None:
        """A dataset at a revision (a commit id, or main) as GET /api/datasets/<id>[/revision/<rev>]
        shows it, with its card's metadata and its files; None: no such revision."""
        commits = self.history.get(repo, [])
        found = [commit for commit in commits if revision in (commit["id"], "main")][-1:]
        if not found:
            return None
        files, card = found[0]["files"], self.card(repo, found[0]["files"])
        at = {"sha": found[0]["id"], "lastModified": found[0]["date"]}
        siblings = {"siblings": [{"rfilename": path} for path in sorted(files)]}
        return self.dataset_item(repo) | at | siblings | ({"cardData": card} if card else {})

    def listing(self, query: dict[str, list[str]], token: str | None) -> tuple[list[dict], int | None]:
        """One page of GET /api/datasets (every ``filter`` tag required), and the next page's offset."""
        wanted = set(query.get("filter", []))
        found = [
            repo
            for repo in sorted(self.repos)
            if repo.startswith("dataset/") and self.visible(repo, token) and wanted <= set(self.tags(repo))
        ]
        start = int(query.get("cursor", ["0"])[0])
        limit = min(int(query.get("limit", [PAGE_SIZE])[0]), PAGE_SIZE)
        page = [self.dataset_item(repo) for repo in found[start : start + limit]]
        more = start + limit < len(found) and "limit" not in query  # a limit asks for that many only
        return page, start + limit if more else None


def parsed_card(readme: str) -> dict | None:
    if not readme.startswith("---"):
        return None
    try:
        meta = yaml.load(readme.split("---")[1], Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return None
    return meta if isinstance(meta, dict) else None


class Handler(BaseHTTPRequestHandler):
    """One request to the double (``self.server.double``)."""

    def log_message(self, *args):  # keep test output clean
        pass

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")

    def do_HEAD(self):
        self.route("HEAD")

    @property
    def double(self) -> HubDouble:
        return self.server.double  # type: ignore[attr-defined]

    def route(self, method: str) -> None:
        double = self.double
        if double.unreachable:
            self.close_connection = True
            return
        double.requests.append(f"{method} {self.path}")
        if double.latency:
            time.sleep(double.latency)
        if double.throttled(self.path):
            return self.reply(429, {"error": "rate limited"}, {"Retry-After": str(double.retry_after)})
        authorization = self.headers.get("Authorization")
        self.token = authorization.removeprefix("Bearer ") if authorization else None
        url = urlsplit(self.path)
        parts = url.path.strip("/").split("/")
        # Without a token, only public datasets can be read; a token must be the right one.
        if self.token != double.token and not (self.token is None and self.public_read(method, parts)):
            return self.reply(401, {"error": "Invalid credentials in Authorization header"})
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if len(parts) >= 5 and parts[0] in ("datasets", "spaces") and parts[3] == "resolve":
            return self.resolve(f"{parts[0][:-1]}/{parts[1]}/{parts[2]}", parts[4], "/".join(parts[5:]))
        if parts[:2] == ["api", "datasets"] and method == "GET" and self.dataset_read(parts):
            return self.datasets(parts[2:], parse_qs(url.query))
        if parts[:2] == ["api", "whoami-v2"]:
            return self.reply(200, double.whoami())
        if parts[:2] == ["api", "validate-yaml"]:  # the README's front matter, before a commit
            return self.validate_yaml(json.loads(body)["content"])
        if parts[:3] == ["api", "repos", "create"]:
            return self.create_repo(json.loads(body))
        if len(parts) >= 5 and parts[0] == "api" and parts[1] in ("spaces", "datasets", "models"):
            return self.repo_action(f"{parts[1][:-1]}/{parts[2]}/{parts[3]}", parts[4], body, parts[5:])
        self.reply(404, {"error": f"not in the double: {method} {self.path}"})

    def public_read(self, method: str, parts: list[str]) -> bool:
        """A read the Hub answers without a token: the dataset listing, or a public dataset."""
        if method == "POST" or parts[0] not in ("api", "datasets"):
            return False
        if parts[0] == "api":
            repo = f"dataset/{parts[2]}/{parts[3]}" if parts[1] == "datasets" and len(parts) >= 4 else None
            listing = parts[1:] == ["datasets"]
        else:
            repo, listing = f"dataset/{parts[1]}/{parts[2]}" if len(parts) >= 3 else None, False
        return listing or (repo in self.double.repos and not self.double.repos[repo].get("private"))

    @staticmethod
    def dataset_read(parts: list[str]) -> bool:
        """GET /api/datasets, /api/datasets/<ns>/<name> or .../revision/<rev> (not .../commits)."""
        return len(parts) in (2, 4) or (len(parts) == 6 and parts[4] == "revision")

    def datasets(self, parts: list[str], query: dict[str, list[str]]) -> None:
        """GET /api/datasets (a listing, paged) or /api/datasets/<ns>/<name>[/revision/<rev>]."""
        if not parts:
            page, following = self.double.listing(query, self.token)
            headers = {}
            if following is not None:
                query = query | {"cursor": [str(following)]}
                link = f"http://{self.headers['Host']}/api/datasets?{urlencode(query, doseq=True)}"
                headers["Link"] = f'<{link}>; rel="next"'
            return self.reply(200, page, headers)
        repo = f"dataset/{parts[0]}/{parts[1]}"
        if repo not in self.double.repos or not self.double.visible(repo, self.token):
            return self.not_found(repo)
        if self.double.repos[repo].get("disabled"):  # listed, but taken down: no one may read it
            return self.reply(
                403, {"error": f"Access to {repo} has been disabled"}, {"X-Error-Code": "Disabled"}
            )
        info = self.double.dataset_info(repo, parts[3] if len(parts) == 4 else "main")
        if info is None:
            return self.reply(
                404, {"error": f"Revision not found: {parts[3]}"}, {"X-Error-Code": "RevisionNotFound"}
            )
        self.reply(200, info)

    def repo_action(self, repo: str, action: str, body: bytes, rest: list[str]) -> None:
        double = self.double
        if repo not in double.repos:
            return self.not_found(repo)
        if action == "preupload":
            files = json.loads(body)["files"]
            modes = [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files]
            return self.reply(200, {"files": modes})
        if action == "commit":
            return self.commit(repo, body)
        if action == "commits":
            return self.reply(200, [self.listed(commit) for commit in reversed(self.commits(repo))])
        if action == "tree":  # /api/<kind>s/<ns>/<name>/tree/<revision>/<folder>
            return self.tree(repo, "/".join(rest[1:]))
        if action == "secrets":
            secret = json.loads(body)
            double.secrets.setdefault(repo, {})[secret["key"]] = secret["value"]
            return self.reply(200, {})
        self.reply(404, {"error": f"not in the double: {action} of {repo}"})

    def tree(self, repo: str, folder: str) -> None:
        """The files under ``folder`` as of the last commit (one page, no Link header)."""
        files = self.double.files.get(repo, {})
        found = [
            {"type": "file", "path": path, "size": len(data), "oid": hashlib.sha1(data).hexdigest()}
            for path, data in files.items()
            if path.startswith(f"{folder}/")
        ]
        if not found:
            return self.reply(
                404, {"error": f"EntryNotFound: {repo}/{folder}"}, {"X-Error-Code": "EntryNotFound"}
            )
        self.reply(200, found)

    def not_found(self, repo: str) -> None:
        self.reply(404, {"error": f"Repository not found: {repo}"}, {"X-Error-Code": "RepoNotFound"})

    def create_repo(self, payload: dict) -> None:
        kind = payload.get("type", "model")
        repo = f"{kind}/{payload['organization'] or self.double.user}/{payload['name']}"
        if repo in self.double.repos:
            return self.reply(409, {"error": "You already created this repo", "url": self.repo_url(repo)})
        # huggingface_hub 2.x sends "visibility"; older clients sent "private": true.
        private = payload.get("visibility") == "private" or payload.get("private") is True
        self.double.repos[repo] = {**payload, "private": private}
        self.reply(200, {"url": self.repo_url(repo)})

    def validate_yaml(self, readme: str) -> None:
        try:
            meta = yaml.safe_load(readme.split("---")[1]) if readme.startswith("---") else {}
            errors = [] if isinstance(meta, dict) else [{"message": "metadata must be a mapping"}]
        except yaml.YAMLError as error:
            errors = [{"message": str(error)}]
        self.reply(400 if errors else 200, {"errors": errors, "warnings": []})

    def commit(self, repo: str, body: bytes) -> None:
        title, message = "", ""
        for line in body.decode().splitlines():
            item = json.loads(line)
            if item["key"] == "header":
                title, message = item["value"]["summary"], item["value"].get("description", "")
            if item["key"] == "file":
                content = base64.b64decode(item["value"]["content"])
                self.double.files.setdefault(repo, {})[item["value"]["path"]] = content
        oid = self.double.record_commit(repo, title, message)
        commit = f"{self.repo_url(repo)}/commit/{oid}"
        self.reply(200, {"commitUrl": commit, "commitOid": oid, "pullRequestUrl": None})

    def commits(self, repo: str) -> list[dict]:
        return self.double.history.setdefault(repo, [])

    def listed(self, commit: dict) -> dict:
        """A commit as the Hub lists it (GET /api/<kind>s/<repo>/commits/<revision>)."""
        fields = ("id", "title", "message", "date")
        return {key: commit[key] for key in fields} | {"authors": [{"user": self.double.user}]}

    def resolve(self, repo: str, revision: str, path: str) -> None:
        """A file at a revision (a commit id, or main): HEAD for its metadata, GET for it."""
        double = self.double
        if repo in double.repos and not double.visible(repo, self.token):
            return self.not_found(repo)
        if repo in double.repos and double.repos[repo].get("gated"):
            return self.reply(
                403, {"error": f"Access to {repo} is restricted"}, {"X-Error-Code": "GatedRepo"}
            )
        commits = self.commits(repo) if repo in double.repos else []
        found = [c for c in commits if revision in (c["id"], "main")][-1:]
        if not found or path not in found[0]["files"]:
            code = "RevisionNotFound" if not found else "EntryNotFound"
            return self.reply(404, {"error": f"{code}: {repo}@{revision}/{path}"}, {"X-Error-Code": code})
        content = found[0]["files"][path]
        self.send_response(200)
        self.send_header("X-Repo-Commit", found[0]["id"])
        self.send_header("ETag", f'"{hashlib.sha1(content).hexdigest()}"')
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        if self.command == "GET":
            self.wfile.write(content)

    def repo_url(self, repo: str) -> str:
        """The Hub's URL shape, on this server: /spaces/ns/name, /datasets/ns/name, /ns/name."""
        kind, name = repo.split("/", 1)
        prefix = {"space": "spaces/", "dataset": "datasets/"}.get(kind, "")
        return f"http://{self.headers['Host']}/{prefix}{name}"

    def reply(self, status: int, payload: dict | list, headers: dict | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
