"""Embedding speed against ranking: every variant side by side in one run.

For each way of embedding a paper (sentence-transformers on torch at 256 and
128 tokens; ONNX Runtime fp32, exported here from the packaged weights; ONNX
Runtime int8 as paperradar runs it by default (paperradar/onnx_embed.py) at
256 and 128 tokens; a model2vec static model distilled from the same weights;
and the opt-in cascade), this prints

- papers/s on the same texts of ../shared/data/days, for batch sizes 16/32/64,
  with batches in listing order or longest-first;
- cosine agreement with torch fp32 at 256 tokens (today's vectors), mean and min;
- achieved GFLOP/s of the transformer against this CPU's fp32 peak, per
  wall-clock second (all cores) and per CPU second of this process (one busy
  core against one core's peak: what other jobs on a shared machine do not
  blur);
- the prefilter's judge picks kept at the top 10/20/30 % of every shared day
  compared with today's vectors (``score_papers`` as on main, the day's
  profile group turned into topics by bench/shared_day.py).

The machine may be shared, so absolute speeds are noisy; the variants run
interleaved in one process and the ratios between them are the result. The
last line is ``speedup best/torch256 X.Xx``: the fastest variant that keeps
the picks (never more than one fewer at any level on any day, never fewer in
total).

Full-day vectors are cached under ``$PAPERRADAR_CACHE_DIR/bench-embed`` (see
paperradar/static_embed.py for the folder), so the picks cost the transformer
once per variant; exported ONNX models are cached there too.

    python bench/embed.py                       # speed on 256 texts, picks on all 25 days
    python bench/embed.py --texts 64 --no-onnx  # shorter
    python bench/embed.py --texts 64 --batch-sizes 32 --days 4   # a quick look
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

from judge_tokens import load_profile  # noqa: E402
from shared_day import SHARED, read_listing  # noqa: E402

from paperradar.core.config import PrefilterConfig, ProfileConfig  # noqa: E402
from paperradar.core.embedding import Embedder, content_hash, paper_text  # noqa: E402
from paperradar.core.models import Paper  # noqa: E402
from paperradar.core.static_embed import StaticEmbedder, cache_dir  # noqa: E402
from paperradar.core.store import Store  # noqa: E402
from paperradar.stages.cascade import MIN_CASCADE_PAPERS, embed_day, first_pass  # noqa: E402
from paperradar.stages.profile import prepare_profile  # noqa: E402
from paperradar.stages.scoring import score_papers  # noqa: E402

LEVELS = (0.1, 0.2, 0.3)
# all-MiniLM-L6-v2: 6 layers of hidden 384 and feed-forward 1536.
LAYERS, HIDDEN, FFN = 6, 384, 1536
LAYER_PARAMS = 4 * HIDDEN * HIDDEN + 2 * HIDDEN * FFN


# -- the CPU ----------------------------------------------------------------


@dataclass
class Cpu:
    name: str
    cores: int
    ghz: float
    flags: set[str]

    @property
    def flops_per_cycle(self) -> int:
        """fp32 FLOPs per core per cycle: two FMA units of the widest vector width."""
        if "avx512f" in self.flags:
            return 64
        if "avx2" in self.flags and "fma" in self.flags:
            return 32
        if "avx" in self.flags:
            return 16
        return 8

    @property
    def peak_gflops(self) -> float:
        return self.cores * self.ghz * self.flops_per_cycle

    def describe(self) -> str:
        isa = "/".join(f for f in ("avx512f", "avx512_vnni", "avx_vnni", "avx2", "fma") if f in self.flags)
        return (
            f"{self.name}: {self.cores} cores x {self.ghz:.2f} GHz x {self.flops_per_cycle} fp32 FLOP/cycle "
            f"({isa}) = peak {self.peak_gflops:.0f} GFLOP/s"
        )


def detect_cpu() -> Cpu:
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    field = {}
    for line in info.splitlines():
        k, _, v = line.partition(":")
        field.setdefault(k.strip(), v.strip())
    mhz = float(field.get("cpu MHz", 0) or 0)
    max_freq = Path("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")
    if max_freq.exists():
        mhz = int(max_freq.read_text()) / 1000
    return Cpu(
        name=field.get("model name", "unknown CPU"),
        cores=len(os.sched_getaffinity(0)),
        ghz=(mhz or 2000) / 1000,
        flags=set(field.get("flags", "").split()),
    )


def transformer_flops(token_counts: np.ndarray) -> float:
    """FLOPs of the encoder layers for texts of these lengths (matmuls 2x params x tokens, attention 4 t^2 d)."""
    t = token_counts.astype(np.float64)
    return float(LAYERS * (2 * LAYER_PARAMS * t + 4 * HIDDEN * t * t).sum())


# -- the shared days ----------------------------------------------------------


@dataclass
class Day:
    date: str
    papers: list[Paper]
    picks: set[str]
    profile: ProfileConfig

    @property
    def texts(self) -> list[str]:
        return [paper_text(p) for p in self.papers]


def load_days(data: Path, limit: int | None) -> list[Day]:
    index = json.loads((data / "days" / "index.json").read_text())
    days = []
    for entry in index[:limit] if limit else index:
        papers, rows = read_listing(data / "days" / f"{entry['date']}.jsonl")
        profile = load_profile(data / "profiles" / entry["profile_group"] / "profile-topics.txt", False)
        days.append(Day(entry["date"], papers, {i for i, r in rows.items() if r.get("gpt5_selected")}, profile))
    return days


# -- encoders ----------------------------------------------------------------


def paperradar_encoder(
    max_tokens: int, batch: int, *, sort: bool, threads: int, runtime: str = "torch"
) -> Callable[[list[str]], np.ndarray]:
    """paperradar's Embedder (longest-first batches), or the same model on batches in listing order."""
    emb = Embedder(max_tokens=max_tokens, batch_size=batch, threads=threads, runtime=runtime)
    if sort:
        return emb.encode

    def encode(texts: list[str]) -> np.ndarray:
        return np.vstack([emb._encode_batch(texts[i : i + batch]) for i in range(0, len(texts), batch)])

    return encode


