"""Move paperradar's flat modules into packages that show the tiers, rewriting every import.

Run from the repository root on a clean tree: ``python scripts/move_to_packages.py``.
It `git mv`s each module (so history follows), moves a few functions to the
module of their tier, rewrites relative and absolute imports (and dotted module
names in strings, e.g. monkeypatch targets and DEFAULT_PLUGINS), then runs
``ruff --fix`` (unused and unsorted imports) and ``ruff format``. Idempotent
only on the pre-move tree; rerun it on a fresh checkout rather than by hand.
"""

from __future__ import annotations

import ast
import io
import re
import subprocess
import sys
import tokenize
from pathlib import Path

ROOT = Path.cwd()
PKG = ROOT / "paperradar"

# old module -> new module (files; packages handled by their __init__)
MODULES = {
    # core: records, configuration, the store, the LLM and embedding models, the pipeline runner
    "paperradar.config": "paperradar.core.config",
    "paperradar.models": "paperradar.core.models",
    "paperradar.errors": "paperradar.core.errors",
    "paperradar.redact": "paperradar.core.redact",
    "paperradar.files": "paperradar.core.files",
    "paperradar.store": "paperradar.core.store",
    "paperradar.migrations": "paperradar.core.migrations",
    "paperradar.runlock": "paperradar.core.runlock",
    "paperradar.budget": "paperradar.core.budget",
    "paperradar.context": "paperradar.core.context",
    "paperradar.hookspecs": "paperradar.core.hookspecs",
    "paperradar.plugins": "paperradar.core.plugins",
    "paperradar.pipeline": "paperradar.core.pipeline",
    "paperradar.llm": "paperradar.core.llm",
    "paperradar.llm_local": "paperradar.core.llm_local",
    "paperradar.injection": "paperradar.core.injection",
    "paperradar.schedule": "paperradar.core.schedule",
    "paperradar.works": "paperradar.core.works",
    "paperradar.dedup": "paperradar.core.dedup",
    "paperradar.embed": "paperradar.core.embedding",
    "paperradar.static_embed": "paperradar.core.static_embed",
    "paperradar.onnx_embed": "paperradar.core.onnx_embed",
    "paperradar.feedback": "paperradar.core.feedback",
    "paperradar.library": "paperradar.core.library",
    "paperradar.digest": "paperradar.core.digest",  # the package's __init__: the Digest record
    "paperradar.sources.settings": "paperradar.core.source_settings",
    # stages: what the daily run does, one plugin module per stage
    "paperradar.cascade": "paperradar.stages.cascade",
    "paperradar.prefilter": "paperradar.stages.scoring",  # the prefilter's scores; the stage is stages.prefilter
    "paperradar.plan": "paperradar.stages.plan",
    "paperradar.verdicts": "paperradar.stages.verdicts",
    "paperradar.explore": "paperradar.stages.explore",
    "paperradar.profile": "paperradar.stages.profile",
    "paperradar.profile_text": "paperradar.stages.profile_text",
    "paperradar.learn": "paperradar.stages.learn",
    "paperradar.citations": "paperradar.stages.citations",
    "paperradar.judge": "paperradar.stages.judge",
    "paperradar.costs": "paperradar.stages.costs",
    "paperradar.assess": "paperradar.stages.assess",
    "paperradar.match": "paperradar.stages.match",
    "paperradar.group_match": "paperradar.stages.group_match",
    "paperradar.pairing": "paperradar.stages.pairing",
    "paperradar.ratings": "paperradar.stages.ratings",
    "paperradar.ranking_store": "paperradar.stages.ranking_store",
    "paperradar.tournament": "paperradar.stages.tournament",
    "paperradar.group_tournament": "paperradar.stages.group_tournament",
    # signals: community signals beside the pipeline
    "paperradar.signals": "paperradar.signals.collect",
    "paperradar.trending": "paperradar.signals.trending",
    "paperradar.sources.hackernews": "paperradar.signals.hackernews",
    "paperradar.sources.huggingface": "paperradar.signals.huggingface",
    # outputs: the digest's formats, delivery, the static site and the web app
    "paperradar.digest.archive": "paperradar.outputs.archive",
    "paperradar.digest.email": "paperradar.outputs.email",
    "paperradar.digest.feed": "paperradar.outputs.feed",
    "paperradar.digest.html": "paperradar.outputs.html",
    "paperradar.digest.jsonout": "paperradar.outputs.jsonout",
    "paperradar.digest.markdown": "paperradar.outputs.markdown",
    "paperradar.digest.site": "paperradar.outputs.site",
    "paperradar.digest.stage": "paperradar.outputs.write",
    "paperradar.deliver": "paperradar.outputs.deliver",
    "paperradar.web": "paperradar.outputs.web",
    "paperradar.web.app": "paperradar.outputs.web.app",
    "paperradar.web.data": "paperradar.outputs.web.data",
    "paperradar.web.profile_edit": "paperradar.outputs.web.profile_edit",
    "paperradar.web.security": "paperradar.outputs.web.security",
}
# Directories that move whole (templates, static files).
DIRS = {
    "paperradar/digest/templates": "paperradar/outputs/templates",
    "paperradar/web": "paperradar/outputs/web",
}
# Functions that move to the module of their tier: (old module, name) -> new module.
SYMBOLS = {
    ("paperradar.pipeline", "make_client"): "paperradar.stages.ingest",
    ("paperradar.pipeline", "ingest_day"): "paperradar.stages.ingest",
    ("paperradar.pipeline", "stage_embed"): "paperradar.stages.embed",
    ("paperradar.pipeline", "stage_prefilter"): "paperradar.stages.prefilter",
    ("paperradar.digest", "write_digest"): "paperradar.outputs.write",
    ("paperradar.judge", "judge_wanted"): "paperradar.stages.enabled",
    ("paperradar.tournament", "tournament_wanted"): "paperradar.stages.enabled",
    ("paperradar.judge", "criteria_text"): "paperradar.stages.profile_text",
    ("paperradar.sources.semanticscholar", "s2_id"): "paperradar.core.source_settings",
    # Each source imports the Source protocol; only the factory imports every source (no cycle).
    ("paperradar.sources.base", "make_source"): "paperradar.sources.factory",
    # The HF and HN readers need the record and the client, not the stage that runs them.
    ("paperradar.signals", "_Retryable"): "paperradar.signals.client",
    ("paperradar.signals", "_should_retry"): "paperradar.signals.client",
    ("paperradar.signals", "_RetryAfterOrBackoff"): "paperradar.signals.client",
    ("paperradar.signals", "RateLimited"): "paperradar.signals.client",
    ("paperradar.signals", "Signal"): "paperradar.signals.client",
    ("paperradar.signals", "SignalClient"): "paperradar.signals.client",
}
# Names a module only re-exported: importers get them from where they live.
REEXPORTS = {
    (
        "paperradar.pipeline",
        "announced_day_for_submission",
    ): "paperradar.sources.arxiv_source",
}
# New modules and packages, by their docstring.
NEW_DOCS = {
    "paperradar.core": (
        "The core: records, configuration, the store, the LLM and embedding models, the pipeline runner."
    ),
    "paperradar.stages": (
        "The daily run's stages, one plugin module each: ingest, embed, prefilter, judge, tournament."
    ),
    "paperradar.signals": ("Community signals beside the pipeline: Hugging Face and Hacker News, trending papers."),
    "paperradar.outputs": ("What the user sees: the digest's formats, delivery, the static site and the web app."),
    "paperradar.stages.ingest": ("The ingest stage: read every enabled source for the day into the store."),
    "paperradar.stages.embed": (
        "The embed stage: a vector for every paper of the day, computed once per text and model."
    ),
    "paperradar.stages.prefilter": (
        "The prefilter stage: rank the day against the profile, cut at the target recall, explore below."
    ),
    "paperradar.sources.factory": ("The client for one ``[[sources]]`` table, whichever type it names."),
    "paperradar.signals.client": ("A community signal record and the polite HTTP client the HF and HN readers share."),
    "paperradar.stages.enabled": ("Whether an LLM stage runs: its ``enabled`` mode and, in ``auto``, the API key."),
}
NEW_FILES = {
    mod: f'"""{doc}"""\n' + ("" if mod.count(".") == 1 else "\nfrom __future__ import annotations\n")
    for mod, doc in NEW_DOCS.items()
}
# The built-in stages' hook, split from the pipeline (which now only runs stages).
STAGE_HOOKS = {
    "paperradar.stages.ingest": 'Stage("ingest", ingest_day, sections=("papers", "locations"))',
    "paperradar.stages.embed": 'Stage("embed", stage_embed)',
    "paperradar.stages.prefilter": 'Stage("prefilter", stage_prefilter, sections=("entries", "reasons"))',
}
PLUGINS_BEFORE = '    "paperradar.pipeline",  # stages: ingest, embed, prefilter\n'
PLUGINS_AFTER = (
    '    "paperradar.stages.ingest",  # stage: ingest\n'
    '    "paperradar.stages.embed",  # stage: embed\n'
    '    "paperradar.stages.prefilter",  # stage: prefilter\n'
)


