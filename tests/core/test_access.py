"""The one authorization decision (core/access.py) every door asks: the collector's receivers,
/v1/status, the dashboard and export word its answer; here is the decision itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from autoscope.core.access import Denial, Denied, Granted, authorize, is_loopback, serves_unauthenticated
from autoscope.core.tokens import TokenStore


@pytest.fixture
def store(tmp_path: Path) -> TokenStore:
    return TokenStore(tmp_path / "tokens.json")


def test_a_store_without_tokens_is_an_open_door(store: TokenStore) -> None:
    assert authorize(store, None, "ingest") == Granted(None)
    # the collector ignores a token presented to an open door; the CLI's readers check it
    assert authorize(store, "as_typo", "read") == Granted(None)
    assert authorize(store, "as_typo", "read", check_presented=True) == Denied(Denial.UNKNOWN, "read")


def test_once_a_token_exists_every_caller_needs_one_even_after_it_is_revoked(store: TokenStore) -> None:
    token, record = store.create("notebook", ["ingest"])
    assert authorize(store, None, "ingest") == Denied(Denial.MISSING, "ingest")
    assert authorize(store, f"  {token} ", "ingest") == Granted(record)
    store.revoke(record.token_id)
    assert authorize(store, None, "ingest").status == 401
    assert authorize(store, token, "ingest") == Denied(Denial.UNKNOWN, "ingest")


def test_a_token_without_the_scope_is_403_and_names_its_holder(store: TokenStore) -> None:
    token, record = store.create("reader", ["read"])
    denied = authorize(store, token, "export")
    assert isinstance(denied, Denied) and denied.status == 403 and denied.record == record


def test_required_overrides_the_store(store: TokenStore) -> None:
    assert authorize(store, None, "ingest", required=True) == Denied(Denial.MISSING, "ingest")
    store.create("t", ["ingest"])
    assert authorize(None, "anything", "ingest", required=False) == Granted(None)


def test_listening_beyond_loopback_needs_an_active_token_or_explicit_consent(store: TokenStore) -> None:
    assert is_loopback("localhost") and is_loopback("127.0.0.2") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.org")
    assert not serves_unauthenticated(store, "127.0.0.1", False)
    assert serves_unauthenticated(store, "0.0.0.0", False)
    assert not serves_unauthenticated(store, "0.0.0.0", True)
    _, record = store.create("t", ["read"])
    assert not serves_unauthenticated(store, "0.0.0.0", False)
    store.revoke(record.token_id)
    assert serves_unauthenticated(store, "0.0.0.0", False)  # revoked tokens protect nothing
