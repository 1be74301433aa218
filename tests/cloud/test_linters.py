"""The deployment passes the linters CI runs: cfn-lint on the template as written and as packaged,
statelint on the ASL as deployed (substitutions filled), and the template's checkov suppressions all
carry a reason. (checkov itself runs from its own virtualenv in ``make lint``.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from coldvault.cloud import packaging

pytestmark = pytest.mark.cloud
BIN = Path(sys.executable).parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=False)


def test_cfn_lint_is_clean_on_the_source_and_the_packaged_template(tmp_path: Path) -> None:
    packaged = tmp_path / "template.packaged.yaml"
    packaged.write_text(packaging.packaged_template())
    source = Path(packaging.__file__).with_name("template.yaml")
    done = _run(str(BIN / "cfn-lint"), str(source), str(packaged))
    assert done.returncode == 0, done.stdout + done.stderr


def test_cfn_lint_catches_a_broken_template(tmp_path: Path) -> None:
    """The check can fail: a reference to a resource that does not exist is reported."""
    broken = tmp_path / "broken.yaml"
    broken.write_text(packaging.packaged_template().replace("!Ref StatusQueue", "!Ref NoSuchQueue", 1))
    done = _run(str(BIN / "cfn-lint"), str(broken))
    assert done.returncode != 0
    assert "NoSuchQueue" in done.stdout


@pytest.mark.parametrize("name", packaging.ASL_FILES)
def test_statelint_is_clean_on_each_asl_as_deployed(tmp_path: Path, name: str) -> None:
    rendered = tmp_path / name
    rendered.write_text(packaging.rendered_asl(name=name))
    assert "${" not in rendered.read_text()
    done = _run(str(BIN / "statelint"), str(rendered))
    assert done.returncode == 0, done.stdout + done.stderr


def test_statelint_catches_a_dangling_next(tmp_path: Path, asl: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(asl))
    broken["States"]["WriteReport"]["Next"] = "NoSuchState"
    path = tmp_path / "broken.asl.json"
    path.write_text(packaging.rendered_asl(json.dumps(broken)))
    done = _run(str(BIN / "statelint"), str(path))
    assert done.returncode != 0
    assert "NoSuchState" in done.stdout + done.stderr


def test_every_checkov_suppression_says_why(template: dict[str, Any]) -> None:
    skips = []
    for name, resource in template["Resources"].items():
        for skip in (resource.get("Metadata") or {}).get("checkov", {}).get("skip", []):
            skips.append((name, skip))
    assert skips, "the template documents its checkov suppressions"
    for name, skip in skips:
        assert str(skip.get("id", "")).startswith("CKV_"), name
        assert len(str(skip.get("comment", "")).split()) >= 6, f"{name} {skip.get('id')} needs a reason"
