"""Settings, read once at the edge (CLI, API) and passed down; library code never reads the env."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from sepadan.features.encoder import DEFAULT_MODEL_SHA256  # noqa: F401 (the default model's digest)
from sepadan.features.encoders import DEFAULT_ENCODER, ENCODERS, parse_encoder


class Settings(BaseSettings):
    """Every knob of the engine. Environment variables use the prefix ``SEPADAN_``."""

    model_config = SettingsConfigDict(env_prefix="SEPADAN_", extra="ignore")

    home: Path = Field(default=Path(".sepadan"), description="data directory (store, indexes, keys)")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite in home")
    encoder: str = Field(default=DEFAULT_ENCODER, description="phrase encoder: " + ", ".join(ENCODERS)
                         + ", or several joined with '+' (README, Choosing the encoder)")
    model_path: Path | None = Field(default=None, description="local sentence-transformers folder")
    model_sha256: str | None = Field(default=None, description="expected model.safetensors sha256")
    data_dir: Path | None = Field(default=None, description="taxonomy and lexicon folder")
    index_exact_max: int = Field(default=50_000, ge=1, description="exact index up to this many rows")
    index_ann: str = Field(default="ivf_sq8", pattern="^(hnsw|hnsw_sq8|ivf|ivf_sq8)$", description="ANN kind above index_exact_max rows: ivf_sq8 (IVF over 8-bit codes re-ranked on float32 rows: built in 40 s at 1M, 395 bytes a row, recall@10 >= 0.998 at every share; experiments/results/speed-index-1m.md), hnsw (float32), hnsw_sq8 (8-bit codes), ivf (float32)")
    hnsw_m: int = Field(default=32, ge=4, le=128)
    hnsw_ef_construction: int = Field(default=80, ge=8, le=1024, description="HNSW build breadth; 80 built 100k varied vectors 4x faster than 200 at equal recall (experiments/results/speed-index.md)")
    hnsw_ef_search: int = Field(default=256, ge=8, le=4096, description="HNSW search breadth; at 1M workers 128 gave recall@10 0.935, 256 gave 0.951 (experiments/results/speed.md)")
    exact_filter_max: int | None = Field(default=None, ge=0, description="filtered queries at or under this many allowed rows search exactly; none: the index kind's measured switch point (10,000 for HNSW, 5,000 for IVF; experiments/results/speed-index-planner.md)")
    exact_filter_share: float | None = Field(default=None, ge=0, le=1, description="filtered queries under this share of the rows search exactly; none: the index kind's (0.05 HNSW, 0.02 IVF)")
    index_rows: str = Field(default="memory", pattern="^(memory|mapped)$", description="how a loaded index holds its float32 rows: memory (read into huge pages: the first exact search of a fresh mask reaches scattered rows faster, experiments/results/first-search-1m.md; each server process holds its own copy) or mapped (the file mapped: only the pages searched are resident and server processes share them)")
    ivf_nprobe: int = Field(default=32, ge=1, le=4096, description="IVF lists visited a query with everyone allowed (more as the allowed share falls)")
    skill_threshold: float = Field(default=0.62, ge=0, le=1)
    occupation_threshold: float = Field(default=0.55, ge=0, le=1)
    title_examples: bool = Field(default=True, description="occupations of job titles also read the votes of the nearest labelled example titles (data/titles/examples.tsv, the JobBERT dev split)")
    pii_key: str | None = Field(default=None, description="key for NIK HMAC and encryption; default a key file in home")
    mlflow_tracking_uri: str | None = Field(
        default=None, validation_alias=AliasChoices("mlflow_tracking_uri", "sepadan_mlflow_tracking_uri"),
        description="MLflow tracking URI (env MLFLOW_TRACKING_URI); default sqlite:///<home>/mlflow.db")
    ranker_refresh_seconds: float = Field(default=30.0, ge=0, description="check the champion alias at most this often")
    api_rate_limit: int = Field(default=1200, ge=0, description="requests a minute per API key, counted across every server process (0: no limit)")
    api_rate_burst: int | None = Field(default=None, ge=1, description="most requests of a key at once: the limit counts in windows of this many (burst / limit minutes); default a sixth of the minute's limit")
    api_auth_failures: int = Field(default=10, ge=0, description="failed authentications (missing or unknown key) a minute per client address before 429 (0: no limit)")
    api_limits_url: str | None = Field(default=None, description="SQLAlchemy URL of the rate-limit counters; default the store on PostgreSQL, limits.db in home beside SQLite")
    api_json_max_bytes: int = Field(default=1_000_000, ge=1024, description="largest JSON request body")
    api_upload_max_bytes: int = Field(default=20_000_000, ge=1024, description="largest uploaded file")
    api_refresh_seconds: float = Field(default=5.0, gt=0, description="how often the API checks for writes by other processes")
    web_planner_warm: bool = Field(default=True, description="after load (and after writes settle) work out the planner's national and province overviews in the background, behind any request")
    test_hold_dir: Path | None = Field(default=None, description="tests only: requests with the header X-Sepadan-Test-Hold wait for a file 'release' in this folder")

    @field_validator("encoder")
    @classmethod
    def _known_encoder(cls, value: str) -> str:
        return "+".join(parse_encoder(value))

    @property
    def url(self) -> str:
        return self.database_url or f"sqlite:///{(self.home / 'sepadan.db').resolve()}"
