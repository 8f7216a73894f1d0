"""The digest as JSON: the same content as the Markdown, for other tools."""

from __future__ import annotations

import json

from ..core.digest import Digest


def digest_dict(digest: Digest) -> dict:
    data = digest.model_dump(mode="json")
    for entry, model in zip(data["entries"], digest.entries, strict=True):
        entry["paper"]["abs_url"] = model.paper.abs_url
        entry["paper"]["pdf_url"] = model.paper.pdf_url
        entry["paper"]["sources"] = model.paper.sources
    return data


def render_json(digest: Digest) -> str:
    return json.dumps(digest_dict(digest), indent=2, ensure_ascii=False) + "\n"
