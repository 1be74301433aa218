"""Fixtures for the cloud tests: the template as CloudFormation reads it, the ASL as deployed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml

from coldvault.cloud import packaging


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    """The packaged template, parsed (intrinsic functions as their long forms)."""
    return dict(cfn_yaml.loads(packaging.packaged_template()))


@pytest.fixture(scope="session")
def asl_text() -> str:
    return packaging.read_cloud_file(packaging.ASL_FILE)


@pytest.fixture(scope="session")
def asl(asl_text: str) -> dict[str, Any]:
    return dict(json.loads(asl_text))


def walk_states(states: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every state, nested Map/Parallel states included."""
    found: list[tuple[str, dict[str, Any]]] = []
    for name, state in states.items():
        found.append((name, state))
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor:
            found.extend(walk_states(processor["States"]))
        for branch in state.get("Branches", []):
            found.extend(walk_states(branch["States"]))
    return found
