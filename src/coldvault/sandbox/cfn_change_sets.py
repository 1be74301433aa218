"""CloudFormation change sets as AWS runs them (what ``coldvault deploy`` and ``sam deploy`` use).

moto 5.2.5 has ``CreateChangeSet``, ``DescribeChangeSet`` and ``ExecuteChangeSet``, with gaps a
deployment meets:

- Executing a ``CREATE`` change set applies its resources to the ``REVIEW_IN_PROGRESS`` stack but
  never builds the stack's outputs (``DescribeStacks`` shows none) and does not go through the
  stack's create, so a failed resource is an error answer instead of a rollback. AWS creates the
  stack as ``CreateStack`` would: ``CREATE_IN_PROGRESS`` … ``CREATE_COMPLETE`` with its outputs, or
  ``ROLLBACK_COMPLETE`` with the failed resource's event; an ``UPDATE`` change set updates the stack
  as ``UpdateStack`` would (rolled back on failure). The change set then reads ``ExecutionStatus``
  ``EXECUTE_COMPLETE`` (or ``EXECUTE_FAILED``).
- An ``UPDATE`` change set that changes only parameter values lists no changes (moto diffs the
  templates only). AWS lists each resource that uses a changed parameter as ``Modify``.
- ``CreateChangeSet`` of type ``UPDATE`` checks the request like ``UpdateStack`` and can answer
  "No updates are to be performed."; AWS accepts it and creates the change set with ``Status``
  ``FAILED`` and ``StatusReason`` "The submitted information didn't contain changes. Submit
  different information to create a change set." (``ExecutionStatus`` ``UNAVAILABLE``).
- Executing a change set that is not ``AVAILABLE`` (a failed one, or one executed already) succeeds;
  AWS answers ``InvalidChangeSetStatus``.

Everything stays synchronous, as the sandbox's stacks are: a stack is settled when the call returns.
"""

from __future__ import annotations

from typing import Any

from coldvault.sandbox.cfn_stacks import mentions

_MARK = "_coldvault_change_sets"
NO_CHANGES = (
    "The submitted information didn't contain changes. Submit different information to create a change set."
)


def _find(backend: Any, name: str, stack_name: str | None) -> Any:
    """The change set named by ARN, or by name (within ``stack_name`` when given)."""
    from moto.cloudformation.exceptions import ValidationError

    if name in backend.change_sets:
        return backend.change_sets[name]
    for change_set in backend.change_sets.values():
        if change_set.change_set_name == name and stack_name in (None, "", change_set.stack_name):
            return change_set
    raise ValidationError(name, message=f"ChangeSet [{name}] does not exist")


