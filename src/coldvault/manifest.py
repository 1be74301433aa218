"""The manifest: everything a restore or an auditor needs about one archive, in the hot catalogue.

:class:`Manifest` is the one reader and writer of ``catalog/ami/<ami-id>.json``
(:func:`coldvault.keys.manifest_key`): the verify step builds and writes it (pointers by recovery
point ARN and by archive key first, then the manifest itself, so a manifest's existence implies its
pointers exist), the delete step records the confirmed deletion (or why it is still pending), and the
listing, the catalogue and the restore read it back.

Schema ``coldvault.manifest/2`` (written)::

    schema, ami_id, run_id
    recovery_point  the recovery point as AWS Backup listed it, its tags (an EC2 point's are its AMI's:
                    ListTags may fail for its ARN) and tags_error
    image           the AMI as DescribeImages described it (null if it was not found):
                    id, name, description, architecture, root_device_type, virtualization_type,
                    tags, block_devices [{device_name, virtual_name, snapshot_id, volume_size_gib,
                    volume_type, encrypted, kms_key_id, iops, throughput, delete_on_termination}]
    archive         bucket, key, storage_class, size, etag, checksum_crc64nvme, checksum_type,
                    metadata, copy_seconds
    staging         key, size, etag of the staging object the archive was verified against
    verification    verified, at, size_matches, storage_class_matches, checksum_recorded, content_checked
    deletion        state (pending | confirmed), reason, at
    store           (optional) started_at, completed_at of the CreateStoreImageTask (completed_at:
                    when the staging object was first seen whole); absent in older manifests

Schema ``coldvault.manifest/1`` (written by earlier versions) is read too: it names the image part
``ami`` and keeps its block devices as DescribeImages ``BlockDeviceMappings``, and has a ``source``
part (account, Region, instance id) that is derived from the recovery point's ``resource_arn`` and
so is not kept. A v1 manifest is rewritten as v2 when its deletion is recorded.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any, ClassVar

from coldvault import keys
from coldvault.aws.ec2 import ImageInfo
from coldvault.aws.s3 import S3, ObjectInfo
from coldvault.errors import ColdvaultError
from coldvault.models import PointWork, RecoveryPoint, point_from_json, point_to_json

SCHEMA = "coldvault.manifest/2"
SCHEMA_V1 = "coldvault.manifest/1"
READABLE_SCHEMAS = (SCHEMA, SCHEMA_V1)


class ManifestError(ColdvaultError):
    """A catalogue object that is not a manifest this version of coldvault can read."""


class DeletionState(enum.StrEnum):
    PENDING = "pending"  # not attempted yet, or the recovery point is still in the vault (reason says why)
    CONFIRMED = "confirmed"  # DescribeRecoveryPoint: gone, or DELETING


# -- reading helpers: a wrong type is a ManifestError naming the field, never a KeyError/TypeError --


def _obj(doc: Any, name: str) -> Mapping[str, Any]:
    if not isinstance(doc, Mapping):
        raise ManifestError(f"manifest field {name!r} is not an object")
    return doc


def _req(doc: Mapping[str, Any], name: str, kind: type[Any], where: str) -> Any:
    value = _opt(doc, name, kind, where, None)
    if value is None or value == "":
        raise ManifestError(f"manifest field '{where}{name}' is missing")
    return value


def _opt(doc: Mapping[str, Any], name: str, kind: type[Any], where: str, default: Any) -> Any:
    value = doc.get(name, default)
    if value is None:
        return default
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is int and isinstance(value, bool):
        raise ManifestError(f"manifest field '{where}{name}' is not an integer")
    if not isinstance(value, kind):
        raise ManifestError(f"manifest field '{where}{name}' is not a {kind.__name__}: {value!r}")
    return value


def _strings(value: Any, where: str) -> dict[str, str]:
    return {str(k): str(v) for k, v in _obj(value or {}, where).items()}


def _time(value: Any, where: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise ManifestError(f"manifest field {where!r} is not an ISO 8601 time: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _required_time(value: Any, where: str) -> datetime:
    parsed = _time(value, where)
    if parsed is None:
        raise ManifestError(f"manifest field {where!r} is missing")
    return parsed


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


# -- the parts --


@dataclass(frozen=True)
class BlockDevice:
    """One block device mapping of the AMI (EC2's ``BlockDeviceMapping``, in snake case)."""

    device_name: str
    virtual_name: str = ""  # an instance store volume (ephemeralN): no snapshot
    snapshot_id: str = ""
    volume_size_gib: int = 0
    volume_type: str = ""
    encrypted: bool | None = None  # None: EC2 did not say
    kms_key_id: str = ""
    iops: int | None = None
    throughput: int | None = None
    delete_on_termination: bool | None = None

    @property
    def is_ebs(self) -> bool:
        return bool(self.snapshot_id or self.volume_size_gib)

    def summary(self) -> dict[str, Any]:
        """``{device, size_gib, volume_type, encrypted}``: what a restore compares and reports."""
        return {
            "device": self.device_name,
            "size_gib": self.volume_size_gib,
            "volume_type": self.volume_type,
            "encrypted": bool(self.encrypted),
        }

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> BlockDevice:
        """From a DescribeImages ``BlockDeviceMapping`` (how v1 manifests keep them)."""
        where = "ami.block_devices[]."
        ebs = _obj(raw.get("Ebs") or {}, where + "Ebs")
        return cls(
            device_name=_opt(raw, "DeviceName", str, where, ""),
            virtual_name=_opt(raw, "VirtualName", str, where, ""),
            snapshot_id=_opt(ebs, "SnapshotId", str, where + "Ebs.", ""),
            volume_size_gib=_opt(ebs, "VolumeSize", int, where + "Ebs.", 0),
            volume_type=_opt(ebs, "VolumeType", str, where + "Ebs.", ""),
            encrypted=_opt(ebs, "Encrypted", bool, where + "Ebs.", None),
            kms_key_id=_opt(ebs, "KmsKeyId", str, where + "Ebs.", ""),
            iops=_opt(ebs, "Iops", int, where + "Ebs.", None),
            throughput=_opt(ebs, "Throughput", int, where + "Ebs.", None),
            delete_on_termination=_opt(ebs, "DeleteOnTermination", bool, where + "Ebs.", None),
        )

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_json(cls, raw: Any) -> BlockDevice:
        doc, where = _obj(raw, "image.block_devices[]"), "image.block_devices[]."
        return cls(
            device_name=_req(doc, "device_name", str, where),
            virtual_name=_opt(doc, "virtual_name", str, where, ""),
            snapshot_id=_opt(doc, "snapshot_id", str, where, ""),
            volume_size_gib=_opt(doc, "volume_size_gib", int, where, 0),
            volume_type=_opt(doc, "volume_type", str, where, ""),
            encrypted=_opt(doc, "encrypted", bool, where, None),
            kms_key_id=_opt(doc, "kms_key_id", str, where, ""),
            iops=_opt(doc, "iops", int, where, None),
            throughput=_opt(doc, "throughput", int, where, None),
            delete_on_termination=_opt(doc, "delete_on_termination", bool, where, None),
        )


@dataclass(frozen=True)
class Image:
    """The AMI as ``DescribeImages`` described it when the archive was verified."""

    ami_id: str
    name: str = ""
    description: str = ""
    architecture: str = ""
    root_device_type: str = ""
    virtualization_type: str = ""
    block_devices: tuple[BlockDevice, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_info(cls, info: ImageInfo) -> Image:
        return cls(
            ami_id=info.ami_id,
            name=info.name,
            description=info.description,
            architecture=info.architecture,
            root_device_type=info.root_device_type,
            virtualization_type=info.virtualization_type,
            block_devices=tuple(BlockDevice.from_mapping(bd) for bd in info.block_devices),
            tags=dict(info.tags),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.ami_id,
            "name": self.name,
            "description": self.description,
            "architecture": self.architecture,
            "root_device_type": self.root_device_type,
            "virtualization_type": self.virtualization_type,
            "block_devices": [d.to_json() for d in self.block_devices],
            "tags": dict(self.tags),
        }

    @classmethod
    def from_json(cls, raw: Any, *, v1: bool = False) -> Image:
        part = "ami" if v1 else "image"
        doc, where = _obj(raw, part), part + "."
        devices = _opt(doc, "block_devices", list, where, [])
        return cls(
            ami_id=_req(doc, "id", str, where),
            name=_opt(doc, "name", str, where, ""),
            description=_opt(doc, "description", str, where, ""),
            architecture=_opt(doc, "architecture", str, where, ""),
            root_device_type=_opt(doc, "root_device_type", str, where, ""),
            virtualization_type=_opt(doc, "virtualization_type", str, where, ""),
            block_devices=tuple(
                BlockDevice.from_mapping(_obj(d, where + "block_devices[]"))
                if v1
                else BlockDevice.from_json(d)
                for d in devices
            ),
            tags=_strings(doc.get("tags"), where + "tags"),
        )


@dataclass(frozen=True)
class Archive:
    """The archive object as ``HeadObject`` saw it at verification."""

    bucket: str
    key: str
    storage_class: str
    size: int
    etag: str = ""
    checksum_crc64nvme: str = ""
    checksum_type: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    copy_seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {**{f.name: getattr(self, f.name) for f in fields(self)}, "metadata": dict(self.metadata)}

    @classmethod
    def from_json(cls, raw: Any) -> Archive:
        doc, w = _obj(raw, "archive"), "archive."
        return cls(
            bucket=_req(doc, "bucket", str, w),
            key=_req(doc, "key", str, w),
            storage_class=_req(doc, "storage_class", str, w),
            size=_req(doc, "size", int, w),
            etag=_opt(doc, "etag", str, w, ""),
            checksum_crc64nvme=_opt(doc, "checksum_crc64nvme", str, w, ""),
            checksum_type=_opt(doc, "checksum_type", str, w, ""),
            metadata=_strings(doc.get("metadata"), w + "metadata"),
            copy_seconds=_opt(doc, "copy_seconds", float, w, 0.0),
        )


@dataclass(frozen=True)
class Staging:
    """The staging object (``<ami-id>.bin``) the archive was verified against (deleted since)."""

    key: str
    size: int
    etag: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "size": self.size, "etag": self.etag}

    @classmethod
    def from_json(cls, raw: Any) -> Staging:
        doc, w = _obj(raw, "staging"), "staging."
        return cls(
            key=_req(doc, "key", str, w), size=_req(doc, "size", int, w), etag=_opt(doc, "etag", str, w, "")
        )


@dataclass(frozen=True)
class Verification:
    """What was checked before the manifest was written (see docs/verification.md)."""

    verified: bool
    at: datetime
    size_matches: bool
    storage_class_matches: bool
    checksum_recorded: bool
    content_checked: bool

    def to_json(self) -> dict[str, Any]:
        return {**{f.name: getattr(self, f.name) for f in fields(self)}, "at": self.at.isoformat()}

    @classmethod
    def from_json(cls, raw: Any) -> Verification:
        doc, w = _obj(raw, "verification"), "verification."
        return cls(
            verified=_req(doc, "verified", bool, w),
            at=_required_time(doc.get("at"), w + "at"),
            size_matches=_opt(doc, "size_matches", bool, w, False),
            storage_class_matches=_opt(doc, "storage_class_matches", bool, w, False),
            checksum_recorded=_opt(doc, "checksum_recorded", bool, w, False),
            content_checked=_opt(doc, "content_checked", bool, w, False),
        )


@dataclass(frozen=True)
class Deletion:
    """The recovery point's deletion: confirmed, or pending with why."""

    state: DeletionState = DeletionState.PENDING
    reason: str = "not attempted yet"
    at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {"state": self.state.value, "reason": self.reason, "at": _iso(self.at)}

    @classmethod
    def from_json(cls, raw: Any) -> Deletion:
        doc, w = _obj(raw, "deletion"), "deletion."
        state = _req(doc, "state", str, w)
        try:
            parsed = DeletionState(state)
        except ValueError:
            raise ManifestError(
                f"manifest field 'deletion.state' is not pending|confirmed: {state!r}"
            ) from None
        return cls(state=parsed, reason=_opt(doc, "reason", str, w, ""), at=_time(doc.get("at"), w + "at"))


@dataclass(frozen=True)
class StoreTask:
    """When EC2's store task ran (``CreateStoreImageTask`` start; the staging object first seen whole)."""

    started_at: datetime | None = None
    completed_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {"started_at": _iso(self.started_at), "completed_at": _iso(self.completed_at)}

    @classmethod
    def from_json(cls, raw: Any) -> StoreTask:
        doc = _obj(raw, "store")
        return cls(
            started_at=_time(doc.get("started_at"), "store.started_at"),
            completed_at=_time(doc.get("completed_at"), "store.completed_at"),
        )


def _point_from_json(raw: Any) -> tuple[RecoveryPoint, str]:
    doc = _obj(raw, "recovery_point")
    for name in ("arn", "vault_name", "resource_arn", "creation_date"):
        _req(doc, name, str, "recovery_point.")
    known = {f.name for f in fields(RecoveryPoint)}
    values = {k: v for k, v in doc.items() if k in known}
    values.setdefault("resource_type", "EC2")
    values.setdefault("status", "")
    values["tags"] = _strings(doc.get("tags"), "recovery_point.tags")
    try:
        point = point_from_json(values)
    except (TypeError, ValueError) as exc:
        raise ManifestError(f"manifest field 'recovery_point' is not a recovery point: {exc}") from None
    return point, _opt(doc, "tags_error", str, "recovery_point.", "")


@dataclass(frozen=True)
class Manifest:
    """One archive's manifest (schema :data:`SCHEMA`)."""

    schema: ClassVar[str] = SCHEMA

    ami_id: str
    recovery_point: RecoveryPoint  # its ``tags``: an EC2 point's are its AMI's (verification)
    archive: Archive
    staging: Staging
    verification: Verification
    image: Image | None = None  # None: DescribeImages did not find the AMI at verification
    deletion: Deletion = field(default_factory=Deletion)
    run_id: str = ""
    tags_error: str = ""  # why the recovery point's tags could not be read, if they could not
    store: StoreTask | None = None  # None: written before store times were recorded

    @property
    def key(self) -> str:
        """Where this manifest lives in the catalogue."""
        return keys.manifest_key(self.ami_id)

    @property
    def instance_id(self) -> str:
        return self.recovery_point.instance_id

    @property
    def created(self) -> datetime:
        """When the recovery point was created (what the archive key's date is)."""
        return self.recovery_point.creation_date

    @property
    def image_name(self) -> str:
        return self.image.name if self.image else ""

    @property
    def image_tags(self) -> dict[str, str]:
        """The AMI's tags; the recovery point's when the AMI had none or was not described."""
        return dict(self.image.tags if self.image and self.image.tags else self.recovery_point.tags)

    @property
    def ebs_devices(self) -> tuple[BlockDevice, ...]:
        return tuple(d for d in self.image.block_devices if d.is_ebs) if self.image else ()

    @property
    def encrypted(self) -> bool:
        """The recovery point is encrypted, or any of the AMI's snapshots is."""
        return self.recovery_point.is_encrypted or any(d.encrypted for d in self.ebs_devices)

    @property
    def verified(self) -> bool:
        return self.verification.verified

    @property
    def deletion_confirmed(self) -> bool:
        return self.deletion.state is DeletionState.CONFIRMED

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": self.schema,
            "ami_id": self.ami_id,
            "run_id": self.run_id,
            "recovery_point": {**point_to_json(self.recovery_point), "tags_error": self.tags_error},
            "image": self.image.to_json() if self.image else None,
            "archive": self.archive.to_json(),
            "staging": self.staging.to_json(),
            "verification": self.verification.to_json(),
            "deletion": self.deletion.to_json(),
            **({"store": self.store.to_json()} if self.store else {}),
        }

    @classmethod
    def from_json(cls, raw: Any) -> Manifest:
        """A manifest of schema v2 or v1; anything else is a :class:`ManifestError` naming the problem."""
        doc = _obj(raw, "(manifest)")
        schema = doc.get("schema")
        if schema not in READABLE_SCHEMAS:
            raise ManifestError(
                f"not a manifest this coldvault reads: schema {schema!r}",
                hint=f"this version reads {' and '.join(READABLE_SCHEMAS)}; upgrade coldvault",
            )
        v1 = schema == SCHEMA_V1
        point, tags_error = _point_from_json(doc.get("recovery_point"))
        raw_image = doc.get("ami" if v1 else "image")
        return cls(
            ami_id=_req(doc, "ami_id", str, ""),
            run_id=_opt(doc, "run_id", str, "", ""),
            recovery_point=point,
            tags_error=tags_error,
            image=None if raw_image is None else Image.from_json(raw_image, v1=v1),
            archive=Archive.from_json(doc.get("archive")),
            staging=Staging.from_json(doc.get("staging")),
            verification=Verification.from_json(doc.get("verification")),
            deletion=Deletion.from_json(doc.get("deletion")),
            store=None if doc.get("store") is None else StoreTask.from_json(doc["store"]),
        )


