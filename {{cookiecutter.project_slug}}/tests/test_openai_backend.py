"""The openai backend against a real OpenAI-compatible server: llama.cpp's, on 127.0.0.1."""

import pyarrow.parquet as pq
import pytest
from helpers import edit_config, free_port, run_kto, served, use_models, write_prompts


@pytest.mark.slow
def test_a_failing_model_leaves_gaps_that_a_rerun_fills(project, server):
    down = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    use_models(project, served("team/served-model", server), served("team/down-model", down))
    edit_config(project, lambda c: c["generation"].update(max_new_tokens=24))
    prompts = write_prompts(project, 3)

    first = run_kto(project, "generate", "--prompts", str(prompts))
    assert first.returncode == 0, first.stderr
    assert "warning: team/down-model gave no response to 3 of 3 prompts" in first.stderr
    rows = pq.read_table(project / "data" / "generations.parquet").to_pylist()
    assert len(rows) == 3
    for row in rows:
        assert row["generation_model"] == ["team/served-model", "team/down-model"]
        live_answer, failed = row["generations"]
        assert live_answer and live_answer.strip()
        assert failed is None and row["raw_generation_responses"][1] is None
        assert row["input"] in row["generation_prompt"][0]  # the messages the server was sent

    # The server comes back (here: the slot now points at a live one); only the gaps are asked for.
    edit_config(project, lambda c: c["generation"]["models"][1].update(base_url=server))
    second = run_kto(project, "generate", "--prompts", str(prompts))
    assert second.returncode == 0, second.stderr
    assert "Generating 3 responses" in second.stderr
    assert "warning" not in second.stderr
    filled = pq.read_table(project / "data" / "generations.parquet").to_pylist()
    for before, after in zip(rows, filled, strict=True):
        assert after["raw_generation_responses"][0] == before["raw_generation_responses"][0]
        assert after["generations"][1] and after["generations"][1].strip()
