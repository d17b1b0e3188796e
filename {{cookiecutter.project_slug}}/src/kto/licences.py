"""What a model's licence asks of data made from its answers and of models made from it, for
the dataset card and the model card: a summary that points people at the licence, not legal advice."""

# Licence ids (as on model cards) by prefix, and the terms they put on derived data or models;
# permissive licences (apache-2.0, mit...) put none.
TERMS = (
    (
        "llama",
        "Meta's Llama licence: a model made from it or from its answers, when shared, must have a name "
        'that begins with "Llama" and show "Built with Llama" (Llama 3.1 and later); Meta\'s acceptable '
        "use policy applies",
    ),
    (
        "gemma",
        "the Gemma Terms of Use: a model made from it or trained on its answers is a Gemma model "
        "derivative, shared under the Gemma terms and their prohibited use policy",
    ),
    (
        "qwen",
        'the Qwen licence: a model made from it or from its answers, when shared, must show "Built with '
        'Qwen" or "Improved using Qwen"',
    ),
    (
        "cc-by-nc",
        "a non-commercial licence: its answers, and models made from them, are for non-commercial use",
    ),
)


def terms(licence: str | None) -> str | None:
    """The terms ``licence`` puts on what is made from the model; None for permissive or unknown."""
    if not licence:
        return None
    return next((text for prefix, text in TERMS if licence.lower().startswith(prefix)), None)


def named(licence: str | None) -> str:
    return f"`{licence}`" if licence else "unknown (see the model card)"