NEW_NAMES = ({*MODULES.values(), *SYMBOLS.values(), *NEW_FILES, *REEXPORTS.values()} - {"paperradar.signals"}) - set(
    MODULES
)


def path_of(module: str, *, package: bool = False) -> Path:
    parts = module.split(".")
    base = ROOT.joinpath(*parts)
    return base / "__init__.py" if package or base.is_dir() else base.with_suffix(".py")


def old_modules() -> set[str]:
    out = set()
    for p in PKG.rglob("*.py"):
        rel = p.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out.add(".".join(parts))
    return out


def git(*args: str) -> None:
    subprocess.run(["git", *args], check=True, cwd=ROOT)


# -- step 1: move functions between modules (before the files move) ---------------------------


def cut_function(src: str, name: str) -> tuple[str, str]:
    tree = ast.parse(src)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef) and node.name == name:
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
            lines = src.splitlines(keepends=True)
            block = "".join(lines[start : node.end_lineno])
            rest = "".join(lines[:start] + lines[node.end_lineno :])
            return rest, block
    raise SystemExit(f"{name} not found")


def imports_of(src: str) -> str:
    """The module's top-level import lines (the moved code may need any of them)."""
    tree = ast.parse(src)
    lines = src.splitlines(keepends=True)
    out = []
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom) and not (
            isinstance(node, ast.ImportFrom) and node.module == "__future__"
        ):
            out.append("".join(lines[node.lineno - 1 : node.end_lineno]))
    return "".join(out)


