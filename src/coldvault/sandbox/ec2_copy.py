"""``CopyImage`` within a Region, as AWS does it: moto's copy ignores ``Encrypted``, ``KmsKeyId``,
``ClientToken``, ``TagSpecifications`` and ``CopyImageTags`` and gives the copy one 15 GiB placeholder
device.

Here the copy is a :class:`CopiedAmi`: the source's block-device layout (device names, sizes,
volume types, delete-on-termination) with one **new** snapshot per EBS device. A device is encrypted
when ``Encrypted`` is set (with ``KmsKeyId``, resolved to its ARN, or the account's default EBS key)
or when its source snapshot is (an encrypted snapshot is never copied unencrypted); the copy is
``pending`` for its size / ``copy_image_bytes_per_second`` (+ ``image_available_after_seconds``)
of sandbox time. ``ClientToken`` makes the call idempotent (the same id for the same request;
``IdempotentParameterMismatch`` for a different one), ``TagSpecifications`` tag the image and the
snapshots, and the name must be unique in the Region. A ``KmsKeyId`` that names no key makes the
copy ``failed``, as AWS validates the key asynchronously.

It also answers ``GetEbsDefaultKmsKeyId``, which moto lacks (the ARN of the account's default EBS key).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from moto.ec2.models.amis import Ami
from moto.ec2.utils import random_ami_id

from coldvault.sandbox.ec2_models import LOCK, ImageTaskError, block_devices, check_faults_and_dry_run
from coldvault.sandbox.ec2_restore import NAME_PATTERN, parse_tag_specifications
from coldvault.sandbox.state import GIB, STATE

TOKENS_ATTR = "_coldvault_copy_tokens"


@dataclass
class CopyTokens:
    """``ClientToken`` → (the request's parameters, the copy's id), kept inside the EC2 backend."""

    by_token: dict[str, tuple[str, str]] = field(default_factory=dict)


def tokens_of(backend: Any) -> CopyTokens:
    found = backend.__dict__.get(TOKENS_ATTR)
    if not isinstance(found, CopyTokens):
        found = CopyTokens()
        setattr(backend, TOKENS_ATTR, found)
    return found


@dataclass(frozen=True)
class CopyRequest:
    source_image_id: str
    source_region: str
    name: str
    description: str | None = None
    encrypted: bool = False
    kms_key_id: str | None = None
    client_token: str | None = None
    tag_specifications: list[dict[str, Any]] = field(default_factory=list)
    copy_image_tags: bool = False
    dry_run: bool = False

    def fingerprint(self) -> str:
        values = {k: v for k, v in self.__dict__.items() if k not in ("client_token", "dry_run")}
        return json.dumps(values, sort_keys=True, default=str)


class CopiedAmi(Ami):  # type: ignore[misc]
    """An AMI made by ``CopyImage``: the source's devices, new snapshots, ``pending`` for a while."""

    def __init__(
        self,
        backend: Any,
        image_id: str,
        source: Any,
        request: CopyRequest,
        devices: list[dict[str, Any]],
        available_at: datetime,
        failure: str = "",
    ) -> None:
        self._available_at = available_at
        self._failure = failure
        self._state = "pending"
        super().__init__(
            backend,
            image_id,
            source_ami=source,
            name=request.name,
            description=request.description,
            root_device_type=source.root_device_type,
            root_device_name=source.root_device_name,
            hypervisor=source.hypervisor,
            boot_mode=source.boot_mode,
            region_name=f"{backend.region_name}a",
            creation_date=STATE.clock.now(),
        )
        backend.snapshots.pop(self.ebs_snapshot.id, None)  # moto's placeholder device
        self.snapshots: list[Any] = []
        self._mappings: list[dict[str, Any]] = []
        for device in devices:
            volume = backend.create_volume(
                size=int(device["size_gib"]), zone_name=f"{backend.region_name}a", encrypted=False
            )
            snapshot = backend.create_snapshot(
                volume.id,
                f"Copied for DestinationAmi {image_id} from SourceAmi {source.id} "
                f"for SourceSnapshot {device['snapshot_id']}",
                self.owner_id,
                from_ami=image_id,
            )
            backend.delete_volume(volume.id)
            snapshot.encrypted = bool(device["kms_key_id"])
            snapshot.kms_key_id = device["kms_key_id"] or None
            self.snapshots.append(snapshot)
            ebs: dict[str, Any] = {
                "SnapshotId": snapshot.id,
                "VolumeSize": int(device["size_gib"]),
                "DeleteOnTermination": bool(device["delete_on_termination"]),
                "VolumeType": device["volume_type"],
                "Encrypted": snapshot.encrypted,
            }
            if snapshot.encrypted:
                ebs["KmsKeyId"] = device["kms_key_id"]
            self._mappings.append({"DeviceName": device["device"], "Ebs": ebs})

    @property
    def state(self) -> str:
        if self._state == "pending" and STATE.clock.now() >= self._available_at:
            self._state = "failed" if self._failure else "available"
        return self._state

    @state.setter
    def state(self, value: str) -> None:
        self._state = value if value != "available" or STATE.clock.now() >= self._available_at else "pending"

    @property
    def state_reason(self) -> dict[str, str] | None:
        if self.state == "failed":
            return {"Code": "Client.InvalidKMSKey.InvalidState", "Message": self._failure}
        return None

    @property
    def block_device_mappings(self) -> list[dict[str, Any]]:
        return self._mappings


