"""The prompt language gate in its child process: the same verdicts as in this process, asked
without waiting, and still given when the child is gone."""

import os
import signal
import time

from kto.language_process import LanguageProcess
from kto.prompt_gates import PromptGates

DUTCH = "Schrijf een haiku over een reiger die bij de sloot op een kikker wacht."
ENGLISH = "Write a haiku about a heron waiting by the ditch for a frog."
WORDLESS = "!!!!!!!!!!!!"


def test_the_child_gives_the_verdicts_this_process_would_without_making_it_wait():
    gates = PromptGates(min_chars=1, max_chars=500, language="nl")
    language = LanguageProcess(gates)
    try:
        started = time.monotonic()
        language.ask([DUTCH, ENGLISH, DUTCH])
        # lingua's models load in the child for seconds; asking and looking return at once.
        assert not language.ready([DUTCH, ENGLISH]) and time.monotonic() - started < 1.0
        deadline = time.monotonic() + 120
        while not language.ready([DUTCH, ENGLISH]):
            assert time.monotonic() < deadline, "no verdicts from the child"
            time.sleep(0.05)
        wrong = ("wrong language", "en, nl expected")
        assert language.problem(ENGLISH) == gates.language_problem(ENGLISH) == wrong
        assert language.problem(DUTCH) is None
        assert language.child is not None and language.child.pid != os.getpid()
    finally:
        language.close()
    assert language.child is None


def test_prompts_the_child_did_not_judge_are_judged_here_once_it_is_gone():
    language = LanguageProcess(PromptGates(min_chars=1, max_chars=500, language="nl"))
    assert language.child is not None
    os.kill(language.child.pid, signal.SIGKILL)  # as a kill of the whole process group would
    language.child.join()
    assert language.problem(ENGLISH) == ("wrong language", "en, nl expected")
    assert language.child is None and language.problem(DUTCH) is None


def test_with_the_gate_off_there_is_no_child_and_nothing_to_wait_for():
    language = LanguageProcess(PromptGates(min_chars=1, max_chars=500, language=None))
    language.ask([ENGLISH, WORDLESS])
    assert language.child is None and language.ready([ENGLISH])
    assert language.problem(ENGLISH) is None
    language.close()
