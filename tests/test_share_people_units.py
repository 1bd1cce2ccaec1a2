"""Names completed from the hub (``sdcc_lab.share.people``), the parts that need no hub:
what ``q`` may be, which names answer it and in which order, what is sent to the
hub's ``name_filter``, and that the service's caches stay bounded whatever callers
send. The hub's side is tested against a real hub in ``test_share_people.py``."""

from __future__ import annotations

import time

import pytest
from tornado import web

from sdcc_lab.share.audience import BoundedCache
from sdcc_lab.share.people import (
    MAX_ANSWERS,
    MAX_QUERY,
    check_query,
    hub_filter,
    names_of,
    ranked,
)


@pytest.mark.parametrize("q", ["a", "Al", "x" * MAX_QUERY, "o'brien", "a b", "ß"])
def test_a_query_of_1_to_64_printable_characters_is_taken_as_typed(q: str) -> None:
    assert check_query(q) == q


@pytest.mark.parametrize("q", [None, "", "x" * (MAX_QUERY + 1), "a\nb", "a\x00", "\t"])
def test_any_other_query_is_400_saying_what_q_must_be(q: str | None) -> None:
    with pytest.raises(web.HTTPError) as e:
        check_query(q)
    assert e.value.status_code == 400
    assert e.value.log_message == "'q' must be 1 to 64 printable characters"


def test_names_containing_q_in_any_case_prefix_first_then_alphabetical() -> None:
    names = ["carol", "Alice", "alan", "bob", "malak", "ALBERT", "kal"]
    assert ranked(names, "al") == ["alan", "ALBERT", "Alice", "kal", "malak"]
    assert ranked(names, "zz") == []


def test_at_most_20_names_answer() -> None:
    names = [f"user{i:03}" for i in range(100)]
    assert ranked(names, "user") == names[:MAX_ANSWERS]


def test_like_wildcards_never_reach_the_hubs_filter() -> None:
    """The hub puts ``name_filter`` into SQL ``LIKE`` unescaped: ``%`` and ``_`` would
    match any name there; the longest plain part goes instead, and the exact test
    (``ranked``) is done here, so ``%`` matches only a name holding ``%``."""
    assert hub_filter("al") == "al"
    assert hub_filter("a_lice") == "lice"
    assert hub_filter("%") == ""
    assert hub_filter("50%_off\\x") == "off"
    assert ranked(["alice", "a_lice", "bob"], "a_l") == ["a_lice"]
    assert ranked(["alice", "bob"], "%") == []


def test_only_names_are_kept_of_the_hubs_models() -> None:
    models = [
        {"name": "alice", "admin": True, "groups": ["physics"], "servers": {"": {}}},
        {"name": 3},
        "bob",
        {"kind": "user"},
    ]
    assert names_of(models) == ["alice"]
    assert names_of({"items": []}) == []


def test_the_cache_answers_until_it_expires() -> None:
    cache = BoundedCache(seconds=0.2)
    cache.put("b", {"users": ["bob"]})
    assert cache.get("b") == (True, {"users": ["bob"]})
    assert cache.get("c") == (False, None)
    time.sleep(0.25)
    assert cache.get("b") == (False, None)


def test_the_cache_keeps_at_most_its_size_dropping_the_oldest() -> None:
    """Names that do not exist are cached too: 100 000 made-up queries keep 50."""
    cache = BoundedCache(seconds=60, size=50)
    for i in range(100_000):
        cache.put(f"q{i}", None)
    assert len(cache._items) == 50
    assert cache.get("q99999")[0] and not cache.get("q0")[0]
