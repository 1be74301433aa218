"""CloudFormation stacks that end as AWS ends them: parameters as strings, rollbacks, "no updates".

moto's CloudFormation differs from AWS's in three ways that a user of ``coldvault deploy`` meets:

- A ``Number`` parameter becomes a Python number, so ``0`` reaches resources as a falsy value (an
  ``AWS::SSM::Parameter`` whose ``Value`` is ``!Ref`` of it fails with "Value '' at 'value' failed to
  satisfy constraint"), and the parameter's constraints (``MinValue``, ``AllowedPattern``…) are never
  checked. AWS checks them when the request arrives (``ValidationError``) and then treats every value
  as a string: "when you use the parameter elsewhere in your template (for example, by using the Ref
  intrinsic function), the parameter value becomes a string" (CloudFormation User Guide, Parameters).
- A resource that fails to create or update fails the *request* (an error answer, or a 500) and leaves
  the stack ``CREATE_IN_PROGRESS`` for ever. AWS accepts the request, records the resource's
  ``CREATE_FAILED``/``UPDATE_FAILED`` event with the reason, rolls back and ends the stack
  ``ROLLBACK_COMPLETE`` (a failed create; it must be deleted before a new create) or
  ``UPDATE_ROLLBACK_COMPLETE`` (a failed update; the stack works as before and can be updated again).
- ``UpdateStack`` with the same template and parameters compares raw request values with the
  stack's resolved ones, so it never finds "no change" and runs an update that moto's resources
  cannot always do (a 500). AWS answers ``ValidationError`` "No updates are to be performed.".

:func:`install` patches moto's ``ResourceMap.load_parameters``, its resource create/update helpers
(to learn which resource failed), ``Stack.create_resources``, ``Stack.update`` and the response's
check for a different update. Everything stays synchronous: the stack is settled when the call
returns.
"""

from __future__ import annotations

import re
from typing import Any

_MARK = "_coldvault_stacks"
_FAILED_RESOURCE = "_coldvault_failed_resource"  # (logical id, type) set on the exception


