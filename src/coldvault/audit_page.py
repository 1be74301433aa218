"""The audit as one self-contained HTML page (:mod:`coldvault.html_page`): summary, charts, findings,
and every archive's chain of custody."""

from __future__ import annotations

from collections import Counter

from coldvault import html_page as hp
from coldvault.audit import AuditResult
from coldvault.progress import size

_UNITS = (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024), ("bytes", 1))


def _months(counts: Counter[str]) -> list[tuple[str, float]]:
    """Every month from the first to the last archive's, the empty ones too."""
    if not counts:
        return []
    first, last = min(counts), max(counts)
    year, month = int(first[:4]), int(first[5:])
    bars = []
    while f"{year:04d}-{month:02d}" <= last:
        label = f"{year:04d}-{month:02d}"
        bars.append((label, float(counts.get(label, 0))))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return bars


def render(result: AuditResult) -> str:
    s = result.summary()
    latest = result.latest_restore_test
    verdict = "no inconsistency found" if result.ok else f"{len(result.findings)} inconsistencies"
    cards = hp.summary(
        [
            (str(s["archives"]), "archives"),
            (size(s["bytes"]), "archived"),
            (str(s["deletion_confirmed"]), "recovery points deleted (confirmed)"),
            (f"{s['locked']} / {s['locked'] + s['unlocked']}", "archives under Object Lock"),
            (f"{latest.at:%Y-%m-%d}" if latest else "never", "last successful restore test"),
            (str(s["findings"]), "findings"),
        ]
    )
    months = _months(Counter(f"{a.manifest.created:%Y-%m}" for a in result.archives))
    classes: Counter[str] = Counter()
    for a in result.archives:
        classes[a.manifest.archive.storage_class] += a.manifest.archive.size
    top = max(classes.values(), default=0)
    unit, scale = next(((u, f) for u, f in _UNITS if top >= f), _UNITS[-1])
    missing = sum(1 for a in result.archives if a.head is None)
    coverage = [
        ("locked", float(s["locked"])),
        ("not locked", float(s["unlocked"])),
        ("missing", float(missing)),
    ]
    findings = (
        hp.table(
            ["finding", "subject", "detail"], [(f.kind.value, f.subject, f.detail) for f in result.findings]
        )
        if result.findings
        else hp.paragraph("None: every archive matches its manifest, S3 and AWS Backup.")
    )
    rows = []
    for a in result.archives:
        j = a.to_json()
        tests = [t for t in a.restore_tests if t.succeeded]
        rows.append(
            (
                a.manifest.ami_id,
                a.manifest.instance_id,
                f"{a.manifest.created:%Y-%m-%d}",
                a.manifest.archive.storage_class,
                size(a.manifest.archive.size),
                j["verified_by"],
                f"{a.manifest.deletion.at:%Y-%m-%d}"
                if a.manifest.deletion_confirmed and a.manifest.deletion.at
                else a.manifest.deletion.reason,
                f"{j['lock_mode']} until {j['lock_retain_until'][:10]}" if j["lock_mode"] else "none",
                f"{tests[-1].at:%Y-%m-%d}" if tests else "",
                ", ".join(f.kind.value for f in a.findings) or "ok",
            )
        )
    sections = [
        cards,
        hp.section("Findings", findings),
        hp.section(
            "Archives per month",
            hp.bar_chart(months, y_label="archives", title="archives per month"),
        ),
        hp.section(
            "Bytes per class",
            hp.bar_chart(
                [(c, n / scale) for c, n in sorted(classes.items())], y_label=unit, title="bytes per class"
            ),
        ),
        hp.section("Lock coverage", hp.bar_chart(coverage, y_label="archives", title="lock coverage")),
        hp.section(
            "Chain of custody",
            hp.table(
                [
                    "AMI",
                    "instance",
                    "created",
                    "class",
                    "size",
                    "verified",
                    "point deleted",
                    "lock",
                    "restore test",
                    "status",
                ],
                rows,
                numeric=(4,),
            ),
        ),
        hp.paragraph("API calls: " + ", ".join(f"{name} {n}" for name, n in sorted(result.calls.items()))),
    ]
    subtitle = (
        f"s3://{result.bucket} ({result.region}), checked {result.checked_at:%Y-%m-%d %H:%M} UTC: {verdict}"
    )
    return hp.page("coldvault audit", subtitle, sections)
