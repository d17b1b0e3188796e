"""A stand-in for the Hugging Face Hub's HTTP API, on 127.0.0.1, for the few endpoints kto uses.

The Hub cannot be reached from the test machines; the real ``huggingface_hub`` client talks to
this server instead (``HF_ENDPOINT``), so everything above the HTTP boundary is the real code.
"""

import base64
import hashlib
import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import yaml


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
    unreachable: bool = False  # drop every connection unanswered, as a Hub out of reach would

    def start(self) -> str:
        double = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                self.route("GET")

            def do_POST(self):
                self.route("POST")

            def do_HEAD(self):
                self.route("HEAD")

            def route(self, method: str) -> None:
                if double.unreachable:
                    self.close_connection = True
                    return
                double.requests.append(f"{method} {self.path}")
                if self.headers.get("Authorization") != f"Bearer {double.token}":
                    return self.reply(401, {"error": "Invalid credentials in Authorization header"})
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = self.path.split("?")[0].strip("/").split("/")
                if len(parts) >= 5 and parts[0] in ("datasets", "spaces") and parts[3] == "resolve":
                    return self.resolve(
                        f"{parts[0][:-1]}/{parts[1]}/{parts[2]}", parts[4], "/".join(parts[5:])
                    )
                if parts[:2] == ["api", "whoami-v2"]:
                    return self.reply(200, double.whoami())
                if parts[:2] == ["api", "validate-yaml"]:  # the README's front matter, before a commit
                    return self.validate_yaml(json.loads(body)["content"])
                if parts[:3] == ["api", "repos", "create"]:
                    return self.create_repo(json.loads(body))
                if len(parts) >= 5 and parts[0] == "api" and parts[1] in ("spaces", "datasets", "models"):
                    repo = f"{parts[1][:-1]}/{parts[2]}/{parts[3]}"
                    if repo not in double.repos:
                        return self.reply(404, {"error": f"Repository not found: {repo}"})
                    action = parts[4]
                    if action == "preupload":
                        files = json.loads(body)["files"]
                        return self.reply(
                            200,
                            {
                                "files": [
                                    {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                                    for f in files
                                ]
                            },
                        )
                    if action == "commit":
                        return self.commit(repo, body)
                    if action == "commits":
                        return self.reply(
                            200, [self.listed(commit) for commit in reversed(self.commits(repo))]
                        )
                    if action == "tree":  # /api/<kind>s/<ns>/<name>/tree/<revision>/<folder>
                        return self.tree(repo, "/".join(parts[6:]))
                    if action == "secrets":
                        secret = json.loads(body)
                        double.secrets.setdefault(repo, {})[secret["key"]] = secret["value"]
                        return self.reply(200, {})
                self.reply(404, {"error": f"not in the double: {method} {self.path}"})

            def create_repo(self, payload: dict) -> None:
                kind = payload.get("type", "model")
                repo = f"{kind}/{payload['organization'] or double.user}/{payload['name']}"
                if repo in double.repos:
                    return self.reply(
                        409, {"error": "You already created this repo", "url": self.repo_url(repo)}
                    )
                # huggingface_hub 2.x sends "visibility"; older clients sent "private": true.
                private = payload.get("visibility") == "private" or payload.get("private") is True
                double.repos[repo] = {**payload, "private": private}
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
                        double.files.setdefault(repo, {})[item["value"]["path"]] = content
                commits = self.commits(repo)
                oid = hashlib.sha1(f"{repo}#{len(commits)}".encode()).hexdigest()
                commits.append(
                    {
                        "id": oid,
                        "title": title,
                        "message": message,
                        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),  # the Hub's format
                        "files": dict(double.files.get(repo, {})),
                    }
                )
                commit = f"{self.repo_url(repo)}/commit/{oid}"
                self.reply(200, {"commitUrl": commit, "commitOid": oid, "pullRequestUrl": None})

            def tree(self, repo: str, folder: str) -> None:
                """The files under ``folder`` as of the last commit (one page, no Link header)."""
                files = double.files.get(repo, {})
                found = [
                    {"type": "file", "path": path, "size": len(data), "oid": hashlib.sha1(data).hexdigest()}
                    for path, data in files.items()
                    if path.startswith(f"{folder}/")
                ]
                if not found:
                    code = {"X-Error-Code": "EntryNotFound"}
                    return self.reply(404, {"error": f"EntryNotFound: {repo}/{folder}"}, code)
                self.reply(200, found)

            def commits(self, repo: str) -> list[dict]:
                return double.history.setdefault(repo, [])

            def listed(self, commit: dict) -> dict:
                """A commit as the Hub lists it (GET /api/<kind>s/<repo>/commits/<revision>)."""
                fields = ("id", "title", "message", "date")
                return {key: commit[key] for key in fields} | {"authors": [{"user": double.user}]}

            def resolve(self, repo: str, revision: str, path: str) -> None:
                """A file at a revision (a commit id, or main): HEAD for its metadata, GET for it."""
                commits = self.commits(repo) if repo in double.repos else []
                found = [c for c in commits if revision in (c["id"], "main")][-1:]
                if not found or path not in found[0]["files"]:
                    code = "RevisionNotFound" if not found else "EntryNotFound"
                    return self.reply(
                        404, {"error": f"{code}: {repo}@{revision}/{path}"}, {"X-Error-Code": code}
                    )
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

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_port}"

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

    def stop(self) -> None:
        self.server.shutdown()
