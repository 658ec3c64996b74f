"""Turn a package and the wizard's answers into the desired state the plan engine applies."""

from __future__ import annotations

from gsetup.errors import BadInputError
from gsetup.packages.attributes import CAPACITY_LIMITS, CAPACITY_RULE
from gsetup.packages.catalogue import get_package
from gsetup.packages.model import Answers, AttributeValue, BusinessAttribute, Package
from gsetup.state import DesiredObject, DesiredState, OptionValue, object_path


def desired_state(package_name: str, answers: Answers) -> DesiredState:
    """Everything installing ``package_name`` with ``answers`` puts in the tenant."""
    package = get_package(package_name)
    _check(answers)
    state = DesiredState(tenant=answers.tenant, owner=package.name)
    for obj in (
        *_attribute_objects(package, answers),
        *_capacity_objects(package, answers),
        *_business_process_objects(package, answers),
    ):
        state.add(obj)
    return state


def installed_values(package: Package, answers: Answers) -> tuple[AttributeValue, ...]:
    """The business attribute values the package installs with these answers."""
    extra = package.iwd_values if answers.iwd_custom_properties else ()
    unique = {(v.attribute.name, v.name): v for v in (*package.values, *extra)}
    return tuple(unique.values())


def _check(answers: Answers) -> None:
    for field, value in (
        ("tenant", answers.tenant),
        ("strategy_dir", answers.strategy_dir),
        ("capacity_rule", answers.capacity_rule),
    ):
        if value is not None and not value.strip():
            raise BadInputError(f"answer {field!r} is empty; give a name")


def attribute_object(attribute: BusinessAttribute) -> DesiredObject:
    """A business attribute with the fields the guide gives it."""
    return DesiredObject(
        "business_attribute",
        object_path("business_attribute", attribute.name),
        {
            "display_name": attribute.display_name,
            "description": attribute.description,
            "attr_type": attribute.attr_type,
        },
    )


def value_object(value: AttributeValue) -> DesiredObject:
    """An attribute value with its fields and annex."""
    return DesiredObject(
        "attribute_value",
        object_path("attribute_value", value.attribute.name, value.name),
        {
            "display_name": value.display_name,
            "description": value.description,
            "is_default": value.is_default,
        },
        {key: OptionValue(text) for key, text in value.annex.items()},
    )


def _attribute_objects(package: Package, answers: Answers) -> list[DesiredObject]:
    values = installed_values(package, answers)
    attributes = {v.attribute.name: v.attribute for v in values}
    return [*map(attribute_object, attributes.values()), *map(value_object, values)]


def _capacity_objects(package: Package, answers: Answers) -> list[DesiredObject]:
    # An add-on (facebook-bp-iwd, twitter-bp-iwd) delivers through the package it requires,
    # whose install already chose the rule; it changes nothing about capacity.
    if not package.capacity:
        return []
    objects: list[DesiredObject] = []
    rule = answers.capacity_rule
    if rule is None:
        rule = CAPACITY_RULE
        objects.append(
            DesiredObject(
                "capacity_rule",
                object_path("capacity_rule", rule),
                {
                    "description": "How many social media interactions of each media type an "
                    "agent may hold at once.",
                    # Every social media type, whichever package creates it: the rule is shared by
                    # the Facebook, Twitter and RSS packages, and must not flip between installs.
                    "limits": dict(CAPACITY_LIMITS),
                },
            )
        )
    # The wizard's "Select a resource capacity rule": the tenant's default capacity rule is
    # the one place a rule applies to every agent, so social interactions reach agents that
    # have no rule of their own (docs/packages.md).
    objects.append(
        DesiredObject("tenant", "", {"default_capacity_rule": object_path("capacity_rule", rule)})
    )
    return objects


def _business_process_objects(package: Package, answers: Answers) -> list[DesiredObject]:
    bp = object_path("business_process", package.title)
    objects = [
        DesiredObject(
            "business_process",
            bp,
            {
                "package": package.name,
                "version": package.version,
                "strategy_dir": answers.strategy_dir,
            },
        )
    ]
    objects.extend(
        DesiredObject(
            "queue",
            object_path("queue", q.name),
            {"business_process": bp, "description": q.description},
        )
        for q in package.queues
    )
    objects.extend(
        DesiredObject(
            "strategy",
            object_path("strategy", s.name),
            {
                "business_process": bp,
                "queue": object_path("queue", s.queue) if s.queue else None,
                "file": s.file_name,
                "active": not s.subroutine,
                "subroutine": s.subroutine,
            },
        )
        for s in package.strategies
    )
    # No attributes: an existing queue (the iWD installation's) is left exactly as it is, and
    # the package manages only one it created (or shares with the other iWD package).
    objects.extend(
        DesiredObject("queue", object_path("queue", q), {}) for q in package.foreign_queues
    )
    return objects
