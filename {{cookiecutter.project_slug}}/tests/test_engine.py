"""The engine's ending, when a request outlives its cancellation."""

import asyncio
import threading

from kto import engine
from kto.config import ModelSlot
from kto.jobs import Job
from kto.journal import Journal

PROMPTS = [f"prompt {n}" for n in range(8)]


class Racing:
    """A model whose first prompt is answered at once and whose others are answered by
    ``answer_the_rest``, called as the stream decides it has enough: their requests end just as
    the run cancels them, and ``asyncio.wait_for`` (Python 3.11) then hands their answers back
    and drops the cancellation."""

    def __init__(self, slot: ModelSlot):
        self.slot = slot
        self.pending: list[asyncio.Future] = []

    def load(self) -> None:
        pass

    def ask(self, messages: list[dict]) -> asyncio.Future:
        answer = asyncio.get_running_loop().create_future()
        if messages[-1]["content"] == PROMPTS[0]:
            answer.set_result("at once")
        else:
            self.pending.append(answer)
        return answer

    def answer_the_rest(self) -> None:
        for answer in self.pending:
            answer.set_result("as the run is cancelled")

    async def aclose(self) -> None:
        pass

    def close(self) -> None:
        pass


def test_a_stream_ends_when_requests_outlive_its_cancellation(tmp_path):
    """The stream has enough with its first answer and lets three requests start; the two others
    end as the run cancels them. Each worker then stops at its next prompt, rather than wait there
    for a turn that no answer will give."""
    slot = ModelSlot(id="racing", backend="openai", base_url="http://127.0.0.1:9/v1", concurrency=4)
    model, landed = Racing(slot), []

    def enough() -> bool:
        model.answer_the_rest()
        return True

    def asking() -> None:
        engine.run(
            [Job(slot, PROMPTS)],
            {slot.id: model},
            Journal(tmp_path / "journal.jsonl", print),
            messages=lambda prompt: [{"role": "user", "content": prompt}],
            stall_timeout=30,
            answered=lambda model, ok: None,
            landed=lambda prompt, model, response: landed.append(prompt) or False,
            recheck=enough,
            may_start=lambda prompt: PROMPTS.index(prompt) < 3,
        )

    run = threading.Thread(target=asking, daemon=True)
    run.start()
    run.join(timeout=20)
    assert not run.is_alive(), "the run never ended"
    assert landed == PROMPTS[:3], landed