class OnnxModel:
    """The packaged model exported to ONNX with torch.onnx (fp32), run by onnxruntime."""

    def __init__(self, root: Path, threads: int):
        import onnxruntime as ort
        from transformers import AutoTokenizer

        path = Embedder().model_path
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        model = root / "minilm-fp32.onnx"
        if not model.exists():
            export_onnx(path, model)
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.intra_op_num_threads = threads or len(os.sched_getaffinity(0))
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}

    def encoder(self, max_tokens: int, batch: int, *, sort: bool) -> Callable[[list[str]], np.ndarray]:
        def encode(texts: list[str]) -> np.ndarray:
            order = sorted(range(len(texts)), key=lambda i: -len(texts[i])) if sort else list(range(len(texts)))
            out = np.zeros((len(texts), HIDDEN), np.float32)
            for s in range(0, len(texts), batch):
                idx = order[s : s + batch]
                enc = self.tokenizer(
                    [texts[i] for i in idx], padding=True, truncation=True, max_length=max_tokens, return_tensors="np"
                )
                feed = {k: v.astype(np.int64) for k, v in enc.items() if k in self.inputs}
                hidden = self.session.run(None, feed)[0]
                mask = enc["attention_mask"][..., None].astype(np.float32)
                pooled = (hidden * mask).sum(1) / mask.sum(1)
                out[idx] = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
            return out

        return encode


def export_onnx(model_path: str, target: Path) -> None:
    import torch
    from transformers import AutoModel

    class Encoder(torch.nn.Module):
        """The transformer's token states, called by keyword (positions differ across versions)."""

        def __init__(self):
            super().__init__()
            self.bert = AutoModel.from_pretrained(model_path).eval()

        def forward(self, input_ids, attention_mask, token_type_ids):
            out = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return out.last_hidden_state

    target.parent.mkdir(parents=True, exist_ok=True)
    names = ("input_ids", "attention_mask", "token_type_ids")
    dummy = tuple(torch.ones((2, 16), dtype=torch.long) for _ in names)
    tmp = target.with_suffix(".tmp")
    torch.onnx.export(
        Encoder(),
        dummy,
        str(tmp),
        input_names=list(names),
        output_names=["last_hidden_state"],
        dynamic_axes={k: {0: "batch", 1: "tokens"} for k in (*names, "last_hidden_state")},
        opset_version=17,
        dynamo=False,
    )
    tmp.rename(target)


# -- full-day vectors (cached) --------------------------------------------------


def cached_vectors(cache: Path, variant: str, day: Day, encode: Callable[[list[str]], np.ndarray]) -> np.ndarray:
    texts = day.texts
    digest = content_hash("\n".join(texts))
    path = cache / variant / f"{day.date}-{digest}.npy"
    if path.exists():
        return np.load(path)
    vecs = np.asarray(encode(texts), np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, vecs)
    return vecs


def picks_at(day: Day, ranked_ids: list[str]) -> list[int]:
    n = len(ranked_ids)
    return [sum(i in day.picks for i in ranked_ids[: math.ceil(level * n)]) for level in LEVELS]