def move_symbols() -> None:
    sources: dict[str, str] = {}
    targets: dict[str, list[tuple[str, str, str]]] = {}
    needs: dict[str, set[tuple[str, str]]] = {}
    for (old, name), new in SYMBOLS.items():
        path = path_of(old)
        src = sources.get(old, path.read_text(encoding="utf-8"))
        rest, block = cut_function(src, name)
        # Private helpers only the moved function uses go with it; other names of
        # the old module are imported from it.
        for helper in sorted(names_used(block) & top_level_names(rest)):
            used_elsewhere = re.search(rf"\b{helper}\b", remove_def(rest, helper))
            if helper.startswith("_") and not used_elsewhere and is_def(rest, helper):
                rest, extra = cut_function(rest, helper)
                block = extra + "\n\n" + block
            elif helper.isupper() and is_constant(rest, helper):
                # A constant goes with the code that needs it; the old module imports it back.
                rest, extra = cut_constant(rest, helper)
                block = extra + "\n\n" + block
                CARRIED[(old, helper)] = new
            else:
                needs.setdefault(new, set()).add((old, helper))
        block = absolutize_lines(block, old)
        sources[old] = rest
        targets.setdefault(new, []).append((old, name, block))
    for old, src in sources.items():
        path_of(old).write_text(src, encoding="utf-8")
    for new, blocks in targets.items():
        # The target is named by its *new* module; it exists under its old name now, or is new.
        old_name = next((o for o, n in MODULES.items() if n == new), None)
        path = path_of(old_name) if old_name else None
        if path is None or not path.exists():
            path = ROOT / "_pending" / (new + ".py")
            path.parent.mkdir(exist_ok=True)
            text = NEW_FILES.get(new, "from __future__ import annotations\n") if not path.exists() else path.read_text()
        else:
            text = path.read_text(encoding="utf-8")
        head_imports = ""
        for old, _name, _block in blocks:
            head_imports += absolutize_imports(imports_of(original[old]), old)
        for old, helper in sorted(needs.get(new, ())):
            if (old, helper) not in SYMBOLS:
                head_imports += f"from {old} import {helper}\n"
        body = "".join("\n\n" + b.rstrip() + "\n" for _, _, b in blocks)
        # Imports go after the docstring / __future__ line; ruff drops the unused ones.
        text = insert_after_future(text, head_imports) + body
        path.write_text(text, encoding="utf-8")
        # A module that still uses what left it imports it from the new place.
        carried = [(o, n, "") for (o, n), t in CARRIED.items() if t == new]
        for old, name, _ in [*blocks, *carried]:
            src = path_of(old).read_text(encoding="utf-8")
            if re.search(rf"\b{name}\b", src):
                src = insert_after_future(src, f"from {new} import {name}\n")
                path_of(old).write_text(src, encoding="utf-8")


