"""The prompt language gate in a child process, for ``kto prompts generate``.

lingua's first detection loads its models for seconds (3 s for the Latin-script languages on a
two-core machine) and holds the interpreter all along: in the writer's process no answer would be
read and no request topped up meanwhile. In a child process the load overlaps the writer's first
answers (it starts on a text in the language, ``warm_up``, before any answer has landed), and
later prompts are judged there while this process goes on asking. Asking and looking are
non-blocking (``ask``, ``ready``); ``problem`` waits for its verdict.
"""

import os
import signal
from collections.abc import Iterable
from multiprocessing import get_context
from multiprocessing.connection import Connection

from kto.processes import die_with_parent
from kto.prompt_gates import PromptGates

Problem = tuple[str, str] | None


class LanguageProcess:
    """``gates.language_problem`` of many prompts, each judged once, in one child process. With
    the gate off there is no child, and were the child to die (killed with its process group),
    the prompts it did not judge are judged here. ``close`` ends the child."""

    def __init__(self, gates: PromptGates, warm_up: str = ""):
        self.gates = gates
        self.verdicts: dict[str, Problem] = {}
        self.asked: set[str] = set()
        self.waiting: list[str] = []  # asked, not yet sent to the child
        self.sent: list[str] = []  # the batch the child is judging
        self.child = None
        if gates.language:
            # spawn, not fork: this process may hold threads (a progress bar's, an HTTP client's).
            context = get_context("spawn")
            self.connection, child_end = context.Pipe()
            self.child = context.Process(
                target=_judge_batches,
                args=(child_end, gates, warm_up, os.getpid()),
                name="kto-language-gate",
            )
            self.child.daemon = True  # ended with this process, however it exits
            self.child.start()

    def ask(self, prompts: Iterable[str]) -> None:
        """Have those of ``prompts`` not asked before judged."""
        new = [prompt for prompt in dict.fromkeys(prompts) if prompt not in self.asked]
        self.asked.update(new)
        self.waiting += new
        self._exchange(wait=False)

    def ready(self, prompts: Iterable[str]) -> bool:
        """Whether every one of ``prompts`` that was asked has its verdict (or can have it here)."""
        self._exchange(wait=False)
        return self.child is None or all(p in self.verdicts for p in prompts if p in self.asked)

    def problem(self, prompt: str) -> Problem:
        """("wrong language", detail) or None, waiting for the child if need be."""
        self.ask([prompt])
        while prompt not in self.verdicts and self.child is not None:
            self._exchange(wait=True)
        return self.verdicts[prompt] if prompt in self.verdicts else self.gates.language_problem(prompt)

    def close(self) -> None:
        if self.child is not None:
            self.child.kill()
            self.child.join()
            self.child = None

    def _exchange(self, wait: bool) -> None:
        """Take the verdicts on the batch the child was sent once it has them (``wait``: wait for
        them), then send it all asked since. One batch at a time: a send never waits on a child
        still busy with the last, which a full pipe (64 KB) would make it do."""
        if self.child is None:
            return
        try:
            if self.sent and self.connection.poll(None if wait else 0):
                self.verdicts.update(zip(self.sent, self.connection.recv(), strict=True))
                self.sent = []
            if self.waiting and not self.sent:
                self.sent, self.waiting = self.waiting, []
                self.connection.send(self.sent)
        except (EOFError, OSError):  # the child is gone: what it did not judge is judged here
            self.close()


def _judge_batches(connection: Connection, gates: PromptGates, warm_up: str, parent: int) -> None:
    # Ctrl-C reaches the whole process group: the parent says the one line, then ends this child.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(parent)
    gates.language_problem(warm_up)  # lingua loads the models of the language's script
    while True:
        try:
            prompts = connection.recv()
        except EOFError:  # the parent is gone
            return
        connection.send([gates.language_problem(prompt) for prompt in prompts])