# -- the archive pipeline's writes and reads --


def build(
    work: PointWork,
    *,
    bucket: str,
    archive: ObjectInfo,
    staging: ObjectInfo,
    image: ImageInfo | None,
    point_tags: dict[str, str],
    tags_error: str,
    verified_at: datetime,
    content_checked: bool,
    copy_seconds: float,
) -> Manifest:
    point = work.point
    return Manifest(
        ami_id=point.ami_id,
        run_id=work.run_id,
        recovery_point=replace(point, tags=dict(point_tags)),
        tags_error=tags_error,
        image=None if image is None else Image.from_info(image),
        archive=Archive(
            bucket=bucket,
            key=work.archive_key,
            storage_class=archive.storage_class,
            size=archive.size,
            etag=archive.etag,
            checksum_crc64nvme=archive.checksum,
            checksum_type=archive.checksum_type,
            metadata=dict(archive.metadata),
            copy_seconds=round(copy_seconds, 3),
        ),
        staging=Staging(key=keys.staging_key(point.ami_id), size=staging.size, etag=staging.etag),
        verification=Verification(
            verified=True,
            at=verified_at,
            size_matches=archive.size == staging.size,
            storage_class_matches=True,
            checksum_recorded=bool(archive.checksum),
            content_checked=content_checked,
        ),
        store=StoreTask(
            started_at=_time(work.store_started_at or None, "store.started_at"),
            completed_at=_time(work.store_completed_at or None, "store.completed_at"),
        ),
    )


