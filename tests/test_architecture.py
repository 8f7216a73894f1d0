"""The pipeline is explicit: stage order never depends on import order, settings are passed in."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

from paperradar.core.config import TEMPLATE, Config, LLMConfig, Section, load_config
from paperradar.core.errors import ConfigError, PaperradarError
from paperradar.core.pipeline import default_stages, digest_enrichers, order_stages, score_boosters
from paperradar.core.plugins import DEFAULT_PLUGINS
from paperradar.outputs.channels import delivery_channels
from paperradar.signals.collect import signal_sources

PACKAGE = Path(__file__).resolve().parent.parent / "paperradar"

BUILTIN_STAGES = ["ingest", "embed", "prefilter", "judge", "signals", "tournament", "digest", "deliver"]

# What a fresh interpreter reports after importing some modules first, in that order.
PROBE = """
import importlib, json, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
from paperradar.core.config import Config
from paperradar.core.pipeline import default_stages, digest_enrichers, score_boosters

def name(fn):
    fn = getattr(fn, "func", fn)
    return fn.__module__ + "." + fn.__qualname__

config = Config()
print(json.dumps({
    "stages": [s.name for s in default_stages(config)],
    "enrichers": [name(f) for f in digest_enrichers(config)],
    "boosters": [name(f) for f in score_boosters(config)],
}))
"""

IMPORT_ORDERS = [
    [],
    ["paperradar.stages.judge", "paperradar.core.pipeline"],
    ["paperradar.stages.tournament", "paperradar.signals.collect", "paperradar.stages.judge"],
    [
        "paperradar.outputs.deliver",
        "paperradar.signals.trending",
        "paperradar.stages.group_tournament",
        "paperradar.stages.citations",
    ],
    ["paperradar.stages.learn", "paperradar.outputs.markdown", "paperradar.stages.tournament"],
    ["paperradar.outputs.web.app"],
    ["paperradar.cli"],
]


def probe(order: list[str]) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *order],
        capture_output=True,
        text=True,
        check=True,
        cwd=PACKAGE.parent,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_stage_order_is_the_same_whatever_the_import_order():
    results = {" ".join(order) or "(nothing)": probe(order) for order in IMPORT_ORDERS}
    first = next(iter(results.values()))
    assert first["stages"] == BUILTIN_STAGES
    # The judge orders the shortlist, the personal board may reorder it, and the
    # trending ranks name places in the final order: enrichers run in that order.
    assert first["enrichers"] == [
        "paperradar.stages.citations.add_new_citations",
        "paperradar.stages.judge.add_judgments",
        "paperradar.stages.tournament.add_leaderboard",
        "paperradar.stages.group_tournament.add_personal_leaderboard",
        "paperradar.signals.trending.add_signals",
    ]
    assert first["boosters"] == ["paperradar.stages.citations.source_boosts", "paperradar.stages.learn.boost"]
    for order, result in results.items():
        assert result == first, order


def test_in_process_pipeline_matches_the_plugin_list():
    config = Config()
    assert [s.name for s in default_stages(config)] == BUILTIN_STAGES
    assert len(digest_enrichers(config)) == 5 and len(score_boosters(config)) == 2
    assert len(set(DEFAULT_PLUGINS)) == len(DEFAULT_PLUGINS)
    assert [c.name for c in delivery_channels(config)] == ["email", "slack", "webhook", "rss", "site"]
    assert [s.name for s in signal_sources(config)] == ["hf", "hn"]


def test_an_installed_plugin_adds_a_delivery_channel(tmp_path):
    """A channel from a plugin is delivered on like a built-in one, in registration order."""
    from paperradar.core.digest import Digest
    from paperradar.core.hookspecs import hookimpl
    from paperradar.core.plugins import plugin_manager
    from paperradar.core.store import Store
    from paperradar.outputs.channels import DeliveryChannel, DeliveryResult
    from paperradar.outputs.deliver import configured_channels, deliver_all

    sent = []

    class Pager:
        @hookimpl
        def register_delivery_channels(self, config):
            def page(store, config, digest, force):
                sent.append((str(digest.day), force))
                return [DeliveryResult("pager", "on-call", "sent", 1)]

            return [DeliveryChannel("pager", lambda c: True, page, None, push=False)]

    pm = plugin_manager()
    pm.register(Pager(), name="test-pager")
    try:
        config = Config()
        assert configured_channels(config)[-1] == "pager"
        with Store(tmp_path / "s.db") as store:
            digest = Digest(day="2026-02-24", generated_at="2026-02-24T12:00:00+00:00")
            results = deliver_all(store, config, digest, channels=["pager"], force=True)
        assert [str(r) for r in results] == ["pager → on-call: sent after 1 attempt"] and len(sent) == 1
        with pytest.raises(PaperradarError, match="Unknown delivery channel fax; use one of email, .*pager"):
            deliver_all(store, config, digest, channels=["fax"])
    finally:
        pm.unregister(name="test-pager")
    assert "pager" not in configured_channels(Config())


def test_a_plugin_stage_goes_where_it_asks_and_a_bad_place_is_an_error():
    from paperradar.core.context import Stage

    def noop(ctx):
        return {}

    built = default_stages(Config())
    placed = order_stages([*built, Stage("audit", noop, after="judge"), Stage("warm", noop, before="ingest")])
    names = [s.name for s in placed]
    assert names[0] == "warm" and names[names.index("judge") + 1] == "audit"
    with pytest.raises(ConfigError, match="'nowhere'"):
        order_stages([*built, Stage("lost", noop, before="nowhere")])
    with pytest.raises(ConfigError, match="judge"):
        order_stages([*built, Stage("judge", noop, after="digest")])


def test_enrichers_carry_the_configuration_they_were_built_from():
    from paperradar.core.config import SignalsConfig, TournamentConfig

    config = Config(
        tournament=TournamentConfig(leaderboard_size=3), signals=SignalsConfig(window_days=2, sources=["hn"])
    )
    bound = {getattr(f, "func", f).__module__: getattr(f, "keywords", {}) for f in digest_enrichers(config)}
    assert bound["paperradar.stages.tournament"]["tc"].leaderboard_size == 3
    assert bound["paperradar.stages.group_tournament"]["tc"].leaderboard_size == 3
    assert bound["paperradar.signals.trending"]["settings"].window_days == 2


# -- no module-level mutable state used as configuration ----------------------------------------

MUTATORS = {"append", "extend", "insert", "update", "setdefault", "add", "pop", "clear", "remove", "discard"}
# Schema migrations: one module appends its own functions, in definition order, at import.
ALLOWED = {("migrations.py", "MIGRATIONS")}


def module_containers(tree: ast.Module) -> set[str]:
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        mutable = isinstance(value, ast.List | ast.Dict | ast.Set) or (
            isinstance(value, ast.Call)
            and isinstance(value.func, ast.Name)
            and value.func.id in {"list", "dict", "set", "defaultdict", "OrderedDict"}
        )
        if mutable:
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def mutation_sites(tree: ast.Module, watched: set[str]) -> list[tuple[int, str]]:
    """Lines that change a watched container: NAME.append(...), NAME[k] = v, mod.NAME.update(...)."""

    def target_name(node: ast.expr) -> str | None:
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, ast.Attribute):
            return node.attr
        return None

    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in MUTATORS:
            name = target_name(node.func.value)
            if name in watched:
                found.append((node.lineno, name))
        elif isinstance(node, ast.Assign | ast.AugAssign):
            for t in node.targets if isinstance(node, ast.Assign) else [node.target]:
                if isinstance(t, ast.Subscript) and target_name(t.value) in watched:
                    found.append((node.lineno, target_name(t.value)))
    return found


def test_no_module_level_mutable_state_is_used_as_configuration():
    trees = {p: ast.parse(p.read_text(encoding="utf-8")) for p in sorted(PACKAGE.rglob("*.py"))}
    containers = {p: module_containers(t) for p, t in trees.items()}
    # Names that are a module-level container in some module, spelled like a constant or private global.
    shared = {n for names in containers.values() for n in names if n.isupper() or n.startswith("_")}
    problems = []
    for path, tree in trees.items():
        rel = path.relative_to(PACKAGE)
        problems += [
            f"{rel}:{n.lineno}: global {', '.join(n.names)}" for n in ast.walk(tree) if isinstance(n, ast.Global)
        ]
        for line, name in mutation_sites(tree, shared | containers[path]):
            if (path.name, name) not in ALLOWED:
                problems.append(f"{rel}:{line}: changes module-level {name}")
    assert problems == []


def test_registries_that_import_order_used_to_fill_are_gone():
    import paperradar.core.digest as digest
    import paperradar.core.pipeline as pipeline
    import paperradar.signals.trending as trending

    for module, name in [
        (pipeline, "STAGES"),
        (pipeline, "SCORE_BOOSTERS"),
        (pipeline, "register_stage"),
        (digest, "ENRICHERS"),
        (trending, "_settings"),
        (trending, "configure"),
    ]:
        assert not hasattr(module, name), f"{module.__name__}.{name}"


# -- config honesty --------------------------------------------------------------------------------


def test_every_config_table_is_strict():
    from paperradar.core import source_settings

    seen, todo = set(), [Config, *(getattr(source_settings, n) for n in dir(source_settings))]
    while todo:
        model = todo.pop()
        if not (isinstance(model, type) and hasattr(model, "model_fields")) or model in seen:
            continue
        if not model.__module__.startswith("paperradar."):
            continue
        seen.add(model)
        assert model.model_config.get("extra") == "forbid", model.__name__
        for field in model.model_fields.values():
            todo += [a for a in getattr(field.annotation, "__args__", ()) if isinstance(a, type)]
            todo.append(field.annotation)
    assert len(seen) > 15 and all(issubclass(m, Section) or m.model_config.get("extra") == "forbid" for m in seen)


def tables(template: str) -> list[str]:
    return [line.strip() for line in template.splitlines() if line.startswith("[") and line.rstrip().endswith("]")]


@pytest.mark.parametrize("table", tables(TEMPLATE))
def test_an_unknown_key_in_any_table_of_the_template_is_refused(tmp_path, table):
    lines = TEMPLATE.splitlines()
    at = lines.index(table)
    lines.insert(at + 1, "zz_not_a_setting = 1")
    path = tmp_path / "paperradar.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="zz_not_a_setting"):
        load_config(path)


def test_an_unknown_llm_stage_table_is_refused():
    with pytest.raises(ValueError, match="judgee"):
        LLMConfig.model_validate({"stages": {"judgee": {"model": "x"}}})


# -- import contracts (pyproject.toml [tool.importlinter]) ------------------------------------------


def test_import_contracts_hold():
    """Tiers import downward only and no stage imports another (the same check .ci/run makes)."""
    linter = Path(sys.executable).parent / "lint-imports"
    out = subprocess.run(
        [str(linter)],
        capture_output=True,
        text=True,
        cwd=PACKAGE.parent,
        env=os.environ | {"PYTHONPATH": str(PACKAGE.parent)},
    )
    assert out.returncode == 0, out.stdout[-3000:]
    assert out.stdout.count("KEPT") == 2


# -- the store API: SQL lives in the store, its repositories and the migrations only ------------------

SQL_HOMES = {"core/store.py", "core/db.py", "core/db_postgres.py", "core/migrations.py"}
SQL_CALL = re.compile(r"\.(execute|executemany|executescript)\(|\bstore\.db\.query\(|\bstore\.conn\b")


def test_no_sql_outside_the_store_and_its_repositories():
    """A second database backend changes core/db.py and core/repositories/, never a stage or an output."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel in SQL_HOMES or rel.startswith("core/repositories/"):
            continue
        for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if SQL_CALL.search(line):
                found.append(f"{rel}:{no}: {line.strip()}")
    assert not found, "\n".join(found)


def test_repositories_do_not_import_the_store():
    """The store imports its repositories; the reverse would be a cycle."""
    for path in (PACKAGE / "core" / "repositories").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert node.module not in ("store", "..store") and not (node.module or "").endswith(".store"), path


# -- no import cycles, lazy (function-level) imports included ----------------------------------------


def import_cycles() -> list[list[str]]:
    graph = grimp.build_graph("paperradar")
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.find_modules_directly_imported_by(v):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return cycles


def test_no_import_cycles_even_through_function_level_imports():
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 5000))
    assert import_cycles() == []
