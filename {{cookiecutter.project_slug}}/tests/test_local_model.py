import pytest
from conftest import needs_extra

from kto import local_model

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