def names_used(block: str) -> set[str]:
    return {n.id for n in ast.walk(ast.parse(block)) if isinstance(n, ast.Name)}


def top_level_names(src: str) -> set[str]:
    out = set()
    for node in ast.parse(src).body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            out.add(node.name)
        elif isinstance(node, ast.Assign):
            out |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            out.add(node.target.id)
    return out


CARRIED: dict[tuple[str, str], str] = {}


def is_constant(src: str, name: str) -> bool:
    return any(
        isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in n.targets)
        for n in ast.parse(src).body
    )


def cut_constant(src: str, name: str) -> tuple[str, str]:
    lines = src.splitlines(keepends=True)
    for n in ast.parse(src).body:
        if isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in n.targets):
            block = "".join(lines[n.lineno - 1 : n.end_lineno])
            return "".join(lines[: n.lineno - 1] + lines[n.end_lineno :]), block
    raise SystemExit(name)


def is_def(src: str, name: str) -> bool:
    return any(isinstance(n, ast.FunctionDef) and n.name == name for n in ast.parse(src).body)


def remove_def(src: str, name: str) -> str:
    return cut_function(src, name)[0] if is_def(src, name) else src


def insert_after_future(text: str, extra: str) -> str:
    marker = "from __future__ import annotations\n"
    if marker in text:
        i = text.index(marker) + len(marker)
        return text[:i] + "\n" + extra + text[i:]
    return extra + text


RELATIVE = re.compile(r"^(\s*)from (\.+)([\w.]*) import ", re.M)


def absolutize_lines(block: str, module: str) -> str:
    """Relative imports inside a moved function, written for its old module."""
    is_pkg = path_of(module).name == "__init__.py"

    def fix(m: re.Match) -> str:
        return f"{m.group(1)}from {resolve(module, len(m.group(2)), m.group(3) or None, is_pkg=is_pkg)} import "

    return RELATIVE.sub(fix, block)


def drop_self_imports(path: Path) -> None:
    """Lazy imports of names that now live in the same module."""
    text = path.read_text(encoding="utf-8")
    tree = ast.parse(text)
    defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)}
    lines = text.splitlines(keepends=True)
    drop = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom) and all(a.name in defined and not a.asname for a in inner.names):
                    drop.append((inner.lineno - 1, inner.end_lineno))
    for start, end in sorted(drop, reverse=True):
        del lines[start:end]
    path.write_text("".join(lines), encoding="utf-8")


def absolutize_imports(block: str, module: str) -> str:
    out = []
    for node in ast.parse(block).body:
        if isinstance(node, ast.ImportFrom):
            base = resolve(
                module,
                node.level,
                node.module,
                is_pkg=path_of(module).name == "__init__.py",
            )
            names = ", ".join(a.name + (f" as {a.asname}" if a.asname else "") for a in node.names)
            out.append(f"from {base} import {names}\n")
        else:
            out.append(ast.unparse(node) + "\n")
    return "".join(out)


def resolve(module: str, level: int, name: str | None, *, is_pkg: bool) -> str:
    if level == 0:
        return name or ""
    parts = module.split(".")
    if not is_pkg:
        parts = parts[:-1]
    if level > 1:
        parts = parts[: -(level - 1)]
    return ".".join(parts + ([name] if name else []))


# -- step 2: git mv -----------------------------------------------------------------------------


