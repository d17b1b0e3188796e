"""``kto doctor``: a preflight before spending tokens, one finding per check, each with its fix.

Every check is a small function returning findings; nothing is changed anywhere. ``kto generate``
calls :func:`check_models` for the slots it is about to use.
"""

import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from kto.config import HF_ROUTER_URL, ModelSlot, ProjectConfig
from kto.errors import KtoError, one_line, short

Status = Literal["ok", "warn", "fail"]
TIMEOUT = 15.0
# Models that think before answering by default: a <think> block eats max_new_tokens, so a haiku is
# cut off and a judge asked for one digit never gives it. Hybrid Qwen3 ids think unless they are
# the -Instruct ones; the others are reasoning models by name.
THINKING = re.compile(r"qwen3(?!.*instruct)|deepseek-r1|qwq|magistral|thinking|reasoning", re.IGNORECASE)
ROLES_THAT_WRITE = ("admin", "write", "contributor")


@dataclass(frozen=True)
class Finding:
    check: str
    status: Status
    message: str
    fix: str = ""

    def line(self) -> str:
        fix = f" -> {self.fix}" if self.fix and self.status != "ok" else ""
        return f"{self.status:4} " + one_line(f"{self.check}: {self.message}{fix}")


def failed(findings: list[Finding]) -> list[Finding]:
    return [finding for finding in findings if finding.status == "fail"]


def raise_on_failure(findings: list[Finding]) -> None:
    """For commands about to work: the first failing check as kto's one-line error."""
    if bad := failed(findings):
        first = bad[0]
        more = f" ({len(bad) - 1} more: run kto doctor)" if len(bad) > 1 else ""
        raise KtoError(first.check, f"{first.message}; {first.fix}{more}")


def run_checks(load: Callable[[], ProjectConfig]) -> list[Finding]:
    """Every check, in the order a campaign needs them; ``load`` reads project.yaml (and .env)."""
    try:
        config = load()
    except KtoError as error:
        return [
            Finding("config", "fail", str(error), "fix project.yaml (the message names the setting)"),
            check_redis(),
        ]
    findings = [Finding("config", "ok", f"{config.root / 'project.yaml'} is valid")]
    slots = [*config.generation.models, config.suggest.judge]
    findings += check_models(slots, judge=config.suggest.judge)
    findings += check_argilla(config)
    findings += check_hub(config, token_reported=any(slot.api_key_env == "HF_TOKEN" for slot in slots))
    findings.append(check_redis())
    findings.append(check_template(config.root))
    return findings


# -- models ----------------------------------------------------------------------------------


def check_models(slots: list[ModelSlot], judge: ModelSlot | None = None) -> list[Finding]:
    """Keys set, servers answering, each model listed by its server, no thinking-by-default pick.

    One finding per missing key variable (not per slot), then one per slot whose key is there;
    the ``judge`` slot's lines say "judge", so a judge that is also a generator is not a twin line.
    """
    findings, keyed = check_keys(slots)

    def labelled(slot: ModelSlot, finding: Finding) -> Finding:
        return replace(finding, check=f"judge {slot.id}") if slot is judge else finding

    findings += [labelled(slot, model_listed(slot, listing)) for slot, listing in listings(keyed)]
    findings += [labelled(slot, thinking_warning(slot)) for slot in slots if thinks_first(slot)]
    return findings


def unserved(slots: list[ModelSlot]) -> list[Finding]:
    """For ``kto generate``, before it asks anything: the slots whose server answers but does not
    list their model. A server that does not answer is left to the run, where its slot fails
    alone and a later run fills the gap."""
    keyed = [(slot, slot.api_key()) for slot in slots if slot.backend == "openai"]
    found = [model_listed(slot, listing) for slot, listing in listings(keyed) if isinstance(listing, list)]
    return [finding for finding in found if finding.status == "fail"]


def listings(keyed: list[tuple[ModelSlot, str]]) -> list[tuple[ModelSlot, list[str] | Finding]]:
    """Each slot with what its server lists, asking each (server, key) once."""
    asked: dict[tuple[str, str], list[str] | Finding] = {}
    for slot, key in keyed:
        where = (slot.base_url or "", key)
        if where not in asked:
            asked[where] = served_models(slot.base_url or "", key, slot.api_key_env)
    return [(slot, asked[(slot.base_url or "", key)]) for slot, key in keyed]


