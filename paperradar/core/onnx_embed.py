"""The transformer run by ONNX Runtime with int8 weights: ``[embedding] backend = "onnx"``.

The same all-MiniLM-L6-v2 as sentence-transformers, exported once with
torch.onnx from the packaged weights and quantized by onnxruntime (dynamic
int8, per-channel, 7-bit range because AVX2 CPUs without VNNI saturate at 8).
On AVX2 cores it embeds 1.0-1.45x as many papers per second as torch fp32 and its
vectors agree with torch's at cosine 0.993, which is not close enough to keep
the prefilter's picks on every shared day (bench/embed.py), so it is opt-in.
Activations are quantized per batch, so a paper's vector moves slightly
(~1e-3) with the papers batched beside it.

The exported model lives under the user's cache folder (static_embed.cache_dir),
one folder per model, model package version, torch and onnxruntime version,
so an upgrade of any of them exports afresh. The tokenizer and the pooling
(mean over tokens, then unit length) are the packaged model's own.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .errors import EmbeddingError
from .model_files import package_version

log = logging.getLogger(__name__)

RUNTIME_TAG = "onnx-int8"
MODEL_FILE = "model.onnx"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def onnx_version(weights: str) -> str:
    """What the exported file depends on: the weights, the exporter and the quantizer."""
    torch_version = package_version("torch").split("+")[0]
    return f"{weights}-torch{torch_version}-ort{package_version('onnxruntime')}-int8"


def check_mean_pooling(model_path: Path) -> None:
    """The export covers the transformer only; pooling is done here, so it must be the mean."""
    modules = json.loads((model_path / "modules.json").read_text()) if (model_path / "modules.json").exists() else []
    for m in modules:
        if m.get("type", "").endswith("Pooling"):
            pooling = json.loads((model_path / m["path"] / "config.json").read_text())
            if not pooling.get("pooling_mode_mean_tokens") or any(
                v for k, v in pooling.items() if k.startswith("pooling_mode_") and k != "pooling_mode_mean_tokens"
            ):
                raise EmbeddingError(f"{model_path} pools other than by the mean of its tokens; ONNX path not used")


class _QuietQuantizer(logging.Filter):
    """The quantizer's advice to preprocess the graph is for model authors, not for a user's daily run."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()


def export_int8(model_path: Path, target: Path) -> None:
    """Export the transformer's token states to ONNX and quantize its weights to int8, into ``target``."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    class TokenStates(torch.nn.Module):
        """Called by keyword: the positional order of BERT's inputs differs across transformers versions."""

        def __init__(self):
            super().__init__()
            self.bert = AutoModel.from_pretrained(str(model_path)).eval()

        def forward(self, input_ids, attention_mask, token_type_ids):
            out = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return out.last_hidden_state

    quiet = _QuietQuantizer()
    logging.getLogger().addFilter(quiet)
    try:
        with warnings.catch_warnings(), tempfile.TemporaryDirectory(dir=target) as tmp, torch.no_grad():
            # The tracer warns about branches on shapes that are fixed for this model.
            warnings.simplefilter("ignore")
            fp32 = Path(tmp) / "fp32.onnx"
            torch.onnx.export(
                TokenStates(),
                tuple(torch.ones((2, 16), dtype=torch.long) for _ in INPUTS),
                str(fp32),
                input_names=list(INPUTS),
                output_names=["last_hidden_state"],
                dynamic_axes={k: {0: "batch", 1: "tokens"} for k in (*INPUTS, "last_hidden_state")},
                opset_version=17,
                dynamo=False,
            )
            # Per-channel weights and a 7-bit range: AVX2 without VNNI overflows with 8 bits.
            quantize_dynamic(
                str(fp32), str(target / MODEL_FILE), weight_type=QuantType.QInt8, per_channel=True, reduce_range=True
            )
    finally:
        logging.getLogger().removeFilter(quiet)


class OnnxTransformer:
    """An onnxruntime session over the exported model, built at first use in ``folder``."""

    def __init__(self, model_path: Path, folder: Path, max_tokens: int, threads: int = 0):
        self.model_path = model_path
        self.folder = folder
        self.max_tokens = max_tokens
        self.threads = threads or len(os.sched_getaffinity(0))
        self.build_seconds: float | None = None
        check_mean_pooling(model_path)
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise EmbeddingError(f"{exc}: pip install 'paperradar[onnx]'") from exc
        if not (folder / MODEL_FILE).exists():
            self._build()
        from transformers import AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(str(model_path))
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        # Idle workers sleep instead of spinning: the daily run shares the CPU with whatever else runs.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(folder / MODEL_FILE), opts, providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}

    def _build(self) -> None:
        log.warning("Exporting %s to ONNX (int8) into %s (once; takes about a minute)", self.model_path, self.folder)
        t0 = time.perf_counter()
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        # Built beside its final place and renamed, so a crash or a second
        # process never leaves a half-written model where the next run looks.
        tmp = Path(tempfile.mkdtemp(prefix=".building-", dir=self.folder.parent))
        try:
            export_int8(self.model_path, tmp)
            try:
                tmp.rename(self.folder)
            except OSError:
                if not (self.folder / MODEL_FILE).exists():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        self.build_seconds = time.perf_counter() - t0

    def encode_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length mean-pooled vectors, as sentence-transformers computes them."""
        enc = self.tokenizer(
            list(texts), padding=True, truncation=True, max_length=self.max_tokens, return_tensors="np"
        )
        feed = {k: np.asarray(v, dtype=np.int64) for k, v in enc.items() if k in self.inputs}
        hidden = self.session.run(None, feed)[0]
        mask = enc["attention_mask"][..., None].astype(np.float32)
        pooled = (hidden * mask).sum(1) / np.maximum(mask.sum(1), 1e-9)
        return (pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)).astype(np.float32)

    @property
    def dim(self) -> int:
        return int(self.session.get_outputs()[0].shape[-1])

    def size_bytes(self) -> int:
        return sum(f.stat().st_size for f in self.folder.rglob("*") if f.is_file())
