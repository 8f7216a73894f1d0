"""``[worker]``: the job queue's PostgreSQL database and how workers run its jobs."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .redact import redact


class WorkerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    queue: str = Field(
        "",
        description="PostgreSQL URL of the job queue; empty: the [paperradar] database when it is PostgreSQL",
    )
    concurrency: int = Field(1, ge=1, le=64, description="jobs one `paperradar worker` runs at once")
    retries: int = Field(5, ge=0, le=20, description="attempts after a failed one, with exponential back-off")
    stalled_seconds: int = Field(
        60, ge=2, description="a job whose worker sent no heartbeat for this long is handed to another worker"
    )
    cron: str = Field("", description="crontab line (UTC) at which workers enqueue the newest announcement day")

    @field_validator("queue")
    @classmethod
    def _postgres_url(cls, v: str) -> str:
        if v and not v.startswith(("postgresql://", "postgres://")):
            raise ValueError(f"must be a postgresql:// URL (got {redact(v)!r})")
        if v and _password_in(v):
            raise ValueError(
                "holds a password: keep it out of the file; set $PAPERRADAR_DATABASE_PASSWORD in the environment"
            )
        return v

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, v: str) -> str:
        if v:
            from croniter import croniter

            if not croniter.is_valid(v):
                raise ValueError(f"{v!r} is not a crontab line (minute hour day month weekday, e.g. '30 1 * * 1-5')")
        return v


def _password_in(url: str) -> bool:
    from urllib.parse import urlsplit

    return bool(urlsplit(url).password)
