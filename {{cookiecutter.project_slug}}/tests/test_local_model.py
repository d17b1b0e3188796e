"""The embedded model: its chat format, its child process, its grammar, and llama.cpp's weight
repacking (off where the CPU has AMX)."""

import asyncio
import os

import pytest
from helpers import needs_extra

from kto import local_model
from kto.config import ModelSlot, load_config

MESSAGES = [
    {"role": "system", "content": "You write haiku."},
    {"role": "user", "content": "The sea, please."},
]


def test_the_system_prompt_is_folded_into_the_first_user_turn():
    assert local_model.render_prompt(MESSAGES) == (
        "<start_of_turn>user\nYou write haiku.\n\nThe sea, please.<end_of_turn>\n<start_of_turn>model\n"
    )


def test_a_conversation_keeps_its_turns():
    prompt = local_model.render_prompt(
        [*MESSAGES, {"role": "assistant", "content": "Waves."}, {"role": "user", "content": "More."}]
    )
    assert prompt.count("<start_of_turn>user\n") == 2
    assert "<start_of_turn>model\nWaves.<end_of_turn>\n" in prompt
    assert prompt.endswith("<start_of_turn>model\n")


@pytest.mark.slow
def test_llama_cpp_sees_the_system_prompt_through_the_registered_format():
    needs_extra("local", "llama_cpp")
    import llama_cpp

    local_model.register_chat_format()
    local_model.register_chat_format()  # registering again is harmless
    llm = llama_cpp.Llama(
        model_path=str(local_model.model_path()),
        chat_format=local_model.CHAT_FORMAT,
        n_ctx=512,
        verbose=False,
    )
    expected_tokens = llm.tokenize(local_model.render_prompt(MESSAGES).encode(), special=True)
    answer = llm.create_chat_completion(messages=MESSAGES, max_tokens=8, temperature=0)
    assert answer["usage"]["prompt_tokens"] == len(expected_tokens)
    assert answer["choices"][0]["message"]["content"].strip()


@pytest.mark.parametrize(
    ("setting", "flags", "repack"),
    [
        ("", {"avx2", "avx512f"}, True),
        ("auto", {"avx512f", "amx_tile", "amx_int8", "amx_bf16"}, False),
        ("", {"amx_bf16"}, False),  # any AMX flag is enough
        ("on", {"amx_tile"}, True),
        (" OFF ", {"avx2"}, False),
        ("auto", set(), True),
    ],
)
def test_weights_are_repacked_unless_the_cpu_has_amx_or_the_setting_says_otherwise(setting, flags, repack):
    assert local_model.repack_weights(setting, flags) is repack


def test_a_bad_repack_setting_is_named():
    with pytest.raises(
        local_model.KtoError, match="KTO_LLAMA_REPACK: 'sometimes' is not one of on, off, auto"
    ):
        local_model.repack_weights("sometimes", set())


def test_the_cpu_line_names_what_llama_cpp_cares_about():
    line = local_model.cpu_line({"avx2", "amx_tile"}, repack=False)
    assert "AVX2 yes, AVX-512 no, AMX yes; weight repacking off (KTO_LLAMA_REPACK)" in line


@pytest.mark.slow
def test_the_model_answers_with_repacking_forced_off(monkeypatch):
    llama_cpp = pytest.importorskip("llama_cpp")
    monkeypatch.setenv(local_model.REPACK_SETTING, "off")
    assert local_model.prepare() is False
    assert llama_cpp.llama_cpp.llama_model_default_params().use_extra_bufts is False
    llm = llama_cpp.Llama(
        model_path=str(local_model.model_path()),
        chat_format=local_model.CHAT_FORMAT,
        n_ctx=512,
        verbose=False,
    )
    answer = llm.create_chat_completion(messages=MESSAGES, max_tokens=8, temperature=0)
    assert answer["choices"][0]["message"]["content"].strip()
    monkeypatch.setenv(local_model.REPACK_SETTING, "on")
    assert local_model.prepare() is True  # undone: llama.cpp's own defaults again
    assert llama_cpp.llama_cpp.llama_model_default_params().use_extra_bufts is True


@pytest.mark.slow
def test_the_embedded_judge_answers_only_with_its_choices_from_a_process_that_ends_with_it(project):
    pytest.importorskip("llama_cpp.server")
    from kto.backends import for_slot

    config = load_config(project / "project.yaml")
    slot = ModelSlot(id="judge", backend="local", temperature=1.4)
    model = for_slot(slot, config, 4, choices=("1", "2"))
    model.load()
    try:
        [pid] = [int(path.read_text().split()[0]) for path in (project / ".cache/kto/embedded").glob("*.pid")]
        chat = [{"role": "user", "content": "Write a long poem about the sea."}]
        answers = asyncio.run(asyncio.wait_for(_ask_times(model, chat, 4), 120))
    finally:
        model.close()
    assert set(answers) <= {"1", "2"}
    assert not os.path.exists(f"/proc/{pid}") and not list((project / ".cache/kto/embedded").glob("*.pid"))


async def _ask_times(model, chat, times: int) -> list[str | None]:
    return [await model.ask(chat) for _ in range(times)]
