"""Atom/RSS feeds and the static site, built from digests written to a tmp output folder."""

from __future__ import annotations

import datetime as dt
import html.parser
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import unquote, urlsplit

import feedparser
import pytest

from paperradar.core.config import parse_config
from paperradar.core.schedule import announcement_time
from paperradar.outputs.archive import digest_days, load_digest
from paperradar.outputs.feed import write_feeds
from paperradar.outputs.site import build_site
from paperradar.outputs.write import write_digest

from .sample_digest import DAY, sample_digest

DAYS = [dt.date(2026, 2, 20), dt.date(2026, 2, 23), DAY]
ATOM = "{http://www.w3.org/2005/Atom}"


def make_config(tmp_path, extra: str = ""):
    text = f'[paperradar]\noutput_dir = "out"\ndatabase = "db.sqlite"\n[feed]\nper_day = 3\n{extra}'
    path = tmp_path / "paperradar.toml"
    path.write_text(text)
    return parse_config(tomllib.loads(text), path)


@pytest.fixture
def config(tmp_path):
    cfg = make_config(tmp_path, '[site]\nbase_url = "https://me.example.io/radar/"\n')
    for day in DAYS:
        write_digest(sample_digest(day), cfg.output_dir)
    return cfg


def test_digest_json_round_trips(config):
    assert digest_days(config.output_dir) == sorted(DAYS, reverse=True)
    loaded = load_digest(config.output_dir, DAY)
    original = sample_digest(DAY)
    assert loaded.entries[1].paper.title == original.entries[1].paper.title
    assert loaded.entries[0].judgment == original.entries[0].judgment
    assert loaded.sections == original.sections
    assert load_digest(config.output_dir, dt.date(2026, 1, 1)) is None


def test_atom_feed_parses_with_stable_ids_and_dates(config):
    paths = write_feeds(config)
    parsed = feedparser.parse(paths["atom"].read_bytes())
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.id == "https://me.example.io/radar/atom.xml"
    # per_day = 3 of 4 entries, over three days, newest day and best paper first.
    assert len(parsed.entries) == 9
    first = parsed.entries[0]
    assert first.id == f"https://arxiv.org/abs/2602.11111#{DAY}"
    assert first.link == "https://arxiv.org/abs/2602.11111"
    ids = [e.id for e in parsed.entries]
    assert len(set(ids)) == len(ids)
    assert all(urlsplit(i).scheme == "https" and "#" in i for i in ids)
    for e in parsed.entries:
        day = dt.date.fromisoformat(e.id.rsplit("#", 1)[1])
        # The listing's publication time, not the time the feed was built.
        expected = announcement_time(day).astimezone(dt.UTC)
        assert dt.datetime(*e.updated_parsed[:6], tzinfo=dt.UTC) == expected
        assert dt.datetime(*e.published_parsed[:6], tzinfo=dt.UTC) == expected
    assert [a.name for a in first.authors] == ["Ada Lovelace", "Alan Turing"]

    # Rebuilding after a rerun (new generated_at) changes neither ids nor dates.
    before = paths["atom"].read_text()
    for day in DAYS:
        d = sample_digest(day)
        d.generated_at = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
        write_digest(d, config.output_dir)
    assert write_feeds(config)["atom"].read_text() == before


def test_atom_is_valid_per_spec(config):
    root = ET.parse(write_feeds(config)["atom"]).getroot()
    assert root.tag == f"{ATOM}feed"
    for tag in ("id", "title", "updated", "author"):  # RFC 4287 §4.1.1 (author: feed-level covers entries)
        assert root.find(f"{ATOM}{tag}") is not None, tag
    for entry in root.findall(f"{ATOM}entry"):
        for tag in ("id", "title", "updated", "content"):
            assert len(entry.findall(f"{ATOM}{tag}")) == 1, tag
        dt.datetime.fromisoformat(entry.find(f"{ATOM}updated").text)  # RFC 3339
        # Exactly one alternate link (rel defaults to alternate): RFC 4287 §4.1.1.
        links = [x for x in entry.findall(f"{ATOM}link") if x.get("rel", "alternate") == "alternate"]
        assert len(links) == 1 and links[0].get("href").startswith("https://arxiv.org/abs/")


