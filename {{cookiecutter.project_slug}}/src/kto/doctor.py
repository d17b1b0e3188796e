"""``kto doctor``: a preflight before spending tokens, one finding per check, each with its fix.

Every check is a small function returning findings; nothing is changed anywhere. Whether a
server lists its model is ``kto.serving``'s check, which the steps ask before they send anything.
"""

import os
import re
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from kto.config import ModelSlot, ProjectConfig
from kto.errors import KtoError, one_line, short
from kto.gates import lingua_language
from kto.serving import Finding, Status, listings, model_listed
from kto.watch_status import check_watcher

# Models that think before answering by default: a <think> block eats max_new_tokens, so a haiku is
# cut off and a judge asked for one digit never gives it. Hybrid Qwen3 ids think unless they are
# the -Instruct ones; the others are reasoning models by name.
THINKING = re.compile(r"qwen3(?!.*instruct)|deepseek-r1|qwq|magistral|thinking|reasoning", re.IGNORECASE)
ROLES_THAT_WRITE = ("admin", "write", "contributor")


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
    roles = configured_slots(config)
    slots = [slot for _, slot in roles]
    findings += check_models(slots, [role for role, _ in roles])
    findings += check_embedded(config)
    findings += check_argilla(config)
    findings += check_hub(config, token_reported=any(slot.api_key_env == "HF_TOKEN" for slot in slots))
    findings.append(check_watcher(config))
    findings.append(check_redis())
    findings.append(check_template(config.root))
    findings += [found for found in [detector_finding(config)] if found]  # a language lingua lacks
    return findings


# -- models ----------------------------------------------------------------------------------


def configured_slots(config: ProjectConfig) -> list[tuple[str, ModelSlot]]:
    """Every model slot the project configures, with the role that starts its line: generation's
    models, suggest's judge, the prompt writer, and eval's base, tuned model and judge."""
    roles = [("model", slot) for slot in config.generation.models]
    roles.append(("judge", config.suggest.judge))
    if config.prompts.writer:  # None: the first of generation.models, checked above
        roles.append(("writer", config.prompts.writer))
    eval_slots = {
        "eval base": config.eval.base,
        "eval tuned": config.eval.tuned,
        "eval judge": config.eval.judge,
    }
    roles += [(role, slot) for role, slot in eval_slots.items() if slot is not None]
    return roles


def check_models(slots: list[ModelSlot], roles: list[str] | None = None) -> list[Finding]:
    """Keys set, servers answering, each model listed by its server, no thinking-by-default pick.

    One finding per missing key variable (not per slot), then one per slot whose key is there,
    named by its role (default "model"): a judge that is also a generator is not a twin line.
    """
    findings, keyed = check_keys(slots)
    named = {id(slot): role for slot, role in zip(slots, roles or ["model"] * len(slots), strict=True)}

    def labelled(slot: ModelSlot, finding: Finding) -> Finding:
        return replace(finding, check=f"{named[id(slot)]} {slot.id}")

    findings += [labelled(slot, model_listed(slot, listing)) for slot, listing in listings(keyed)]
    findings += [labelled(slot, thinking_warning(slot)) for slot in slots if thinks_first(slot)]
    return findings


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


def check_embedded(config: ProjectConfig) -> list[Finding]:
    """The CPU line, and one tiny completion of the embedded model in its child process, as
    ``--local`` runs it: a machine where it crashes is named now, not by the first real run."""
    import asyncio
    import importlib.util

    from kto import local_model
    from kto.models import EmbeddedModel

    if importlib.util.find_spec("llama_cpp") is None:
        return [Finding("embedded model", "ok", "not checked: the local extra is not installed")]
    try:
        flags = local_model.cpu_flags()
        repack = local_model.repack_weights(os.environ.get(local_model.REPACK_SETTING, ""), flags)
    except KtoError as error:
        return [Finding("cpu", "fail", str(error), "set it to on, off or auto")]
    findings = [Finding("cpu", "ok", local_model.cpu_line(flags, repack))]
    model = None
    try:
        model = EmbeddedModel(ModelSlot(id="doctor", backend="local", temperature=0.0), config, 4, None)
        model.load()
        answer = asyncio.run(ask_once(model, [{"role": "user", "content": "Say yes."}]))
        findings.append(Finding("embedded model", "ok", f"answered in a process of its own ({answer!r})"))
    except Exception as error:  # a crash, a failed load: what the first --local run would meet
        died = model.server.death() if model else None
        fix = "report it with the log in .cache/kto/embedded/"
        if repack:
            fix = f"try {local_model.REPACK_SETTING}=off (llama.cpp's weight repacking), then " + fix
        cause = f"its llama.cpp process {died}" if died else one_line(error)
        findings.append(Finding("embedded model", "fail", f"did not answer: {cause}", fix))
    finally:
        if model:
            model.close()
    return findings


async def ask_once(model, messages: list[dict]) -> str | None:
    """One answer, the model's connections closed in the same loop (``ChatModel.aclose``)."""
    try:
        return await model.ask(messages)
    finally:
        await model.aclose()


# -- Argilla, the Hub, redis -------------------------------------------------------------------


def check_argilla(config: ProjectConfig) -> list[Finding]:
    """The server answers with the key, and an existing dataset has the settings kto would give it."""
    from kto import argilla_client, argilla_dataset
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
    wanted = argilla_dataset.settings(config, client)
    differ = differences(signature(dataset.settings), signature(wanted))
    on_server = changeable(dataset.settings)
    edited = [key for key, value in changeable(wanted).items() if on_server.get(key) != value]
    if differ:
        message = f"{name} exists with other settings, which Argilla cannot change ({', '.join(differ)})"
        findings.append(Finding("argilla dataset", "fail", message, argilla_dataset.OTHER_NAME))
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


def detector_finding(config: ProjectConfig) -> Finding | None:
    """The line about the language gate: a warning when lingua does not know the language, since
    the gate and eval's wrong-language rule are then off without a word; None otherwise."""
    settings = config.checks
    code = settings.expected_language or config.language.code
    if settings.language == "off" or lingua_language(code) is not None:
        return None
    return Finding(
        "language gate",
        "warn",
        f"lingua does not know {code!r} ({config.language.name}): the language gate (checks.language, "
        "also on prompts) and eval's wrong-language rule are off",
        "annotators' Bad and the judge's language question still catch answers in another language; "
        "set checks.language: off to silence this",
    )