def _pointer(manifest: Manifest) -> dict[str, str]:
    return {"manifest_key": manifest.key, "ami_id": manifest.ami_id}


def write(s3: S3, bucket: str, manifest: Manifest) -> None:
    """The pointers (and the pending-deletion marker) first, then the manifest."""
    pointer = _pointer(manifest)
    s3.put_json(bucket, keys.recovery_point_pointer_key(manifest.recovery_point.arn), pointer)
    s3.put_json(bucket, keys.archive_pointer_key(manifest.archive.key), pointer)
    if not manifest.deletion_confirmed:
        marker = {**pointer, "vault": manifest.recovery_point.vault_name}
        s3.put_json(bucket, keys.pending_deletion_key(manifest.ami_id), marker)
    s3.put_json(bucket, manifest.key, manifest.to_json())


def read(s3: S3, bucket: str, manifest_key: str) -> Manifest | None:
    """The manifest at ``manifest_key``; None when there is none. Unreadable: :class:`ManifestError`."""
    doc = s3.get_json(bucket, manifest_key)
    if doc is None:
        return None
    try:
        return Manifest.from_json(doc)
    except ManifestError as exc:
        raise ManifestError(f"s3://{bucket}/{manifest_key}: {exc.message}", hint=exc.hint) from None


def read_pointer(s3: S3, bucket: str, pointer_key: str) -> str | None:
    """The manifest key a pointer object (by recovery point ARN, by archive key) names; None if absent."""
    doc = s3.get_json(bucket, pointer_key)
    if doc is None:
        return None
    target = doc.get("manifest_key")
    if not isinstance(target, str) or keys.ami_of_manifest_key(target) is None:
        raise ManifestError(f"s3://{bucket}/{pointer_key} is not a catalogue pointer (no manifest_key)")
    return target


def is_verified(manifest: Manifest | None, archive_key: str) -> bool:
    return manifest is not None and manifest.verified and manifest.archive.key == archive_key


def record_deletion(
    s3: S3, bucket: str, manifest: Manifest, *, confirmed: bool, reason: str, at: datetime
) -> Manifest:
    updated = replace(
        manifest,
        deletion=Deletion(
            state=DeletionState.CONFIRMED if confirmed else DeletionState.PENDING, reason=reason, at=at
        ),
    )
    s3.put_json(bucket, updated.key, updated.to_json())
    if confirmed:
        s3.delete(bucket, keys.pending_deletion_key(manifest.ami_id))
    return updated
