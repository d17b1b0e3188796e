"""Whether a model's server serves it: asked once per server, before ``kto generate`` and
``kto suggest`` send anything (a model nobody serves would cost a run) and by ``kto doctor``.

A check's result is a ``Finding``: one line, with the fix when it fails.
"""

from dataclasses import dataclass
from typing import Literal

from kto.config import HF_ROUTER_URL, ModelSlot
from kto.errors import KtoError, one_line, short

Status = Literal["ok", "warn", "fail"]
TIMEOUT = 15.0


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


def unserved(slots: list[ModelSlot], *, unreachable: bool = False) -> list[Finding]:
    """Before anything is asked: the slots whose server answers but does not list their model,
    and with ``unreachable`` those whose server does not answer either. Without it such a server
    is left to the run, where its slot fails alone and a later run fills the gap (``kto
    generate``); a judge alone on a dead server would only wait and fail (``kto suggest``)."""
    keyed = [(slot, slot.api_key()) for slot in slots if slot.backend == "openai"]
    found = [
        model_listed(slot, listing)
        for slot, listing in listings(keyed)
        if unreachable or isinstance(listing, list)
    ]
    return [finding for finding in found if finding.status == "fail"]


def listings(keyed: list[tuple[ModelSlot, str]]) -> list[tuple[ModelSlot, list[str] | Finding]]:
    """Each slot with what its server lists, asking each (server, key) once."""
    asked: dict[tuple[str, str], list[str] | Finding] = {}
    for slot, key in keyed:
        where = (slot.base_url or "", key)
        if where not in asked:
            asked[where] = served_models(slot.base_url or "", key, slot.api_key_env)
    return [(slot, asked[(slot.base_url or "", key)]) for slot, key in keyed]


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