def check_keys(slots: list[ModelSlot]) -> tuple[list[Finding], list[tuple[ModelSlot, str]]]:
    """Findings for the key variables that are not set, and the slots (with their key) that can
    be asked; the embedded model needs neither."""
    missing: dict[str, list[str]] = {}
    keyed = []
    for slot in slots:
        if slot.backend != "openai":
            continue
        try:
            keyed.append((slot, slot.api_key()))
        except KtoError:
            missing.setdefault(slot.api_key_env or "", []).append(slot.id)
    findings = [
        Finding(
            f"key {variable}",
            "fail",
            f"not set (needed by {', '.join(dict.fromkeys(users))})",
            f"export {variable}=... or put it in .env"
            + (" (or run `hf auth login`)" if variable == "HF_TOKEN" else ""),
        )
        for variable, users in missing.items()
    ]
    return findings, keyed


def served_models(base_url: str, key: str, key_env: str | None) -> list[str] | Finding:
    """The model ids ``GET {base_url}/models`` lists (the Hugging Face router lists what its
    providers serve), or a failing finding for the server."""
    import requests

    check = f"server {base_url}"
    try:
        reply = requests.get(
            f"{base_url.rstrip('/')}/models", headers={"Authorization": f"Bearer {key}"}, timeout=TIMEOUT
        )
    except requests.RequestException as error:
        return Finding(check, "fail", f"no answer ({short(error, 160)})", "start the server or fix base_url")
    if reply.status_code in (401, 403):
        return Finding(
            check, "fail", f"refused the key from {key_env} (HTTP {reply.status_code})", f"check {key_env}"
        )
    try:
        reply.raise_for_status()
        return [str(model["id"]) for model in reply.json()["data"]]
    except (requests.RequestException, ValueError, KeyError, TypeError) as error:
        return Finding(
            check,
            "fail",
            f"GET /models did not list models ({short(error, 160)})",
            "base_url must be an OpenAI-compatible API, usually ending in /v1",
        )


def model_listed(slot: ModelSlot, listing: list[str] | Finding) -> Finding:
    check = f"model {slot.id}"
    if isinstance(listing, Finding):
        return Finding(check, "fail", f"{slot.base_url}: {listing.message}", listing.fix)
    # The router accepts "model:provider" (or ":fastest"); it lists the model without the suffix.
    name = slot.served_model or slot.id
    if name in listing or name.split(":")[0] in listing:
        return Finding(check, "ok", f"served by {slot.base_url}")
    router = (slot.base_url or "").rstrip("/") == HF_ROUTER_URL
    return Finding(
        check,
        "fail",
        f"{name} is not served by {'any Inference Provider' if router else slot.base_url}"
        f" ({len(listing)} models listed{': ' + ', '.join(listing[:5]) if listing and not router else ''})",
        "pick a model the server lists"
        + (" (see huggingface.co/models?inference_provider=all)" if router else ", or set served_model"),
    )


def thinks_first(slot: ModelSlot) -> bool:
    return any(THINKING.search(name) for name in (slot.id, slot.served_model or ""))


def thinking_warning(slot: ModelSlot) -> Finding:
    return Finding(
        f"model {slot.id}",
        "warn",
        "looks like a model that thinks before it answers (<think>...</think>): within max_new_tokens "
        "its answer may be cut off, and as a judge it may never give its digit",
        "pick an instruct model (such as Qwen/Qwen3-235B-A22B-Instruct-2507); kto keeps the thinking "
        "in raw_generation_responses and removes it from generations",
    )


# -- Argilla, the Hub, redis -------------------------------------------------------------------


def check_argilla(config: ProjectConfig) -> list[Finding]:
    """The server answers with the key, and an existing dataset has the settings kto would give it."""
    from kto import annotation, argilla_client
    from kto.argilla_settings import changeable, differences, signature

    local = config.path(".argilla/local.env")
    if not os.environ.get("ARGILLA_API_URL") and not local.exists():
        return [
            Finding(
                "argilla",
                "warn",
                "no server configured yet",
                "set ARGILLA_API_URL and ARGILLA_API_KEY (a Space: kto space create), or run kto argilla up",
            )
        ]
    try:
        client = argilla_client.connect(config)
    except KtoError as error:  # no server, a refused key
        fix = "check ARGILLA_API_URL and ARGILLA_API_KEY"
        return [Finding("argilla", "fail", str(error).removeprefix("argilla: "), fix)]
    try:
        dataset = client.datasets(config.argilla.dataset, workspace=config.argilla.workspace)
    except Exception as error:  # the SDK's errors for an answer it did not expect (a proxy page...)
        return [Finding("argilla", "fail", short(error), "check ARGILLA_API_URL")]
    findings = [Finding("argilla", "ok", f"{client.api_url} accepts the key")]
    name = f"{config.argilla.workspace}/{config.argilla.dataset}"
    if dataset is None:
        findings.append(
            Finding("argilla dataset", "ok", f"{name} does not exist yet (kto annotate creates it)")
        )
        return findings
    wanted = annotation.settings(config, client)
    differ = differences(signature(dataset.settings), signature(wanted))
    on_server = changeable(dataset.settings)
    edited = [key for key, value in changeable(wanted).items() if on_server.get(key) != value]
    if differ:
        message = f"{name} exists with other settings, which Argilla cannot change ({', '.join(differ)})"
        findings.append(Finding("argilla dataset", "fail", message, annotation.OTHER_NAME))
    elif edited:
        message = f"{name} differs from project.yaml in {', '.join(edited)}"
        findings.append(Finding("argilla dataset", "warn", message, "kto annotate updates the dataset"))
    else:
        findings.append(Finding("argilla dataset", "ok", f"{name} has the configured settings and texts"))
    return findings