def _resolve_key(backend: Any, account_id: str, region: str, key_id: str) -> tuple[str, str]:
    """(key ARN, failure): the key's ARN through the sandbox's KMS; a key ARN that KMS does not
    hold (another account's, say) is taken as given; anything else fails the copy."""
    from moto.kms import kms_backends
    from moto.kms.exceptions import NotFoundException

    if key_id.endswith("alias/aws/ebs"):
        _default_key(backend)  # the AWS managed key exists once asked for, as in AWS
    try:
        return str(kms_backends[account_id][region].describe_key(key_id).arn), ""
    except (NotFoundException, KeyError, AttributeError):
        if key_id.startswith("arn:") and ":key/" in key_id:
            return key_id, ""
        return "", f"The KMS key {key_id} does not exist in {region}."


def _default_key(backend: Any) -> str:
    return str(backend.default_kms_key_id or backend._create_default_encryption_key())


def copy_image(backend: Any, account_id: str, region: str, request: CopyRequest) -> str:
    """The copy's image id (see the module's docstring for the rules)."""
    check_faults_and_dry_run("CopyImage", (request.source_image_id,), request.dry_run)
    if request.kms_key_id and not request.encrypted:
        raise ImageTaskError(
            "InvalidParameterDependency",
            "The parameter KmsKeyId requires the parameter Encrypted to be set to true.",
        )
    if request.source_region != region:
        raise ImageTaskError(
            "InvalidParameterValue",
            f"The sandbox copies images within a Region only; SourceRegion {request.source_region} "
            f"is not {region}.",
        )
    tags = parse_tag_specifications(request.tag_specifications)
    with LOCK:
        tokens = tokens_of(backend)
        if request.client_token:
            seen = tokens.by_token.get(request.client_token)
            if seen is not None:
                if seen[0] != request.fingerprint():
                    raise ImageTaskError(
                        "IdempotentParameterMismatch",
                        f"The client token {request.client_token} was used for another CopyImage request.",
                    )
                return seen[1]
        source = backend.describe_images(ami_ids=[request.source_image_id])[0]
        if not NAME_PATTERN.match(request.name):
            raise ImageTaskError(
                "InvalidAMIName.Malformed",
                f"AMI name {request.name!r} must be 3-128 characters of letters, digits and "
                "( ) [ ] . / - ' @ _ or spaces.",
            )
        if any(image.name == request.name for image in list(backend.amis.values())):
            raise ImageTaskError(
                "InvalidAMIName.Duplicate",
                f"AMI name {request.name} is already in use by an AMI in this Region; choose another name.",
            )
        failure = ""
        target_key = ""
        if request.encrypted:
            if request.kms_key_id:
                target_key, failure = _resolve_key(backend, account_id, region, request.kms_key_id)
            else:
                target_key = _default_key(backend)
        devices = []
        for device, mapping in zip(block_devices(backend, source), _ebs_mappings(source), strict=True):
            snapshot = backend.snapshots.get(mapping["Ebs"].get("SnapshotId") or "")
            source_key = (
                (getattr(snapshot, "kms_key_id", None) or _default_key(backend))
                if device["encrypted"]
                else ""
            )
            device["kms_key_id"] = target_key or source_key
            device["snapshot_id"] = getattr(snapshot, "id", "")
            devices.append(device)
        size = sum(int(d["size_gib"]) for d in devices) * GIB
        rate = STATE.settings.copy_image_bytes_per_second
        seconds = (size / rate if rate > 0 else 0.0) + STATE.settings.image_available_after_seconds
        image_id = str(random_ami_id())
        image = CopiedAmi(
            backend,
            image_id,
            source,
            request,
            devices,
            available_at=STATE.clock.now() + timedelta(seconds=seconds),
            failure=failure,
        )
        if request.copy_image_tags:
            source_tags = {str(t["key"]): str(t["value"]) for t in source.get_tags()}
            image.add_tags({k: v for k, v in source_tags.items() if not k.startswith("aws:")})
        image.add_tags(tags.get("image", {}))
        for snapshot in image.snapshots:
            snapshot.add_tags(tags.get("snapshot", {}))
        backend.amis[image_id] = image
        if request.client_token:
            tokens.by_token[request.client_token] = (request.fingerprint(), image_id)
        return image_id