def test_rss_feed_parses(config):
    parsed = feedparser.parse(write_feeds(config)["rss"].read_bytes())
    assert parsed.bozo == 0 and parsed.version == "rss20"
    assert len(parsed.entries) == 9
    guids = [e.id for e in parsed.entries]
    assert guids[0] == f"https://arxiv.org/abs/2602.11111#{DAY}" and len(set(guids)) == 9
    assert all(e.published_parsed for e in parsed.entries)


def test_feed_escapes_hostile_text_and_survives_control_characters(config):
    path = write_feeds(config)["atom"]
    text = path.read_text()
    assert "<script" not in text.lower()  # XML-escaped everywhere
    root = ET.parse(path).getroot()
    hostile = next(e for e in root.findall(f"{ATOM}entry") if "2602.22222" in e.find(f"{ATOM}id").text)
    assert hostile.find(f"{ATOM}title").text.startswith('Attention <script>alert("x")</script>')  # text, not markup
    content = hostile.find(f"{ATOM}content")
    assert content.get("type") == "html"
    body = content.text  # the HTML a reader will render
    assert "<script" not in body.lower() and "&lt;script&gt;" in body
    assert "&lt;img src=x onerror=alert(1)&gt;" in body
    assert "\x00" not in text and "\x0c" not in text


def test_feed_without_site_url_has_a_stable_urn(tmp_path):
    cfg = make_config(tmp_path)
    write_digest(sample_digest(DAY), cfg.output_dir)
    a = feedparser.parse(write_feeds(cfg)["atom"].read_bytes())
    b = feedparser.parse(write_feeds(cfg)["atom"].read_bytes())
    assert a.feed.id.startswith("urn:uuid:") and a.feed.id == b.feed.id
    assert a.bozo == 0


class Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []
        self.ids: set[str] = set()
        self.tags: set[str] = set()
        self.attrs_seen: set[str] = set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        for k, v in attrs:
            self.attrs_seen.add(k)
            if k == "href":
                self.hrefs.append(v)
            if k == "id":
                self.ids.add(v)


def parse_page(path: Path) -> Links:
    p = Links()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def test_site_pages_exist_and_every_link_resolves(config):
    result = build_site(config)
    site = result.dir
    assert result.pages == 3
    names = {p.name for p in site.iterdir()}
    assert {"index.html", "atom.xml", "rss.xml", ".nojekyll"} | {f"{d}.html" for d in DAYS} <= names
    pages = {p.name: parse_page(p) for p in site.glob("*.html")}
    checked = 0
    for name, page in pages.items():
        # Readable without JavaScript, and none that paper text could smuggle in.
        assert "script" not in page.tags
        assert not any(a.startswith("on") for a in page.attrs_seen), name
        for href in page.hrefs:
            parts = urlsplit(href)
            assert parts.scheme in ("", "https"), href
            if parts.scheme:
                continue
            target = name if not parts.path else unquote(parts.path)
            assert (site / target).is_file(), f"{name}: {href} is broken"
            if parts.fragment:
                assert parts.fragment in pages[target].ids, f"{name}: {href} has no anchor"
            checked += 1
    assert checked > 20  # contents links, day navigation, feeds
    index = pages["index.html"]
    assert [h for h in index.hrefs if h.endswith(".html")] == [f"{d}.html" for d in sorted(DAYS, reverse=True)]
    middle = pages["2026-02-23.html"]
    assert {"index.html", "2026-02-20.html", "2026-02-24.html"} <= set(middle.hrefs)


def test_site_escapes_hostile_text(config):
    site = build_site(config).dir
    for page in site.glob("*.html"):
        text = page.read_text()
        assert "<script" not in text.lower() and "<img" not in text
    day_page = (site / f"{DAY}.html").read_text()
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in day_page
    assert "code &lt;/li&gt;&lt;script&gt;x()&lt;/script&gt;" in day_page  # LLM output too
    assert "Trending &lt;b&gt;paper&lt;/b&gt;" in day_page  # sections too
    index = (site / "index.html").read_text()
    assert "Attention &lt;script&gt;" in index


def test_site_with_no_digests_has_an_index(tmp_path):
    cfg = make_config(tmp_path)
    result = build_site(cfg)
    assert result.pages == 0 and "No digests yet" in result.index.read_text()
