"""``python -m tests.faultcli ARGS``: the paperradar CLI in a child process, for fault tests.

Two things differ from the installed command: a word-hashing embedder stands in
for the sentence-transformers model (a child that loads torch would make every
kill test cost seconds), and ``FAULT_KILL_BEFORE=<stage>`` makes the process
SIGKILL itself when the pipeline reaches that stage (``FAULT_KILL_AFTER=<stage>``:
when that stage has returned, before it is recorded), the way an OOM killer or
a power cut would stop it: no cleanup, no exception handler, no flush.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
from dataclasses import replace

import numpy as np

from paperradar.cli import app
from paperradar.core import context, pipeline
from paperradar.core.embedding import Embedder

DIM = 64


class HashEmbedder(Embedder):
    """Bag of hashed words: deterministic, related texts land near each other."""

    def encode(self, texts, progress=None):
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"[a-z]{3,}", text.lower()):
                out[i, int(hashlib.md5(word.encode()).hexdigest()[:8], 16) % DIM] += 1.0
            norm = np.linalg.norm(out[i])
            out[i] = out[i] / norm if norm else out[i]
        if progress:
            progress(len(texts))
        return out

    @property
    def dim(self) -> int:
        return DIM


def _killing(fn, *, after: bool = False):
    def stage(ctx):
        if not after:
            os.kill(os.getpid(), signal.SIGKILL)
        detail = fn(ctx)
        os.kill(os.getpid(), signal.SIGKILL)
        return detail

    return stage


def main() -> None:
    context.Embedder = HashEmbedder
    before, after = os.environ.get("FAULT_KILL_BEFORE"), os.environ.get("FAULT_KILL_AFTER")
    if before or after:
        real = pipeline.default_stages

        def stages(config):
            return [
                replace(s, run=_killing(s.run, after=s.name == after)) if s.name in (before, after) else s
                for s in real(config)
            ]

        pipeline.default_stages = stages
    app(prog_name="paperradar")


if __name__ == "__main__":
    main()
