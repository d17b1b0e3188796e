"""The licence terms the dataset card and the model card name."""

import pytest

from kto import licences


@pytest.mark.parametrize(
    ("licence", "begins"),
    [
        ("llama3.3", "Meta's Llama licence"),
        ("llama4", "Meta's Llama licence"),
        ("gemma", "the Gemma Terms of Use"),
        ("qwen", "the Qwen licence"),
        ("cc-by-nc-4.0", "a non-commercial licence"),
        ("CC-BY-NC-SA-4.0", "a non-commercial licence"),
        ("apache-2.0", None),
        ("mit", None),
        (None, None),
    ],
)
def test_licences_that_reach_derived_data_and_models(licence, begins):
    terms = licences.terms(licence)
    assert terms is None if begins is None else terms.startswith(begins), terms
