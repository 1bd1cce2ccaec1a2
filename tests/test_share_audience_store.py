"""The share store's audiences and accesses, and the ``audience`` argument's checks
(units: a real SQLite store in a temporary folder; the hub's part is in
``test_share_audience.py``)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from share_fakes import MovableClock
from sqlalchemy import func, select
from tornado import web

from sdcc_lab.share.audience import parse_audience
from sdcc_lab.share.store import AccessRecord, Audience, AudienceRecord, ShareStore

ANYONE = Audience()


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def store(tmp_path: Path, clock: MovableClock) -> ShareStore:
    return ShareStore(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path / "snaps", clock=clock)


def new(store: ShareStore, owner: str, path: str, audience: Audience = ANYONE) -> str:
    return store.create(owner, path, {}, timedelta(hours=1), audience=audience).id


def test_an_inbox_holds_what_is_addressed_and_what_was_opened(store: ShareStore) -> None:
    to_bob = new(store, "alice", "a.ipynb", Audience(users=("bob",)))
    to_physics = new(store, "alice", "b.ipynb", Audience(groups=("physics",)))
    for_anyone = new(store, "alice", "c.ipynb")
    bobs_own = new(store, "bob", "d.ipynb", Audience(users=("bob",)))
    assert [s.id for s in store.addressed_to("bob", frozenset())] == [to_bob]
    found = {s.id for s in store.addressed_to("bob", frozenset({"physics"}))}
    assert found == {to_bob, to_physics}  # never his own
    assert bobs_own not in found
    store.record_access(for_anyone, "carol", "open")
    assert [s.id for s in store.addressed_to("carol", frozenset())] == [for_anyone]
    assert store.audience(to_bob) == Audience(users=("bob",))
    assert not store.audience(for_anyone)


def test_opens_are_recorded_once_imports_each_time(store: ShareStore) -> None:
    share = new(store, "alice", "a.ipynb")
    for _ in range(3):
        store.record_access(share, "bob", "open", 1)
    store.record_access(share, "bob", "import", 1)
    store.record_access(share, "bob", "import", 2)
    store.record_access(share, "bob", "open", 2)
    assert [(a.action, a.version) for a in store.accesses([share])] == [
        ("open", 1),
        ("import", 1),
        ("import", 2),
    ]


def test_purge_drops_a_dead_shares_audience_and_accesses(
    store: ShareStore, clock: MovableClock
) -> None:
    share = new(store, "alice", "a.ipynb", Audience(users=("bob",)))
    store.record_access(share, "bob", "import", 1)
    store.revoke(share)
    clock.now += timedelta(days=31)
    assert store.purge_dead() == 1
    with store.session() as s:
        for table in (AudienceRecord, AccessRecord):
            assert s.scalar(select(func.count()).select_from(table)) == 0


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("[", "'audience' must be JSON"),
        ('["bob"]', "an object with 'users' and 'groups' lists"),
        ('{"users": "bob"}', "'audience.users' must be a list of names"),
        ('{"groups": [null]}', "'audience.groups' must be a list of names"),
        ('{"users": ["\\u0000"]}', "is not a user name"),
        ('{"users": ["a", "b"], "groups": ["c"]}', "at most 2 users and groups"),
    ],
)
def test_a_malformed_audience_argument_is_400(raw: str, words: str) -> None:
    with pytest.raises(web.HTTPError) as e:
        parse_audience(raw, max_names=2)
    assert e.value.status_code == 400 and words in str(e.value.log_message)


def test_an_audience_argument_keeps_each_name_once_in_order() -> None:
    assert parse_audience('{"users": ["bob", "carol", "bob"]}', 5) == Audience(("bob", "carol"))
    assert not parse_audience(None, 5) and not parse_audience("null", 5)
