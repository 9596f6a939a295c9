"""The web layer's small rules, without a server: escaping of rendered answers, safe upload names,
the origin check, the rate limit's keys, admin key guesses, and how the chat picks its language."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi import HTTPException, Request
from limits.storage import MemoryStorage
from support import free_port

from bot import Answer, Source
from web.render import escape_markdown, render_answer
from web.security import (
    OriginCheckMiddleware,
    RateLimiter,
    RateLimitStoreUnavailable,
    check_admin_key,
    open_rate_limit_storage,
)
from web.ui_text import language_from_accept, served_language_from_accept, ui_language
from web.uploads import safe_file_name

HOSTILE = '<img src=x onerror="alert(1)"><script>alert(2)</script> [click](javascript:alert(3)) http://evil.example'


def hostile_answer() -> Answer:
    source = Source(n=1, source="/data/x.md", title=HOSTILE, language="es", snippet=HOSTILE, score=0.5,
                    doc_id="0123456789abcdef")
    return Answer(question="q", answer=HOSTILE, language="es", answered=True, sources=[source])


def test_rendered_answers_carry_no_markup_from_documents():
    rendered = render_answer(hostile_answer(), "es")
    assert "<" not in rendered and ">" not in rendered
    assert "](javascript" not in rendered and "http://evil" not in rendered
    assert "**Fuentes**" in rendered
    assert "(/view/0123456789abcdef?q=%3Cimg+src%3Dx" in rendered  # the one real link: an id from the registry


def test_a_source_without_a_registry_id_gets_no_link():
    answer = hostile_answer()
    answer.sources[0].doc_id = "../../etc/passwd"
    assert "/view/" not in render_answer(answer, "en")


def test_escaped_markdown_reads_as_the_original_text():
    assert escape_markdown("US$518.47 (2024) *a* _b_") == r"US\$518\.47 \(2024\) \*a\* \_b\_"
    assert escape_markdown("a & b < c") == "a &amp; b &lt; c"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("report-es.md", "report-es.md"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\boot.ini", "boot.ini"),
        (".hidden.txt", "hidden.txt"),
        ("informe 2025 (final).PDF", "informe_2025_final.pdf"),
        ("论坛纪要-zh.md", "论坛纪要-zh.md"),
        ("<script>.html", "script.html"),
        ("", "upload"),
        ("..", "upload"),
    ],
)
def test_upload_names_are_made_safe(name, expected):
    assert safe_file_name(name) == expected


def test_origin_check_allows_same_origin_and_listed_origins_only():
    check = OriginCheckMiddleware(app=None, allowed_origins=["https://forum.example.org/"])
    assert check.allows("https://forum.example.org", "qa.example.org")
    assert check.allows("HTTPS://FORUM.EXAMPLE.ORG", "qa.example.org")
    assert check.allows("https://qa.example.org", "qa.example.org")  # same origin
    assert not check.allows("https://evil.example", "qa.example.org")
    assert not check.allows("https://forum.example.org.evil.example", "qa.example.org")
    assert not check.allows("null", "qa.example.org")
    assert OriginCheckMiddleware(app=None, allowed_origins=["*"]).allows("https://any.example", "qa.example.org")


def test_rate_limit_counts_per_address_and_per_session():
    limiter = RateLimiter("2/minute")
    assert limiter.check("10.0.0.1", "session-aaaa") is None
    assert limiter.check("10.0.0.1", "session-aaaa") is None
    assert limiter.check("10.0.0.1", None) is not None  # the address is spent
    assert limiter.check("10.0.0.2", "session-aaaa") is not None  # so is the session, from anywhere
    wait = limiter.check("10.0.0.3", "session-bbbb")
    assert wait is None
    assert 1 <= limiter.check("10.0.0.1", "session-cccc") <= 60


def test_an_unreachable_shared_rate_limit_store_is_named_not_a_bare_error(make_settings):
    down = open_rate_limit_storage(f"redis://127.0.0.1:{free_port()}")  # nothing listens there
    limiter = RateLimiter("2/minute", down)
    with pytest.raises(RateLimitStoreUnavailable) as raised:
        limiter.check("10.0.0.1", "session-aaaa")
    assert raised.value.public_reason.startswith("the rate-limit store is unavailable")
    scope = {"type": "http", "method": "GET", "path": "/api/documents", "client": ("203.0.113.9", 1),
             "headers": [(b"x-api-key", b"a-guess")]}
    with pytest.raises(RateLimitStoreUnavailable):  # a 503 from the app's error handlers, never an unlimited guess
        check_admin_key(make_settings(admin_api_key="the-right-admin-key"), Request(scope), limiter)


class SlowStorage(MemoryStorage):
    """Shared counts a network hop away (as with redis://): reading a window takes a moment."""

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        time.sleep(0.05)
        return super().get_moving_window(key, limit, expiry)


def test_parallel_admin_key_guesses_are_counted_before_they_are_judged(make_settings):
    settings = make_settings(admin_api_key="the-right-admin-key")
    failures = RateLimiter("4/minute", SlowStorage(), "attempts without the admin key")

    def guess(n: int) -> int:
        scope = {"type": "http", "method": "GET", "path": "/api/documents", "client": ("203.0.113.9", 1),
                 "headers": [(b"x-api-key", f"guess-{n}".encode())]}
        try:
            check_admin_key(settings, Request(scope), failures)
        except HTTPException as exc:
            return exc.status_code
        return 200

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(guess, range(16)))
    assert statuses.count(403) == 4 and statuses.count(429) == 12


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("es-ES,es;q=0.9,en;q=0.8", "es"),
        ("fr-FR,fr;q=0.9,zh-CN;q=0.8,en;q=0.5", "zh"),
        ("en;q=0.3,es;q=0.7", "es"),
        ("de-DE", "en"),
        (None, "en"),
        ("garbage;;q=x,zh", "zh"),
    ],
)
def test_auto_language_follows_the_browser(header, expected):
    assert language_from_accept(header) == expected
    assert ui_language("auto", header) == expected


def test_a_chosen_language_wins_over_the_browser():
    assert ui_language("zh", "es-ES") == "zh"


def test_the_question_language_prior_is_a_served_language_the_browser_wants_or_none():
    assert served_language_from_accept("de-DE,es;q=0.4") == "es"
    assert served_language_from_accept("es;q=0,en;q=0.5") == "en"  # q=0: not wanted
    assert served_language_from_accept("de-DE") is None and served_language_from_accept(None) is None
