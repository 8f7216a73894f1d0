"""Shared fixtures: real SQLite files in tmp, the real embedding model loaded once."""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from pathlib import Path

import pytest

from paperradar.core.config import Config, parse_config
from paperradar.core.models import Paper

DAY = dt.date(2026, 2, 24)


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory) -> Path:
    """One ONNX export per test session (about a minute), shared by every test's cache folder."""
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(autouse=True)
def _isolate(monkeypatch, tmp_path, onnx_cache):
    # Never pick up a user's config or reach a model hub from tests.
    monkeypatch.delenv("PAPERRADAR_CONFIG", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    # Distilled models go to the test's folder, never the user's cache; the
    # ONNX export is shared by the session's tests.
    monkeypatch.setenv("PAPERRADAR_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "cache").mkdir(exist_ok=True)
    (tmp_path / "cache" / "onnx").symlink_to(onnx_cache, target_is_directory=True)


@pytest.fixture(scope="session")
def pg_cluster():
    """One throwaway PostgreSQL cluster per test session, started on first use."""
    from tests.pgcluster import find_bindir, start_cluster

    if find_bindir() is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql); .ci/run installs it")
    cluster = start_cluster()
    yield cluster
    cluster.stop()


@pytest.fixture
def pg_url(pg_cluster):
    """The URL of a fresh, empty PostgreSQL database for this test."""
    url = pg_cluster.new_database()
    yield url
    pg_cluster.drop_database(url)


TEST_BACKEND = os.environ.get("PAPERRADAR_TEST_BACKEND", "sqlite")


@pytest.fixture
def store_location(tmp_path, request) -> str:
    """Where a test's store lives: a SQLite file, or with PAPERRADAR_TEST_BACKEND=postgresql
    (the second CI pass over the tests marked ``postgres``) a fresh PostgreSQL database."""
    if TEST_BACKEND == "postgresql":
        return request.getfixturevalue("pg_url")
    return str(tmp_path / "paperradar.db")


@pytest.fixture(scope="session")
def embedder():
    from paperradar.core.embedding import Embedder

    return Embedder()


def make_paper(arxiv_id: str, title: str, abstract: str, authors=("A. Author",), **kw) -> Paper:
    return Paper(
        arxiv_id=arxiv_id,
        title=title,
        abstract=abstract,
        authors=list(authors),
        categories=kw.pop("categories", ["cs.LG"]),
        primary_category=kw.pop("primary_category", "cs.LG"),
        announced=kw.pop("announced", DAY),
        **kw,
    )


SAMPLE_PAPERS = [
    make_paper(
        "2602.00001",
        "Grokking and the Sharpness of Minima in Transformer Training",
        "We study training dynamics of small transformers and show that delayed generalization follows a "
        "drop in loss-landscape sharpness driven by weight decay and the learning-rate schedule.",
        authors=("Ada Lovelace", "Alan Turing"),
    ),
    make_paper(
        "2602.00002",
        "A Benchmark for Crop Yield Prediction from Satellite Images",
        "We release a dataset of satellite imagery with crop yields and evaluate convolutional baselines "
        "for agricultural forecasting in several regions.",
        categories=["cs.CV"],
        primary_category="cs.CV",
    ),
    make_paper(
        "2602.00003",
        "Scaling Laws for Mixture-of-Experts Language Models",
        "We fit compute-optimal scaling laws for sparse mixture-of-experts transformers and find how the "
        "number of experts changes the loss at a fixed training budget.",
        authors=("Grace Hopper",),
    ),
    make_paper(
        "2602.00004",
        "Reinforcement Learning for Warehouse Robots",
        "A policy-gradient method that teaches warehouse robots to pick items, trained with reinforcement "
        "learning in simulation and deployed on real hardware.",
        categories=["cs.RO", "cs.LG"],
        primary_category="cs.RO",
        announce_type="cross",
    ),
    make_paper(
        "2602.00005",
        "Customer Churn Prediction with Gradient Boosting",
        "We predict which telecom customers will leave using gradient-boosted trees on billing records.",
        authors=("Claude Shannon",),
    ),
]

PROFILE_TOML = """
[paperradar]
categories = ["cs.LG"]
database = "db/paperradar.db"
output_dir = "out"

[prefilter]
shortlist_size = 3

[profile]
authors = ["Claude Shannon"]
keywords = ["mixture-of-experts"]
negative_keywords = ["reinforcement learning"]

[[profile.topics]]
name = "Training dynamics"
relevant = "How neural networks learn during training: loss landscapes, sharpness, grokking, learning-rate schedules."
irrelevant = "Applications of standard models."
"""


@pytest.fixture
def config(tmp_path, request) -> Config:
    text = PROFILE_TOML
    if TEST_BACKEND == "postgresql" and request.node.get_closest_marker("postgres"):
        # The PostgreSQL pass: the same config, its store a fresh database on the test cluster.
        text = text.replace('database = "db/paperradar.db"', f'database = "{request.getfixturevalue("pg_url")}"')
    path = tmp_path / "paperradar.toml"
    path.write_text(text, encoding="utf-8")
    return parse_config(tomllib.loads(text), path)


@pytest.fixture
def config_path(config) -> Path:
    return config.source


@pytest.fixture
def replay_server(monkeypatch):
    """A started :class:`tests.loopback.ReplayServer` on 127.0.0.1, stopped after the test."""
    from .loopback import ReplayServer

    # A proxy configured in the environment must not intercept loopback requests.
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, ",".join(filter(None, [os.environ.get(name), "127.0.0.1", "localhost"])))
    with ReplayServer() as server:
        yield server