def rank_with(day: Day, vectors: np.ndarray, encoder, store: Store) -> list[str]:
    """``score_papers`` as on main: the day's topics embedded by ``encoder`` as probes."""
    prepared = prepare_profile(day.profile, encoder, store)
    vec = {p.arxiv_id: v for p, v in zip(day.papers, vectors, strict=True)}
    return [c.paper.arxiv_id for c in score_papers(day.papers, vec, prepared, PrefilterConfig())]


def cascade_rank(day: Day, exact: np.ndarray, static: StaticEmbedder, emb: Embedder, fraction: float, tmp: Path):
    """The cascade of paperradar.stages.cascade with the transformer's vectors taken from the cache."""
    with Store(tmp / f"cascade-{day.date}-{fraction}.db") as store:
        store.upsert_papers(day.papers)
        hashes = [content_hash(t) for t in day.texts]
        # Pre-seed only what the cascade will ask the transformer for, so it computes nothing here.
        order, _ = first_pass(store, day.papers, static, day.profile, PrefilterConfig())
        keep = (
            set(order[: math.ceil(fraction * len(day.papers))]) if len(day.papers) >= MIN_CASCADE_PAPERS else set(order)
        )
        store.put_embeddings(
            emb.key,
            ((p.arxiv_id, h, v) for p, h, v in zip(day.papers, hashes, exact, strict=True) if p.arxiv_id in keep),
        )
        vectors, computed = embed_day(store, day.papers, emb, static, day.profile, PrefilterConfig(), fraction)
        assert computed == 0, "the cascade asked for vectors outside its first pass"
        ranked = rank_with(day, np.vstack([vectors[p.arxiv_id] for p in day.papers]), emb, store)
        return ranked, np.vstack([vectors[p.arxiv_id] for p in day.papers])


# -- main ------------------------------------------------------------------------


