"""The README's configuration tables against the config models, both ways, and every key against a probe.

The probes themselves live in tests/test_config_effects_*.py, one file per area; each
runs the real component that reads a key with the default and with a changed value and
asserts that what it produced differs. Here: every documented key is a real setting,
every setting is documented, and every documented key has a probe or a reasoned exemption.
"""

from __future__ import annotations

from .readme_keys import (
    documented_keys,
    model_keys,
    source_keys,
    table_keys,
    toml_example_keys,
)

# Settings a user can set that the README need not name, with the reason. Empty: every one is named.
UNDOCUMENTED_OK: dict[str, str] = {}


def test_the_readme_tables_are_read():
    keys = table_keys()
    # A plain row, a row naming two keys, a whole table, and the second table (the tournament's).
    assert keys["prefilter.target_recall"] == "`0.9`"
    assert {"prefilter.min_shortlist", "prefilter.max_shortlist", "arxiv.api_base_url"} <= set(keys)
    assert {"llm.stages.assess", "llm.stages.match", "tournament.prior_sd"} <= set(keys)
    sources = source_keys()
    assert sources["sources.feed.url"] == "`feed`" and sources["sources.medrxiv.days"] == "`biorxiv`, `medrxiv`"
    assert {f"sources.{t}.timeout_seconds" for t in ("arxiv", "feed", "semanticscholar")} <= set(sources)
    examples = toml_example_keys()
    assert {"email.smtp_port", "llm.prices", "llm.stages.judge", "signals.hn_base_url"} <= examples
    assert len(keys) >= 50 and len(sources) >= 60


def test_a_misspelt_or_missing_key_would_be_caught():
    row = "| `[prefilter] min_shortlst`, `max_shortlist` | `10`, `300` | bounds |"
    assert set(table_keys(row)) - model_keys() == {"prefilter.min_shortlst"}
    text = (
        "## Sources: x\n\n| key | applies to | default | meaning |\n|---|---|---|---|\n| `dayz` | `feed` | `7` | x |\n"
    )
    assert set(source_keys(text)) - model_keys() == {"sources.feed.dayz"}
    assert "judge.rubric" not in toml_example_keys("```toml\n[judge]\nsort = 'relevance'\n```\n")


def test_every_documented_key_is_a_setting():
    unknown = sorted(documented_keys() - model_keys())
    assert not unknown, f"the README documents keys the config does not have (typos?): {unknown}"


def test_every_setting_is_documented():
    missing = sorted(model_keys() - documented_keys() - set(UNDOCUMENTED_OK))
    assert not missing, f"settings missing from the README's tables and toml examples: {missing}"


# Documented keys without a behavioural probe, with the reason.
NO_PROBE: dict[str, str] = {
    "llm.local_model_path": "read only by backend = 'local', which needs the optional `local` extra "
    "(llama-cpp-python, a 10-minute compile, and the GGUF weights); the test environment does not install it",
    "llm.local_context": "passed only to llama_cpp.Llama (backend = 'local'); see llm.local_model_path",
    "llm.local_threads": "passed only to llama_cpp.Llama (backend = 'local'); see llm.local_model_path",
}


def probed_keys() -> set[str]:
    from . import (
        test_config_effects_deploy,
        test_config_effects_embedding,
        test_config_effects_llm,
        test_config_effects_outputs,
        test_config_effects_prefilter,
        test_config_effects_signals,
        test_config_effects_sources,
        test_config_effects_worker,
    )

    modules = (
        test_config_effects_deploy,
        test_config_effects_embedding,
        test_config_effects_llm,
        test_config_effects_outputs,
        test_config_effects_prefilter,
        test_config_effects_signals,
        test_config_effects_sources,
        test_config_effects_worker,
    )
    return {key for m in modules for key in m.PROBES}


def test_every_documented_key_has_a_probe_or_a_reason():
    probed = probed_keys()
    missing = sorted(documented_keys() - probed - set(NO_PROBE))
    assert not missing, f"documented keys no test shows to have an effect: {missing}"
    # A probe or an exemption for a key the README does not document is stale.
    assert not (probed | set(NO_PROBE)) - documented_keys()
    assert not probed & set(NO_PROBE)