def move_files() -> None:
    for pkg in ("paperradar/core", "paperradar/stages", "paperradar/outputs"):
        (ROOT / pkg).mkdir(exist_ok=True)
    # paperradar/signals.py becomes paperradar/signals/collect.py: move the module aside first.
    git("mv", "paperradar/signals.py", "paperradar/_signals_collect.py")
    for src, dst in DIRS.items():
        Path(dst).parent.mkdir(parents=True, exist_ok=True)
        git("mv", src, dst)
    for old, new in MODULES.items():
        if old in ("paperradar.signals",) or old.startswith("paperradar.web"):
            continue
        src = path_of(old)
        if not src.exists():
            continue
        dst = ROOT.joinpath(*new.split(".")).with_suffix(".py")
        dst.parent.mkdir(parents=True, exist_ok=True)
        git("mv", str(src.relative_to(ROOT)), str(dst.relative_to(ROOT)))
    (PKG / "signals").mkdir(exist_ok=True)
    git("mv", "paperradar/_signals_collect.py", "paperradar/signals/collect.py")
    for mod, text in NEW_FILES.items():
        path = path_of(mod, package=mod.count(".") == 1)
        pending = ROOT / "_pending" / (mod + ".py")
        if pending.exists():
            path.write_text(pending.read_text(encoding="utf-8"), encoding="utf-8")
        elif not path.exists():
            path.write_text(text, encoding="utf-8")
        git("add", str(path.relative_to(ROOT)))
    for p in (ROOT / "_pending").glob("*.py"):
        mod = p.stem
        if mod not in NEW_FILES:
            dst = path_of(mod)
            dst.write_text(p.read_text(encoding="utf-8"), encoding="utf-8")
            git("add", str(dst.relative_to(ROOT)))
        p.unlink()
    (ROOT / "_pending").rmdir()
    for left in (PKG / "digest", PKG / "web"):
        # Only caches stay behind (git moved every tracked file).
        if left.exists() and not any(p.suffix != ".pyc" and p.is_file() for p in left.rglob("*")):
            subprocess.run(["rm", "-rf", str(left)], check=True)


# -- step 3: rewrite imports and dotted names ---------------------------------------------------


def new_name(module: str) -> str:
    if module in MODULES:
        return MODULES[module]
    if module in NEW_NAMES:  # written by this script with its new name already
        return module
    for old, new in sorted(MODULES.items(), key=lambda kv: -len(kv[0])):
        if module.startswith(old + "."):
            return new + module[len(old) :]
    return module


def relative(importer: str, is_pkg: bool, target: str) -> str:
    pkg = importer.split(".") if is_pkg else importer.split(".")[:-1]
    tparts = target.split(".")
    common = 0
    while common < min(len(pkg), len(tparts)) and pkg[common] == tparts[common]:
        common += 1
    dots = len(pkg) - common + 1
    return "." * dots + ".".join(tparts[common:])


def rewrite_import(
    node: ast.ImportFrom | ast.Import,
    importer: str | None,
    is_pkg: bool,
    known: set[str],
) -> str:
    def emit(target_mod: str, names: list[str]) -> str:
        if importer is not None and target_mod.startswith("paperradar"):
            where = relative(importer, is_pkg, target_mod)
            return f"from {where} import {', '.join(names)}"
        return f"from {target_mod} import {', '.join(names)}"

    if isinstance(node, ast.Import):
        if not any(a.name.startswith("paperradar") for a in node.names):
            return None
        out = []
        for a in node.names:
            if a.name.startswith("paperradar"):
                nn = new_name(a.name)
                out.append(f"import {nn}" + (f" as {a.asname}" if a.asname else ""))
            else:
                out.append(f"import {a.name}" + (f" as {a.asname}" if a.asname else ""))
        return "\n".join(out)
    base = resolve(importer or "", node.level, node.module, is_pkg=is_pkg) if node.level else node.module
    if not base or not base.startswith("paperradar"):
        return None
    groups: dict[str, list[str]] = {}
    order: list[str] = []
    for a in node.names:
        full = f"{base}.{a.name}"
        if full in known:  # a submodule
            nn = new_name(full)
            parent, leaf = nn.rsplit(".", 1)
            bound = a.asname or a.name
            item = leaf + (f" as {bound}" if bound != leaf else "")
            key = parent
        else:
            nn = (
                SYMBOLS.get((base, a.name))
                or CARRIED.get((base, a.name))
                or REEXPORTS.get((base, a.name))
                or new_name(base)
            )
            item = a.name + (f" as {a.asname}" if a.asname else "")
            key = nn
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(item)
    # A name that now lives in the importing module needs no import.
    return "\n".join(emit(k, groups[k]) for k in order if k != importer)


