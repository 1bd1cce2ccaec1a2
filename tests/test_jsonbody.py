"""Small JSON request bodies: what each bad body gets (a 4xx with a message, never a 500)."""

from __future__ import annotations

import pytest
from tornado import web

from sdcc_lab.jsonbody import MAX_BODY_BYTES, json_object


def test_an_object_is_returned() -> None:
    assert json_object(b'{"link": "x"}') == {"link": "x"}


def test_an_empty_body_is_an_object_only_where_the_endpoint_says_so() -> None:
    assert json_object(b"", empty_is_object=True) == {}
    with pytest.raises(web.HTTPError) as e:
        json_object(b"")
    assert (e.value.status_code, e.value.log_message) == (400, "the request body is not JSON")


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"{not json", "the request body is not JSON"),
        (b"[1, 2]", "the request body must be a JSON object"),
        (b'"text"', "the request body must be a JSON object"),
        # Nested past Python's recursion limit: json.loads raises RecursionError.
        (b"[" * 20_000 + b"]" * 20_000, "the request body is not JSON"),
    ],
)
def test_bad_bodies_are_a_400_that_says_why(raw: bytes, message: str) -> None:
    with pytest.raises(web.HTTPError) as e:
        json_object(raw)
    assert (e.value.status_code, e.value.log_message) == (400, message)


def test_a_body_over_the_limit_is_a_413() -> None:
    with pytest.raises(web.HTTPError) as e:
        json_object(b'{"link": "' + b"x" * MAX_BODY_BYTES + b'"}')
    assert e.value.status_code == 413