def _changed_parameters(template: dict[str, Any], given: dict[str, Any], current: dict[str, Any]) -> set[str]:
    changed = set()
    for name, slot in (template.get("Parameters") or {}).items():
        value = given.get(name, slot.get("Default"))
        if _text(value) != _text(current.get(name)):
            changed.add(name)
    return changed


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(_text(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def resources_using(template: dict[str, Any], parameters: set[str]) -> list[str]:
    """Resources of ``template`` that use one of ``parameters``, directly or through their condition."""
    conditions = template.get("Conditions") or {}
    using = []
    for name, resource in (template.get("Resources") or {}).items():
        used = mentions(resource)
        if resource.get("Condition"):
            used |= mentions(conditions.get(resource["Condition"]))
        if used & parameters:
            using.append(name)
    return using


def install() -> None:
    """Patch moto's change sets as the module docstring says (idempotent)."""
    from moto.cloudformation.exceptions import AlreadyExistsException, CloudFormationError, ValidationError
    from moto.cloudformation.models import Change, ChangeSet, CloudFormationBackend, Stack
    from moto.cloudformation.responses import CloudFormationResponse
    from moto.cloudformation.utils import generate_changeset_id, generate_stack_id, validate_create_change_set

    if getattr(CloudFormationBackend.execute_change_set, _MARK, False):
        return

    class InvalidChangeSetStatus(CloudFormationError):  # type: ignore[misc]
        def __init__(self, message: str) -> None:
            super().__init__("InvalidChangeSetStatus", message)

    def diff(self: Any) -> list[Any]:
        """Add / Modify / Remove from the templates, and Modify for each resource that uses a parameter
        whose value changes (compared as resolved strings, defaults included: moto compares the values
        given at creation with those given now, so a default given explicitly looks like a change)."""
        if self.change_set_type == "CREATE":
            actions = {"Add": list(self.template_dict.get("Resources") or {}), "Modify": [], "Remove": []}
        else:
            actions = self.stack.resource_map.build_resource_diff(self.template_dict)
            changed = _changed_parameters(self.template_dict, self.parameters, self.stack.stack_parameters)
            for name in resources_using(self.template_dict, changed):
                if name in self.stack.template_dict.get("Resources", {}) and name not in actions["Modify"]:
                    actions["Modify"].append(name)
        old = self.stack.template_dict.get("Resources") or {}
        new = self.template_dict.get("Resources") or {}
        changes = []
        for action in ("Add", "Modify", "Remove"):
            for name in actions[action]:
                resource = new.get(name) or old.get(name) or {}
                changes.append(
                    Change(action=action, logical_resource_id=name, resource_type=resource.get("Type"))
                )
        return changes

    def backend_create_change_set(
        self: Any,
        stack_name: str,
        change_set_name: str,
        template: str,
        parameters: dict[str, Any],
        description: str,
        change_set_type: str,
        notification_arns: list[str] | None = None,
        tags: dict[str, str] | None = None,
        role_arn: str | None = None,
    ) -> tuple[str, str]:
        """moto's, except: a new stack waits in review without parameters (they are the change set's),
        a stack still in review takes a new CREATE change set, and one that exists otherwise refuses
        it; an UPDATE change set without changes is FAILED."""
        validate_create_change_set(change_set_name)
        existing = [s for s in self.stacks.values() if s.name == stack_name and s.status != "DELETE_COMPLETE"]
        if change_set_type == "UPDATE":
            if not existing or existing[0].status == "REVIEW_IN_PROGRESS":
                raise ValidationError(stack_name, message=f"Stack [{stack_name}] does not exist")
            stack = existing[0]
        elif existing and existing[0].status != "REVIEW_IN_PROGRESS":
            raise AlreadyExistsException(
                f"Stack [{stack_name}] already exists and cannot be created again with the changeSet "
                f"[{change_set_name}]."
            )
        elif existing:
            stack = existing[0]
        else:
            stack = Stack(
                stack_id=generate_stack_id(stack_name, self.region_name, self.account_id),
                name=stack_name,
                template={},
                parameters={},
                account_id=self.account_id,
                region_name=self.region_name,
                notification_arns=notification_arns,
                tags=tags,
                role_arn=role_arn,
            )
            self.stacks[stack.stack_id] = stack
            stack.status = "REVIEW_IN_PROGRESS"
            stack._add_stack_event("REVIEW_IN_PROGRESS", resource_status_reason="User Initiated")
        change_set = ChangeSet(
            change_set_type=change_set_type,
            change_set_id=generate_changeset_id(change_set_name, self.region_name, self.account_id),
            change_set_name=change_set_name,
            stack=stack,
            template=template,
            parameters=parameters,
            description=description,
            notification_arns=notification_arns,
            tags=tags,
            role_arn=role_arn,
        )
        if change_set_type == "UPDATE" and not change_set.changes:
            change_set.status, change_set.execution_status = "FAILED", "UNAVAILABLE"
            change_set.status_reason = NO_CHANGES
        else:
            change_set.status, change_set.execution_status = "CREATE_COMPLETE", "AVAILABLE"
        self.change_sets[change_set.change_set_id] = change_set
        return str(change_set.change_set_id), str(stack.stack_id)

    def response_create_change_set(self: Any) -> Any:
        # CreateChangeSet of an unchanged stack is a FAILED change set, not UpdateStack's error: this
        # request checks only the stack's status (an instance attribute, whatever patches the class).
        def status_only(incoming: Any, body: Any, stack: Any) -> None:
            self._validate_status(stack)

        self._validate_different_update = status_only
        try:
            return original_response_create_change_set(self)
        finally:
            del self._validate_different_update

    def execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        change_set = _find(self, change_set_name, stack_name)
        if change_set.execution_status != "AVAILABLE":
            raise InvalidChangeSetStatus(
                f"ChangeSet [{change_set.change_set_id}] cannot be executed in its current status of "
                f"[{change_set.status}]"
            )
        stack = self.stacks[change_set.stack_id]
        change_set.execution_status = "EXECUTE_IN_PROGRESS"
        if change_set.change_set_type == "CREATE":
            # The REVIEW_IN_PROGRESS stack is created from the change set, as CreateStack creates one.
            stack.template = change_set.template
            stack._parse_template()
            stack.description = stack.template_dict.get("Description")
            stack.parameters = change_set.parameters
            stack.resource_map = stack._create_resource_map()
            stack.output_map = stack._create_output_map()
            stack._add_stack_event("CREATE_IN_PROGRESS", resource_status_reason="User Initiated")
            stack.create_resources()
            for export in stack.exports:
                self.exports[export.name] = export
            ok = stack.status == "CREATE_COMPLETE"
        else:
            incoming = [{"ParameterKey": k, "ParameterValue": v} for k, v in change_set.parameters.items()]
            resolved = self._resolve_update_parameters(instance=stack, incoming_params=incoming)
            stack.update(change_set.template, stack.role_arn, parameters=resolved, tags=None)
            ok = stack.status == "UPDATE_COMPLETE"
        change_set.execution_status = "EXECUTE_COMPLETE" if ok else "EXECUTE_FAILED"

    original_response_create_change_set = CloudFormationResponse.create_change_set
    setattr(execute_change_set, _MARK, True)
    ChangeSet.diff = diff
    CloudFormationBackend.create_change_set = backend_create_change_set
    CloudFormationBackend.execute_change_set = execute_change_set
    CloudFormationResponse.create_change_set = response_create_change_set