def rewrite_file(path: Path, known: set[str], moved_to: dict[Path, str]) -> None:
    text = path.read_text(encoding="utf-8")
    text = rewrite_strings(text)
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    if path.is_relative_to(PKG):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        is_pkg = parts[-1] == "__init__"
        importer = ".".join(parts[:-1] if is_pkg else parts)
    else:
        importer, is_pkg = None, False
    edits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            if importer is not None and isinstance(node, ast.ImportFrom) and node.level:
                # Relative imports were written for the module's old place.
                old_importer, old_is_pkg = moved_to.get(path, (importer, is_pkg))
                new = rewrite_import_relative(node, old_importer, old_is_pkg, importer, is_pkg, known)
            else:
                new = rewrite_import(node, importer, is_pkg, known)
            if new is None:
                continue
            if new == "":
                edits.append((node.lineno - 1, node.end_lineno, ""))
                continue
            first = lines[node.lineno - 1]
            indent = first[: len(first) - len(first.lstrip())]
            last = lines[node.end_lineno - 1]
            comment = ""
            if "#" in last and not last.rstrip().endswith(")"):
                comment = "  #" + last.split("#", 1)[1].rstrip("\n")
            elif "#" in last:
                comment = ""
            new_lines = [indent + ln for ln in new.split("\n")]
            if "noqa" in comment:
                new_lines = [ln + comment for ln in new_lines]
            else:
                new_lines[-1] += comment
            edits.append((node.lineno - 1, node.end_lineno, "\n".join(new_lines) + "\n"))
    for start, end, new in sorted(edits, reverse=True):
        lines[start:end] = [new]
    path.write_text("".join(lines), encoding="utf-8")


def rewrite_import_relative(
    node,
    old_importer: str,
    old_is_pkg: bool,
    importer: str,
    is_pkg: bool,
    known: set[str],
) -> str | None:
    base = resolve(old_importer, node.level, node.module, is_pkg=old_is_pkg)
    absolute = ast.ImportFrom(module=base, names=node.names, level=0)
    return rewrite_import(absolute, importer, is_pkg, known)


DOTTED = re.compile(r"paperradar(?:\.[A-Za-z_][A-Za-z0-9_]*)+")


def rewrite_strings(text: str) -> str:
    """Dotted module names inside strings and comments (monkeypatch targets, DEFAULT_PLUGINS, docs)."""
    out = []
    tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    for tok in tokens:
        if tok.type in (tokenize.STRING, tokenize.COMMENT) or (
            hasattr(tokenize, "FSTRING_MIDDLE") and tok.type == tokenize.FSTRING_MIDDLE
        ):
            out.append((tok, DOTTED.sub(lambda m: dotted(m.group(0)), tok.string)))
        else:
            out.append((tok, tok.string))
    return untokenize(text, out)


def dotted(name: str) -> str:
    # The longest prefix that is a module, then the attribute path after it.
    parts = name.split(".")
    for i in range(len(parts), 1, -1):
        mod = ".".join(parts[:i])
        if mod in MODULES or any(k == mod for k in MODULES):
            rest = parts[i:]
            if rest and (mod, rest[0]) in SYMBOLS:
                return ".".join([SYMBOLS[(mod, rest[0])], *rest])
            return ".".join([MODULES[mod], *rest])
    return name


def untokenize(text: str, pairs) -> str:
    lines = text.splitlines(keepends=True)
    # Replace token spans right to left so positions stay valid.
    for tok, new in reversed(pairs):
        if new == tok.string:
            continue
        (sr, sc), (er, ec) = tok.start, tok.end
        if sr == er:
            line = lines[sr - 1]
            lines[sr - 1] = line[:sc] + new + line[ec:]
        else:
            head = lines[sr - 1][:sc]
            tail = lines[er - 1][ec:]
            lines[sr - 1 : er] = [head + new + tail]
    return "".join(lines)


PATHS = re.compile(r"paperradar/[\w/]+\.py|paperradar/(?:digest|web)/")


