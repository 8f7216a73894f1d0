"""Library import: BibTeX and Zotero exports → library items matched to arXiv."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from paperradar.core.library import (
    LibraryError,
    decode,
    detect_format,
    find_arxiv_id,
    import_library,
    library_seed_ids,
    library_vectors,
    list_items,
    parse_bibtex,
    parse_library,
    parse_zotero_csv,
    parse_zotero_rdf,
)
from paperradar.core.store import Store

FIX = Path(__file__).parent / "fixtures" / "library"


class FakeEmbedder:
    """Deterministic vectors from the text, so tests need no model."""

    model_name = key = "fake-model"

    def __init__(self):
        self.calls = 0

    def encode(self, texts, progress=None):
        self.calls += 1
        out = []
        for t in texts:
            rng = np.random.default_rng(abs(hash(t)) % 2**32)
            v = rng.normal(size=8).astype(np.float32)
            out.append(v / np.linalg.norm(v))
        if progress:
            progress(len(texts))
        return np.vstack(out)


def by_title(items):
    return {i.title: i for i in items}


def test_bibtex_matches_arxiv_in_every_shape_exporters_use():
    result = parse_bibtex((FIX / "library.bib").read_bytes())
    items = by_title(result.items)
    # Google Scholar ("arXiv preprint arXiv:X"), DBLP (eprint + CoRR volume), arXiv's own
    # export (eprint with a version), a DOI 10.48550/arXiv.X and an old-style pdf URL.
    assert items["BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding"].arxiv_id == (
        "1810.04805"
    )
    assert items["LoRA: Low-Rank Adaptation of Large Language Models"].arxiv_id == "2106.09685"
    grok = items["Grokking: Generalization Beyond Overfitting on Small Algorithmic Datasets"]
    assert grok.arxiv_id == "2201.02177"
    assert grok.abstract.startswith("In this paper")
    assert items["Scaling Laws for Neural Language Models"].arxiv_id == "2001.08361"
    assert items["An Old-Style Identifier"].arxiv_id == "hep-th/9901001"


def test_bibtex_latex_accents_strings_and_no_arxiv():
    items = by_title(parse_bibtex((FIX / "library.bib").read_bytes()).items)
    kernel = items["Kernel Methods für Naïve Schölkopf Readers"]
    assert kernel.arxiv_id is None
    assert kernel.doi == "10.5555/1234567.1234568"
    assert kernel.authors == ["Bernhard Schölkopf", "Alexander J. Smola"]
    assert kernel.year == 2001
    assert "without any arXiv version, at 50% length" in kernel.abstract


def test_bibtex_skips_untitled_and_broken_entries_with_notes():
    result = parse_bibtex((FIX / "library.bib").read_bytes())
    assert len(result.items) == 6
    assert any("notitle" in s and "no title" in s for s in result.skipped)
    assert any("unparsable" in s for s in result.skipped)


def test_latin1_bibtex_is_read():
    data = (FIX / "library_latin1.bib").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    (item,) = parse_bibtex(data).items
    assert item.title == "Über die Müdigkeit neuronaler Netze"
    assert item.authors == ["Jürgen Müller", "Åsa Ångström"]
    assert item.arxiv_id == "2402.01234"  # from note = {arXiv:2402.01234 [cs.LG]}


def test_decode_handles_boms():
    assert decode("\ufeffTitle".encode()) == "Title"
    assert decode("Tïtle".encode("utf-16")) == "Tïtle"
    assert decode("Tïtle".encode("latin-1")) == "Tïtle"


def test_zotero_csv_with_bom():
    data = (FIX / "zotero.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    result = parse_zotero_csv(data)
    items = by_title(result.items)
    assert len(items) == 3  # the attachment row is not a paper, the untitled one is skipped
    mamba = items["Mamba: Linear-Time Sequence Modeling with Selective State Spaces"]
    assert mamba.arxiv_id == "2312.00752"
    assert mamba.authors == ["Tri Dao", "Albert Gu"]
    assert items["Classifier-Free Diffusion Guidance"].arxiv_id == "2207.12598"  # Extra "arXiv: X"
    protein = items["Highly accurate protein structure prediction"]
    assert protein.arxiv_id is None and protein.doi == "10.1038/s41586-021-03819-2"
    assert result.skipped == ["CSV line 6: no title"]


def test_zotero_csv_without_title_column_is_an_error():
    with pytest.raises(LibraryError, match="Title"):
        parse_zotero_csv(b"a,b\n1,2\n")


def test_zotero_rdf():
    result = parse_zotero_rdf((FIX / "zotero.rdf").read_bytes())
    items = by_title(result.items)
    assert set(items) == {"Attention Is All You Need", "Über formal unentscheidbare Sätze"}
    att = items["Attention Is All You Need"]
    assert att.arxiv_id == "1706.03762"
    assert att.authors == ["Ashish Vaswani", "Noam Shazeer"]
    assert att.year == 2017
    assert att.abstract.startswith("The dominant sequence")
    godel = items["Über formal unentscheidbare Sätze"]
    assert godel.arxiv_id is None and godel.authors == ["Kurt Gödel"]
    assert len(result.skipped) == 1


def test_broken_rdf_is_an_error():
    with pytest.raises(LibraryError, match="Zotero RDF"):
        parse_zotero_rdf(b"<?xml version='1.0'?><rdf:RDF")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://arxiv.org/abs/2401.01234v3", "2401.01234"),
        ("arXiv:2401.01234 [cs.LG]", "2401.01234"),
        ("arXiv: 2401.01234", "2401.01234"),
        ("https://doi.org/10.48550/ARXIV.2401.01234", "2401.01234"),
        ("http://arxiv.org/pdf/math.AG/0601001v1", "math.AG/0601001"),
        ("https://arxiv.org/abs/2401.012345", None),
        ("10.1038/nature14539", None),
        ("", None),
    ],
)
def test_find_arxiv_id(text, expected):
    assert find_arxiv_id(text) == expected


def test_detect_format(tmp_path):
    assert detect_format(FIX / "zotero.rdf", (FIX / "zotero.rdf").read_bytes()) == "zotero-rdf"
    assert detect_format(FIX / "zotero.csv", b"") == "zotero-csv"
    assert detect_format(tmp_path / "export.txt", b"\n@article{x, title={T}}") == "bibtex"
    with pytest.raises(LibraryError, match="BibTeX"):
        detect_format(tmp_path / "notes.txt", b"just some notes")


def test_import_stores_embeds_and_reimport_is_idempotent(tmp_path):
    store = Store(tmp_path / "t.db")
    emb = FakeEmbedder()
    report = import_library(store, FIX / "library.bib", emb)
    assert (report.items, report.arxiv, report.new, report.embedded) == (6, 5, 6, 6)
    assert sorted(library_seed_ids(store)) == ["1810.04805", "2001.08361", "2106.09685", "2201.02177", "hep-th/9901001"]
    vectors = library_vectors(store, "fake-model")
    assert len(vectors) == 6 and all(v.shape == (8,) for _, v in vectors.values())
    again = import_library(store, FIX / "library.bib", emb)
    assert (again.new, again.updated, again.embedded) == (0, 6, 0)
    # Zotero adds to the same library; the same paper from two exports is one item.
    import_library(store, FIX / "zotero.rdf", emb)
    assert len(list_items(store)) == 8
    assert library_vectors(store, "another-model") == {}


def test_missing_file_is_an_actionable_error(tmp_path):
    with pytest.raises(LibraryError, match="Cannot read"):
        parse_library(tmp_path / "nope.bib")


def test_cli_library_import_and_list(tmp_path, monkeypatch):
    from paperradar import cli

    cfg = tmp_path / "paperradar.toml"
    cfg.write_text('[paperradar]\ndatabase = "db.sqlite"\n', encoding="utf-8")
    monkeypatch.setattr("paperradar.core.embedding.Embedder", lambda *a, **k: FakeEmbedder())
    runner = CliRunner()
    result = runner.invoke(cli.app, ["library", "import", str(FIX / "zotero.csv"), "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    assert "3 items" in result.output and "2 matched to arXiv" in result.output
    listed = runner.invoke(cli.app, ["library", "list", "--config", str(cfg)])
    assert listed.exit_code == 0, listed.output
    assert "2312.00752" in listed.output
    bad = runner.invoke(cli.app, ["library", "import", str(tmp_path / "missing.bib"), "--config", str(cfg)])
    assert bad.exit_code == 1 and "Cannot read" in bad.output
