"""A plain AsyncOpenAI loop, as a user would write one without kto: REQUESTS chat requests to MODEL
at CONCURRENCY, the answers written to OUT as JSON lines. It prints the seconds its loop took, so
that a benchmark running it as a process has both times: the process's (Python's start and
openai's import included, as kto's are) and the loop's alone.

    python benchmarks/plain_openai_loop.py URL MODEL REQUESTS CONCURRENCY OUT
"""

import asyncio
import json
import sys
import time
from pathlib import Path

from openai import AsyncOpenAI


async def ask_all(client: AsyncOpenAI, model: str, requests: int, concurrency: int) -> list[str]:
    limit = asyncio.Semaphore(concurrency)

    async def ask(number: int) -> str:
        async with limit:
            reply = await client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": f"request {number}"}], max_tokens=512
            )
            return reply.choices[0].message.content or ""

    return await asyncio.gather(*(ask(number) for number in range(requests)))


def main(url: str, model: str, requests: str, concurrency: str, out: str) -> None:
    client = AsyncOpenAI(base_url=url, api_key="none", max_retries=5)
    start = time.perf_counter()
    answers = asyncio.run(ask_all(client, model, int(requests), int(concurrency)))
    seconds = time.perf_counter() - start
    assert all(answers), "an empty answer"
    Path(out).write_text("".join(json.dumps({"answer": a}) + "\n" for a in answers), encoding="utf-8")
    print(seconds)


if __name__ == "__main__":
    main(*sys.argv[1:])