def rewrite_docs() -> None:
    """File paths and dotted module names in the Markdown docs."""

    def path(m: re.Match) -> str:
        text = m.group(0)
        if text.endswith("/"):
            return {"paperradar/digest/": "paperradar/outputs/", "paperradar/web/": "paperradar/outputs/web/"}[text]
        module = text[:-3].replace("/", ".").removesuffix(".__init__")
        return new_name(module).replace(".", "/") + ".py"

    for doc in [*ROOT.glob("*.md"), *(ROOT / "docs").glob("*.md"), *(ROOT / "bench").glob("*.md")]:
        text = doc.read_text(encoding="utf-8")
        new = DOTTED.sub(lambda m: dotted(m.group(0)), PATHS.sub(path, text))
        if new != text:
            doc.write_text(new, encoding="utf-8")


def main() -> None:
    stray = sorted(
        f"paperradar.{p.stem}"
        for p in PKG.glob("*.py")
        if p.stem not in ("__init__", "cli") and f"paperradar.{p.stem}" not in MODULES
    )
    if stray:
        sys.exit(f"no place in MODULES for {', '.join(stray)}: add them")
    if not (PKG / "pipeline.py").exists():
        sys.exit("run this on the tree before the move (paperradar/pipeline.py is missing)")
    global original
    known = old_modules()
    original = {m: path_of(m).read_text(encoding="utf-8") for m in known if path_of(m).exists()}
    old_pkgs = {m for m in known if path_of(m).name == "__init__.py"}
    pipe = path_of("paperradar.pipeline")
    pipe.write_text(
        "".join(
            ln
            for ln in pipe.read_text(encoding="utf-8").splitlines(keepends=True)
            if "announced_day_for_submission" not in ln
        ),
        encoding="utf-8",
    )
    move_symbols()
    # The spine stages' hook leaves the pipeline; each stage module gets its own.
    pipe = path_of("paperradar.pipeline").read_text(encoding="utf-8")
    pipe, _ = cut_function(pipe, "register_stages")
    path_of("paperradar.pipeline").write_text(pipe, encoding="utf-8")
    plugins = path_of("paperradar.plugins")
    plugins.write_text(
        plugins.read_text(encoding="utf-8").replace(PLUGINS_BEFORE, PLUGINS_AFTER),
        encoding="utf-8",
    )
    for mod, stage in STAGE_HOOKS.items():
        old = next((o for o, n in MODULES.items() if n == mod), None)
        path = path_of(old) if old and path_of(old).exists() else ROOT / "_pending" / (mod + ".py")
        text = path.read_text(encoding="utf-8")
        text = insert_after_future(
            text,
            "from paperradar.context import Stage\nfrom paperradar.hookspecs import hookimpl\n",
        )
        text = text.rstrip() + f"\n\n\n@hookimpl\ndef register_stages(config):\n    return [{stage}]\n"
        path.write_text(text, encoding="utf-8")
    # The moved stage functions and the hooks were written with absolute, old names.
    where_before: dict[Path, tuple[str, bool]] = {}
    move_files()
    for old, new in MODULES.items():
        p = path_of(new)
        if p.exists():
            where_before[p] = (old, old in old_pkgs)
    files = [
        *PKG.rglob("*.py"),
        *(ROOT / "tests").rglob("*.py"),
        *(ROOT / "bench").rglob("*.py"),
    ]
    files += list((ROOT / "scripts").rglob("*.py"))
    for f in files:
        if f.name == Path(__file__).name:
            continue
        rewrite_file(f, known, where_before)
    rewrite_docs()
    html = PKG / "outputs" / "html.py"
    html.write_text(
        html.read_text(encoding="utf-8").replace(
            'PackageLoader("paperradar.core.digest", "templates")',
            'PackageLoader("paperradar.outputs", "templates")',
        ),
        encoding="utf-8",
    )
    touched = sorted(
        {path_of(m) for m in {*SYMBOLS.values(), *STAGE_HOOKS}} | {path_of(new_name(o)) for o, _ in SYMBOLS}
    )
    touched.append(path_of("paperradar.core.pipeline"))
    for t in touched:
        drop_self_imports(t)
    ruff = str(Path(sys.executable).parent / "ruff")
    subprocess.run([ruff, "check", "--fix", "--select", "F401", "-q", *map(str, touched)], cwd=ROOT)
    subprocess.run([ruff, "check", "--fix", "--select", "I", "-q", "."], cwd=ROOT)
    subprocess.run([ruff, "format", "-q", "."], cwd=ROOT)
    git("add", "-A")


original: dict[str, str] = {}

if __name__ == "__main__":
    main()
