"""Builders that more than one test module needs (test modules never import each other)."""

from pathlib import Path

from kto import ratings


def rated_backup(path: Path, prompts: list[str], models: tuple[str, ...] = ("team/a", "team/b")) -> Path:
    """A ratings backup in which two annotators rate every model's answer to every prompt: the
    first model's answers up, the others' down (so each prompt has both labels, and DPO pairs)."""
    records = [
        {
            "id": f"r{number}-{index}",
            "prompt": prompt,
            "completion": f"Answer {index} to {prompt}\nsecond line of it\nthird line of it",
            "model": model,
            "prompt_id": prompt,
            "language": "xx",
            "status": "completed",
            "responses": [
                {"user": user, "value": "up" if index == 0 else "down", "status": "submitted"}
                for user in ("a", "b")
            ],
            "suggestion": None,
        }
        for number, prompt in enumerate(prompts)
        for index, model in enumerate(models)
    ]
    ratings.save(records, path)
    return path