def check_hub(config: ProjectConfig, *, token_reported: bool = False) -> list[Finding]:
    """The token is valid and may write to ``hub.namespace`` (user, organisation role, token role)."""
    from huggingface_hub import HfApi, constants, get_token

    from kto.hub import cause, why_unreachable

    namespace = config.hub.namespace
    token = get_token()  # HF_TOKEN, else the token `hf auth login` stored
    if not token:
        fix = "export HF_TOKEN=... (a write token) or run `hf auth login`"
        return [] if token_reported else [Finding("hub", "fail", "no Hugging Face token", fix)]
    if constants.HF_HUB_OFFLINE:
        return [
            Finding("hub", "warn", "HF_HUB_OFFLINE is set: the token was not checked", "unset HF_HUB_OFFLINE")
        ]
    if problem := why_unreachable():
        return [Finding("hub", "fail", f"the token was not checked: {problem}", "")]
    try:
        me = HfApi().whoami(token=token)
    except Exception as error:  # the Hub answered: a refused token, most likely; cause() says which
        return [Finding("hub", "fail", cause(error), "")]
    return [write_access(me, namespace)]


def write_access(me: dict, namespace: str) -> Finding:
    """Whether whoami's answer allows writing to ``namespace``."""
    user = me.get("name", "?")
    token = (me.get("auth") or {}).get("accessToken") or {}
    fix = f"use a write token of an account that may write to {namespace}"
    if token.get("role") == "read":
        return Finding("hub", "fail", f"the token of {user} is read-only", fix)
    if token.get("role") == "fineGrained":
        scopes = (token.get("fineGrained") or {}).get("scoped") or []
        if not any(
            scope.get("entity", {}).get("name") == namespace and "repo.write" in scope.get("permissions", [])
            for scope in scopes
        ):
            return Finding(
                "hub", "fail", f"the fine-grained token of {user} cannot write to {namespace}", fix
            )
    if namespace == user:
        return Finding("hub", "ok", f"token of {user}, who may write to {namespace}")
    role = next((org.get("roleInOrg") for org in me.get("orgs") or [] if org.get("name") == namespace), None)
    if role is None:
        return Finding(
            "hub", "fail", f"{user} is not a member of {namespace}", fix + " (or change hub.namespace)"
        )
    if role not in ROLES_THAT_WRITE:
        return Finding("hub", "fail", f"{user} has the role {role!r} in {namespace}, which cannot write", fix)
    return Finding("hub", "ok", f"token of {user}, {role} in {namespace}")


def check_template(root: Path) -> Finding:
    """Whether the project is behind the newest tag of a kto-template clone on this machine."""
    from kto.template_version import latest_tag_check

    found = latest_tag_check(root)
    if found is None:
        return Finding("template", "ok", "no local kto-template clone with tags to compare with")
    if found.behind is None:
        return Finding(
            "template",
            "warn",
            f"the project's template commit is not in {found.clone}",
            f"git -C {found.clone} fetch --tags",
        )
    if found.behind:
        return Finding(
            "template", "warn", f"behind kto-template {found.tag}", "cruft update (README: Template updates)"
        )
    return Finding("template", "ok", f"up to date with kto-template {found.tag}")


def check_redis() -> Finding:
    if shutil.which("redis-server"):
        return Finding("redis", "ok", "redis-server is installed (kto argilla up)")
    # A team on a Space or its own Argilla never runs the local server.
    status: Status = "warn" if os.environ.get("ARGILLA_API_URL") else "fail"
    return Finding(
        "redis",
        status,
        "redis-server is not installed: kto argilla up needs it",
        "apt-get install redis-server",
    )