def _ebs_mappings(image: Any) -> list[dict[str, Any]]:
    return [m for m in image.block_device_mappings or [] if m.get("Ebs")]


def copy_image_response(self: Any) -> Any:
    """``EC2Response.copy_image``: parse, copy, serialise (errors as EC2 sends them)."""
    from coldvault.sandbox.ec2_responses import _error, _result

    encrypted = self._get_bool_param("Encrypted", False)
    request = CopyRequest(
        source_image_id=str(self._get_param("SourceImageId", "")),
        source_region=str(self._get_param("SourceRegion", "")),
        name=str(self._get_param("Name", "")),
        description=self._get_param("Description"),
        encrypted=bool(encrypted),
        kms_key_id=self._get_param("KmsKeyId"),
        client_token=self._get_param("ClientToken"),
        tag_specifications=list(self._get_param("TagSpecifications", []) or []),
        copy_image_tags=bool(self._get_bool_param("CopyImageTags", False)),
        dry_run=bool(self._get_bool_param("DryRun", False)),
    )
    try:
        image_id = copy_image(self.ec2_backend, self.current_account, self.region, request)
    except ImageTaskError as e:
        return _error(self, e)
    return _result({"ImageId": image_id})


def get_ebs_default_kms_key_id_response(self: Any) -> Any:
    """``EC2Response.get_ebs_default_kms_key_id`` (moto lacks it): the key new encrypted volumes and
    copies use when none is named, the AWS managed ``alias/aws/ebs`` key unless it was changed."""
    from coldvault.sandbox.ec2_responses import _result

    return _result({"KmsKeyId": _default_key(self.ec2_backend)})


OPERATIONS = {
    "copy_image": copy_image_response,
    "get_ebs_default_kms_key_id": get_ebs_default_kms_key_id_response,
}


def install() -> None:
    """Replace moto's ``EC2Response.copy_image`` and add ``get_ebs_default_kms_key_id`` (idempotent)."""
    from moto.ec2.responses import EC2Response

    for name, function in OPERATIONS.items():
        if getattr(EC2Response, name, None) is not function:
            setattr(EC2Response, name, function)