def timed(fn: Callable[[], np.ndarray]) -> tuple[float, float, np.ndarray]:
    """Wall seconds, CPU seconds of this process, result."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - t0, time.process_time() - c0, out


def keeps_picks(arr: np.ndarray, today: np.ndarray) -> bool:
    """Never more than one pick fewer than today at any level on any day, and never fewer in total."""
    return bool((arr - today >= -1).all() and arr.sum() >= today.sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=SHARED)
    ap.add_argument("--texts", type=int, default=256, help="texts timed per variant (from across the days)")
    ap.add_argument("--batch-sizes", default="16,32,64")
    ap.add_argument("--days", type=int, default=None, help="only the first N shared days for the picks")
    ap.add_argument("--no-onnx", action="store_true", help="skip the ONNX Runtime variants")
    ap.add_argument("--fractions", default="0.2,0.4", help="cascade: share of the day the transformer embeds")
    ap.add_argument("--threads", type=int, default=0, help="torch/onnxruntime threads (0 = every core)")
    ap.add_argument("--repeat", type=int, default=2, help="rounds over the grid; each cell keeps its best")
    ap.add_argument("--cache", type=Path, default=cache_dir() / "bench-embed")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    batches = [int(b) for b in args.batch_sizes.split(",")]
    fractions = [float(f) for f in args.fractions.split(",")] if args.fractions else []
    cpu = detect_cpu()
    days = load_days(args.data, args.days)
    print(cpu.describe())
    print(f"{len(days)} shared days, {sum(len(d.papers) for d in days)} papers; cache {args.cache}\n")

    # Timed texts: spread over all days so lengths are typical.
    pool = [t for d in load_days(args.data, None) for t in d.texts]
    step = max(1, len(pool) // args.texts)
    texts = pool[::step][: args.texts]
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(Embedder().model_path)
    lengths = np.array([len(tok.encode(t)) for t in texts])
    print(
        f"timed texts: {len(texts)}, tokens mean {lengths.mean():.0f}, median {np.median(lengths):.0f}, "
        f"> 128: {np.mean(lengths > 128):.0%}, > 256: {np.mean(lengths > 256):.0%}"
    )
    per_paper = transformer_flops(np.minimum(lengths, 256)) / len(texts) / 1e9
    print(
        f"the transformer's work at 256 tokens: {per_paper:.1f} GFLOP per paper on these texts, so at most "
        f"{cpu.peak_gflops / per_paper:.0f} papers/s on this CPU's fp32 peak\n"
    )

    static = StaticEmbedder()
    timed(lambda: static.encode(["warm up"]))
    if static.build_seconds:
        print(f"static model distilled in {static.build_seconds:.0f} s into {static.folder}")
    print(f"static model: {static.folder} ({static.size_bytes() / 1e6:.0f} MB)")

    threads = args.threads
    # variant -> (max tokens or None, encoder factory (batch, sort))
    variants: dict[str, tuple[int | None, Callable]] = {
        "torch fp32 256": (256, lambda b, s: paperradar_encoder(256, b, sort=s, threads=threads)),
        "torch fp32 128": (128, lambda b, s: paperradar_encoder(128, b, sort=s, threads=threads)),
    }
    if not args.no_onnx:
        try:
            onnx = Embedder(runtime="onnx", threads=threads)
            t_onnx = time.perf_counter()
            onnx.encode(["warm up"])
            if onnx.fallback_reason:
                raise RuntimeError(onnx.fallback_reason)
            built = onnx._onnx.build_seconds
            print(
                f"ONNX int8 model: {onnx._onnx.folder} ({onnx._onnx.size_bytes() / 1e6:.0f} MB)"
                + (f", exported and quantized at first use in {built:.0f} s" if built else "")
                + f"; loaded in {time.perf_counter() - t_onnx:.1f} s"
            )
            onnx32 = OnnxModel(args.cache / "onnx", threads=threads)
            variants["onnx fp32 256"] = (256, lambda b, s: onnx32.encoder(256, b, sort=s))
            for n in (256, 128):
                variants[f"onnx int8 {n}"] = (
                    n,
                    lambda b, s, n=n: paperradar_encoder(n, b, sort=s, threads=threads, runtime="onnx"),
                )
        except Exception as exc:  # noqa: BLE001 - a missing package or a failed export: say so, go on
            print(f"ONNX variants skipped: {type(exc).__name__}: {exc}")
    print()

    # Warm every variant once (model load, export, first-call allocation) outside the timings.
    for _, make in variants.values():
        make(batches[0], True)(texts[:4])

    # Every cell is timed ``--repeat`` times, the whole grid once per round, and
    # keeps its best round: other jobs on a shared machine only ever slow a run down.
    ref = None
    best_cell: dict[tuple[str, int, bool], tuple[float, float, np.ndarray]] = {}
    for _ in range(args.repeat):
        for batch in batches:
            for sort in (False, True):
                for name, (_, make) in variants.items():
                    encode = make(batch, sort)
                    secs, cpu_secs, vecs = timed(lambda encode=encode: encode(texts))
                    if ref is None:
                        ref = vecs
                    prev = best_cell.get((name, batch, sort))
                    if prev is None or secs < prev[0]:
                        best_cell[(name, batch, sort)] = (secs, min(cpu_secs, prev[1]) if prev else cpu_secs, vecs)
    rows = []  # (name, batch, sorted, papers/s, gflops, cpu gflops, cos mean, cos min)
    nan = float("nan")
    for (name, batch, sort), (secs, cpu_secs, vecs) in best_cell.items():
        cos = (vecs * ref).sum(1)
        work = transformer_flops(np.minimum(lengths, variants[name][0])) / 1e9
        rows.append((name, batch, sort, len(texts) / secs, work / secs, work / cpu_secs, cos.mean(), cos.min()))
    secs, _, svecs = timed(lambda: static.encode(texts))
    rows.append(("model2vec static", 0, False, len(texts) / secs, nan, nan, nan, nan))

    # -- picks on every day --------------------------------------------------------
    full_day = {
        "torch fp32 256": Embedder(max_tokens=256, threads=threads),
        "torch fp32 128": Embedder(max_tokens=128, threads=threads),
    }
    if "onnx int8 256" in variants:
        full_day["onnx int8 256"] = Embedder(max_tokens=256, threads=threads, runtime="onnx")
        full_day["onnx int8 128"] = Embedder(max_tokens=128, threads=threads, runtime="onnx")
    full_day["model2vec static"] = static
    # Folders of cached full-day vectors: the runtime's version is part of an ONNX variant's.
    cache_names = {"torch fp32 256": "torch256", "torch fp32 128": "torch128"}
    for name in ("onnx int8 256", "onnx int8 128"):
        if name in full_day:
            cache_names[name] = f"{full_day[name].key}-{onnx.model_folder().name}"
    picks: dict[str, list[list[int]]] = {}
    agree: dict[str, list[np.ndarray]] = {}
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        with Store(tmp / "probes.db") as store:
            for day in days:
                # Each variant embeds the day and the profile's probes, as a run with that backend would.
                full = {
                    name: (cached_vectors(args.cache, cache_names.get(name, enc.key), day, enc.encode), enc)
                    for name, enc in full_day.items()
                }
                ref_day = full["torch fp32 256"][0]
                for name, (vecs, enc) in full.items():
                    picks.setdefault(name, []).append(picks_at(day, rank_with(day, vecs, enc, store)))
                    if vecs.shape[1] == ref_day.shape[1]:
                        agree.setdefault(name, []).append((vecs * ref_day).sum(1))
                for f in fractions:
                    name = f"cascade static+torch128 {f:.0%}"
                    emb128 = full_day["torch fp32 128"]
                    ranked, vecs = cascade_rank(day, full["torch fp32 128"][0], static, emb128, f, tmp)
                    picks.setdefault(name, []).append(picks_at(day, ranked))
                    agree.setdefault(name, []).append((vecs * ref_day).sum(1))

    # -- report ------------------------------------------------------------------------
    one_core = cpu.peak_gflops / cpu.cores
    print(
        f"{'variant':<24} {'batch':>5} {'order':>7} {'papers/s':>9} {'GFLOP/s':>8} {'of peak':>7} "
        f"{'GFLOP/CPU-s':>11} {'of core':>7} {'cos mean':>8} {'cos min':>8}"
    )

    def fmt(x: float, spec: str) -> str:
        return format(x, spec) if x == x else "-"

    for name, batch, sort, pps, gf, cgf, cm, cmin in rows:
        print(
            f"{name:<24} {batch or '-':>5} {'sorted' if sort else 'listing':>7} {pps:>9.1f} {fmt(gf, '.0f'):>8} "
            f"{fmt(gf / cpu.peak_gflops, '.0%'):>7} {fmt(cgf, '.0f'):>11} {fmt(cgf / one_core, '.0%'):>7} "
            f"{fmt(cm, '.4f'):>8} {fmt(cmin, '.4f'):>8}"
        )
    print(
        "(GFLOP/s: wall clock, all cores, against the CPU's peak; GFLOP/CPU-s: per second this process was on a "
        "core, against one core's peak; int8 work is counted as fp32 FLOPs)"
    )

    print(
        f"\nprefilter picks at top {'/'.join(f'{lv:.0%}' for lv in LEVELS)} over {len(days)} days "
        "(today = torch fp32 256; keeps = never more than one fewer on any day, never fewer in total):"
    )
    today = np.array(picks["torch fp32 256"])
    keeps = {}
    for name, per_day in picks.items():
        arr = np.array(per_day)
        diff = arr - today
        keeps[name] = keeps_picks(arr, today)
        cos = np.concatenate(agree[name]) if name in agree else None
        cos_s = f"cos vs today mean {cos.mean():.4f} min {cos.min():.4f}" if cos is not None else "other space"
        print(
            f"  {name:<32} {' / '.join(str(x) for x in arr.sum(axis=0))}  (worst day "
            f"{' / '.join(f'{x:+d}' for x in diff.min(axis=0))}, best day "
            f"{' / '.join(f'{x:+d}' for x in diff.max(axis=0))}; days changed {int((diff != 0).any(axis=1).sum())})"
            f"  {'KEEPS' if keeps[name] else 'LOSES'}  {cos_s}"
        )

    # Speed of the cascade: static over the timed texts, transformer on the fraction.
    best128 = max(r[3] for r in rows if r[0] == "torch fp32 128")
    static_pps = next(r[3] for r in rows if r[0] == "model2vec static")
    best = {name: max(r[3] for r in rows if r[0] == name) for name in variants}
    best["model2vec static"] = static_pps
    for f in fractions:
        best[f"cascade static+torch128 {f:.0%}"] = 1 / (1 / static_pps + f / best128)
    # Today's path gets the same treatment as every variant: its best cell.
    ref_pps = best["torch fp32 256"]
    # Variants without full-day picks keep the ranking only if their vectors are today's (cos min >= 0.9999).
    same = {r[0] for r in rows if r[6] == r[6]} - {r[0] for r in rows if r[6] == r[6] and r[7] < 0.9999}
    print(f"\nbest papers/s per variant, best batch size and order (torch fp32 256 = today: {ref_pps:.1f}):")
    for name, pps in sorted(best.items(), key=lambda kv: -kv[1]):
        kept = keeps.get(name)
        if kept is None:
            flag = "  same vectors (cos min >= 0.9999)" if name in same else "  picks not measured"
        else:
            flag = "  keeps picks" if kept else "  loses picks"
        print(f"  {name:<32} {pps:>7.1f}  {pps / ref_pps:>5.1f}x{flag}")
    fastest = max((n for n in best if keeps.get(n, n in same)), key=lambda n: best[n])
    print(f"chosen: {fastest}")
    print(f"speedup best/torch256 {best[fastest] / ref_pps:.1f}x")


if __name__ == "__main__":
    main()