def as_parameter_string(value: Any) -> Any:
    """A parameter value as CloudFormation hands it to resources: a string (lists: of strings)."""
    if isinstance(value, list):
        return [as_parameter_string(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def check_parameter(name: str, slot: dict[str, Any], value: Any) -> str | None:
    """Why ``value`` breaks the constraints of the parameter declared as ``slot``, in AWS's words;
    None when it satisfies them."""
    described = slot.get("ConstraintDescription")

    def refused(message: str) -> str:
        return f"Parameter '{name}' failed to satisfy constraint: {described}" if described else message

    kind = str(slot.get("Type", "String"))
    values = value if isinstance(value, list) else [value]
    for item in values:
        text = str(item)
        if kind in ("Number", "List<Number>"):
            try:
                number = float(text)
            except ValueError:
                return f"Parameter '{name}' must be a number"
            if "MinValue" in slot and number < float(slot["MinValue"]):
                return refused(f"Parameter '{name}' must be a number not less than {slot['MinValue']}")
            if "MaxValue" in slot and number > float(slot["MaxValue"]):
                return refused(f"Parameter '{name}' must be a number not greater than {slot['MaxValue']}")
        allowed = slot.get("AllowedValues")
        if allowed is not None and text not in [str(as_parameter_string(a)) for a in allowed]:
            return refused(f"Parameter '{name}' must be one of AllowedValues")
        pattern = slot.get("AllowedPattern")
        if pattern is not None and not re.fullmatch(str(pattern), text):
            return refused(f"Parameter '{name}' must match pattern {pattern}")
        if "MinLength" in slot and len(text) < int(slot["MinLength"]):
            return refused(f"Parameter '{name}' must contain at least {slot['MinLength']} characters")
        if "MaxLength" in slot and len(text) > int(slot["MaxLength"]):
            return refused(f"Parameter '{name}' must contain at most {slot['MaxLength']} characters")
    return None


def resolve_parameters(template: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """The parameter values a stack of ``template`` gets from ``given`` (strings) and the defaults,
    checked as CloudFormation checks them (``ValidationError`` before anything changes)."""
    from moto.cloudformation.exceptions import MissingParameterError, ValidationError

    declared = template.get("Parameters") or {}
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise ValidationError(message=f"Parameters: [{', '.join(unknown)}] do not exist in the template")
    resolved: dict[str, Any] = {}
    for name, slot in declared.items():
        kind = str(slot.get("Type", "String"))
        if name in given:
            value: Any = given[name]
            if (kind == "CommaDelimitedList" or kind.startswith("List")) and isinstance(value, str):
                value = value.split(",")
        elif "Default" in slot:
            value = as_parameter_string(slot["Default"])
            if kind == "CommaDelimitedList" or kind.startswith("List"):
                value = value.split(",") if isinstance(value, str) else value
        else:
            raise MissingParameterError(name)
        if not kind.startswith("AWS::SSM::Parameter::"):
            problem = check_parameter(name, slot, value)
            if problem:
                raise ValidationError(message=problem)
        resolved[name] = as_parameter_string(value)
    return resolved


_SUB_NAME = re.compile(r"\$\{([A-Za-z0-9_:.]+)\}")


def mentions(node: Any) -> set[str]:
    """The names a template fragment refers to: ``Ref`` targets and ``${Name}`` in ``Fn::Sub``."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                if isinstance(text, str):
                    found.update(_SUB_NAME.findall(text))
                found |= mentions(value[1:] if isinstance(value, list) else None)
            else:
                found |= mentions(value)
    elif isinstance(node, list):
        for item in node:
            found |= mentions(item)
    return found


def resources_touched_by(template: dict[str, Any], changed: set[str]) -> list[str]:
    """Resources of ``template`` that use a parameter in ``changed``, directly or through their
    ``Condition``."""
    conditions = template.get("Conditions") or {}
    touched = []
    for name, resource in (template.get("Resources") or {}).items():
        used = mentions(resource)
        condition = resource.get("Condition")
        if condition:
            used |= mentions(conditions.get(condition))
        if used & changed:
            touched.append(name)
    return touched


def _reason(exc: BaseException) -> str:
    code = getattr(exc, "code", None) or getattr(exc, "error_type", None)
    message = getattr(exc, "message", None) or getattr(exc, "description", None) or str(exc)
    return f"{code}: {message}" if isinstance(code, str) and code else str(message)


def _resource_event(stack: Any, exc: BaseException, status: str) -> str:
    """Record ``status`` for the resource whose creation or update raised ``exc``; its logical id."""
    from moto.cloudformation.models import Event

    logical_id, resource_type = getattr(exc, _FAILED_RESOURCE, (stack.name, "AWS::CloudFormation::Stack"))
    event = Event(
        stack_id=stack.stack_id,
        stack_name=stack.name,
        logical_resource_id=logical_id,
        physical_resource_id="",
        resource_type=resource_type,
        resource_status=status,
        resource_status_reason=_reason(exc),
        resource_properties=None,
    )
    stack.events.append(event)
    return str(logical_id)


def _settle(stack: Any, status: str, reason: str | None = None) -> None:
    stack.status = status
    stack.status_reason = reason
    stack._add_stack_event(status, resource_status_reason=reason)


def _roll_back_create(stack: Any, exc: BaseException) -> None:
    failed = _resource_event(stack, exc, "CREATE_FAILED")
    reason = f"The following resource(s) failed to create: [{failed}]. Rollback requested by user."
    _settle(stack, "ROLLBACK_IN_PROGRESS", reason)
    try:
        stack.resource_map.delete()
    except Exception as cleanup:  # noqa: BLE001 - the stack records the failure, as AWS does
        _settle(stack, "ROLLBACK_FAILED", f"Failed to delete resources: {_reason(cleanup)}")
        return
    _settle(stack, "ROLLBACK_COMPLETE", reason)


def _roll_back_update(stack: Any, exc: BaseException, before: dict[str, Any]) -> None:
    failed = _resource_event(stack, exc, "UPDATE_FAILED")
    reason = f"The following resource(s) failed to update: [{failed}]."
    _settle(stack, "UPDATE_ROLLBACK_IN_PROGRESS", reason)
    try:
        stack.resource_map.update(before["template_dict"], before["parameters"])
    except Exception as again:  # noqa: BLE001 - the stack records the failure, as AWS does
        _settle(stack, "UPDATE_ROLLBACK_FAILED", f"Failed to roll back: {_reason(again)}")
        return
    stack.template = before["template"]
    stack.template_dict = before["template_dict"]
    stack.parameters = before["parameters"]
    stack.output_map = stack._create_output_map()
    # AWS passes through UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS, which botocore's ResourceStatus
    # (the events' enum) does not list; the sandbox settles at once, so it records only the end.
    _settle(stack, "UPDATE_ROLLBACK_COMPLETE")


def install() -> None:
    """Patch moto's CloudFormation as the module docstring says (idempotent)."""
    from moto.cloudformation import parsing
    from moto.cloudformation.exceptions import ValidationError
    from moto.cloudformation.models import Stack
    from moto.cloudformation.responses import CloudFormationResponse

    if getattr(parsing.ResourceMap.load_parameters, _MARK, False):
        return

    def load_parameters(self: Any) -> None:
        resolved = resolve_parameters(self._template, dict(self.input_parameters))
        self.no_echo_parameter_keys = [
            name
            for name, slot in (self._template.get("Parameters") or {}).items()
            if slot.get("NoEcho") and name in self.input_parameters
        ]
        for name, value in resolved.items():
            kind = str(self._template["Parameters"][name].get("Type", ""))
            if kind.startswith("AWS::SSM::Parameter::"):
                value = self.parse_ssm_parameter(value, kind)
            self.resolved_parameters[name] = value
        self._parsed_resources.update(self.resolved_parameters)

    def tagged(helper: Any) -> Any:
        def call(logical_id: str, resource_json: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
            try:
                return helper(logical_id, resource_json, *args, **kwargs)
            except Exception as exc:
                if not hasattr(exc, _FAILED_RESOURCE):  # the innermost resource is the one that failed
                    setattr(exc, _FAILED_RESOURCE, (logical_id, str(resource_json.get("Type", ""))))
                raise

        return call

    create_resource = tagged(parsing.parse_and_create_resource)
    update_resource = tagged(parsing.parse_and_update_resource)

    def update_or_replace(
        logical_id: str, resource_json: dict[str, Any], resources_map: Any, *args: Any, **kwargs: Any
    ) -> Any:
        """An update that follows the resource's ``Condition``: moto updates a resource its condition
        left uncreated (``None``, which fails) and never creates or deletes one whose condition flips."""
        condition = resource_json.get("Condition")
        wanted = not condition or resources_map.lazy_condition_map[condition]
        existing = resources_map._parsed_resources.get(logical_id)
        if not wanted:
            if existing is not None:
                resources_map._delete_resource(existing, resource_json)
            return None
        if existing is None:
            return create_resource(logical_id, resource_json, resources_map, *args, **kwargs)
        return update_resource(logical_id, resource_json, resources_map, *args, **kwargs)

    build_resource_diff = parsing.ResourceMap.build_resource_diff

    def resource_diff(self: Any, other_template: dict[str, Any], parameters: Any = None) -> dict[str, Any]:
        """moto's diff, plus the resources whose parameters changed by *resolved* value (moto looks
        only at the parameters given, misses ``Fn::Sub`` and conditions)."""
        diff: dict[str, Any] = build_resource_diff(self, other_template, parameters)
        if parameters is None:
            return diff
        new_values = resolve_parameters(other_template, dict(parameters))
        changed = {k for k, v in new_values.items() if self.resolved_parameters.get(k) != v}
        for name in resources_touched_by(other_template, changed):
            if name in self._resource_json_map and name not in diff["Modify"]:
                diff["Modify"].append(name)
        return diff

    create_resources = Stack.create_resources
    update = Stack.update

    def stack_create_resources(self: Any) -> None:
        try:
            create_resources(self)
        except Exception as exc:  # noqa: BLE001 - a failed resource rolls the stack back, as AWS does
            _roll_back_create(self, exc)

    def stack_update(self: Any, template: str, *args: Any, **kwargs: Any) -> None:
        before = {
            "template": self.template,
            "template_dict": self.template_dict,
            "parameters": dict(self.resource_map.input_parameters),
        }
        try:
            update(self, template, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - a failed resource rolls the update back, as AWS does
            _roll_back_update(self, exc, before)
            return
        self.status_reason = None

    def validate_different_update(
        self: Any, incoming_params: list[dict[str, Any]] | None, stack_body: str, old_stack: Any
    ) -> None:
        self._validate_status(old_stack)
        if not stack_body:
            return
        new_template = Stack.parse_template(stack_body)
        given: dict[str, Any] = {}
        for parameter in incoming_params or []:
            key = parameter["ParameterKey"]
            if parameter.get("UsePreviousValue"):
                given[key] = old_stack.resource_map.input_parameters.get(
                    key, old_stack.stack_parameters.get(key)
                )
            elif "ParameterValue" in parameter:
                given[key] = parameter["ParameterValue"]
        new_parameters = resolve_parameters(new_template, given)  # ValidationError before any change
        tags = {t["Key"]: t["Value"] for t in self._get_param("Tags", [])}
        if (
            new_template == old_stack.template_dict
            and new_parameters == old_stack.stack_parameters
            and (not tags or tags == old_stack.tags)
        ):
            raise ValidationError(old_stack.name, message="No updates are to be performed.")

    setattr(load_parameters, _MARK, True)
    parsing.ResourceMap.load_parameters = load_parameters
    parsing.ResourceMap.build_resource_diff = resource_diff
    parsing.parse_and_create_resource = create_resource
    parsing.parse_and_update_resource = update_or_replace
    Stack.create_resources = stack_create_resources
    Stack.update = stack_update
    CloudFormationResponse._validate_different_update = validate_different_update
