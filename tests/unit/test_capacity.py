"""The store-quota decision the deployment applies before creating a store task (pure)."""

from __future__ import annotations

from coldvault.config import GB
from coldvault.pipeline.capacity import has_room

LIMIT = 100 * GB


def test_under_the_limit_there_is_room() -> None:
    assert has_room({}, LIMIT)
    assert has_room({"ami-a": 40 * GB, "ami-b": 59 * GB}, LIMIT)
    assert has_room({"ami-a": LIMIT - 1}, LIMIT)


def test_at_the_limit_there_is_none() -> None:
    assert not has_room({"ami-a": 40 * GB, "ami-b": 60 * GB}, LIMIT)


def test_over_the_limit_there_is_none() -> None:
    assert not has_room({"ami-a": 40 * GB, "ami-b": 70 * GB}, LIMIT)
    assert not has_room({"ami-huge": 5000 * GB}, LIMIT)


def test_the_new_amis_own_size_is_not_counted() -> None:
    # An AMI bigger than the limit starts when the work in progress leaves room (as EC2's rule):
    # the decision looks only at what is already running.
    assert has_room({"ami-small": 10 * GB}, LIMIT, "ami-huge")
    # Its own task listed as running (into another bucket) is not counted against it either.
    assert has_room({"ami-new": 500 * GB, "ami-small": 10 * GB}, LIMIT, "ami-new")
    assert not has_room({"ami-new": 500 * GB, "ami-other": 100 * GB}, LIMIT, "ami-new")
