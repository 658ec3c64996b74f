"""Compare a desired state with the database and produce the plan.

Ownership rules: an object or option the plan creates is managed by the state's owner (a
package). An existing one that some package already manages gains the owner as a co-manager;
one that nobody manages belongs to a user and never becomes the package's. With an owner, what
it managed and no longer desires is deleted, unless another package still manages it.
"""

from __future__ import annotations

from collections.abc import Collection
from collections.abc import Set as AbstractSet
from typing import TYPE_CHECKING, Any

from gsetup.configdb.kinds import KINDS, PARENT_KIND, Kind
from gsetup.configdb.tenants import check_name
from gsetup.errors import BadInputError, ConflictError
from gsetup.fileio import kind_name, quote_prefix
from gsetup.plan.current import Current, CurrentObject, CurrentOption
from gsetup.plan.model import MASK, Change, Ownership, Plan
from gsetup.state import KIND_FOLDERS, DesiredObject, DesiredState, OptionKey, OptionValue
from gsetup.wording import a_or_an

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

KIND_ORDER = {name: i for i, name in enumerate(KINDS)}


def compute_plan(conn: Connection, state: DesiredState) -> tuple[Plan, Current]:
    """The plan for ``state`` and the current state it was computed from."""
    from gsetup.configdb.tenants import tenant_id
    from gsetup.plan.current import load_current

    scope = _scope(state)
    wanted = _wanted_options(state) if scope is not None else None
    current = load_current(conn, tenant_id(conn, state.tenant), scope, wanted)
    return _Planner(state, current).plan(), current


def _wanted_options(state: DesiredState) -> dict[str, Collection[OptionKey]]:
    """The options a plan without an owner can touch: the desired ones and explicit removals.

    An object's desired options are passed as their keys view: copying 20,000 keys into a set
    would cost more than the lookups it serves.
    """
    wanted: dict[str, Collection[OptionKey]] = {}
    for obj in state.objects:
        if obj.path in wanted:  # the same object twice: rare, so copied
            wanted[obj.path] = {*wanted[obj.path], *obj.options}
        else:
            wanted[obj.path] = obj.options.keys()
    for removal in state.removals:
        if removal.option is not None:
            wanted[removal.path] = {*wanted.get(removal.path, ()), removal.option}
    return wanted


def _scope(state: DesiredState) -> set[str] | None:
    """The paths a plan can touch; None (everything) when an owner may delete its objects."""
    if state.owner is not None:
        return None
    scope = {"", *(o.path for o in state.objects), *(r.path for r in state.removals)}
    for obj in state.objects:
        scope.add(obj.path.rsplit("/", 1)[0])
        refs = KINDS[obj.kind].refs if obj.kind in KINDS else {}  # unknown kinds: refused later
        scope.update(v for a, v in obj.attrs.items() if a in refs and isinstance(v, str))
    return scope


class _Planner:
    def __init__(self, state: DesiredState, current: Current) -> None:
        self.state = state
        self.current = current
        self.owner = state.owner
        self.result = Plan(state.tenant, state.owner)
        self.desired = {o.path: o for o in state.objects}

    def plan(self) -> Plan:
        ordered = sorted(self.state.objects, key=lambda o: (KIND_ORDER.get(o.kind, 99), o.path))
        for obj in ordered:
            self._check(obj)
        deletions = self._deletions()
        deleted = {c.path for c in deletions if c.target == "object" and c.action == "delete"}
        for obj in ordered:
            self._check_refs(obj, deleted)
            self._plan_object(obj)
        self.result.changes.extend(deletions)
        return self.result

    # -- validation -------------------------------------------------------------------------

    def _check(self, obj: DesiredObject) -> None:
        kind = _kind(obj.kind)
        _check_path(obj.kind, obj.path)
        unknown = set(obj.attrs) - set(kind.attrs)
        if unknown:
            raise BadInputError(
                f"{obj.path}: unknown field(s) {', '.join(sorted(unknown))} for a "
                f"{kind.title}; fields: {', '.join(kind.attrs)}"
            )
        for attr, value in obj.attrs.items():
            if attr in kind.fields:
                _check_type(obj.path, attr, value, kind.fields[attr])
        _check_option_names(obj)
        existing = self.current.objects.get(obj.path)
        if existing is not None and existing.kind != obj.kind:
            raise ConflictError(
                f"{obj.path} exists as {a_or_an(KINDS[existing.kind].title)}, "
                f"not {a_or_an(kind.title)}"
            )
        parent_kind = PARENT_KIND.get(obj.kind)
        if parent_kind and existing is None:
            parent = obj.path.rsplit("/", 1)[0]
            if parent not in self.desired and parent not in self.current.objects:
                raise BadInputError(
                    f"{obj.path}: its {KINDS[parent_kind].title} {parent} is missing"
                )

    def _check_refs(self, obj: DesiredObject, deleted: set[str]) -> None:
        kind = KINDS[obj.kind]
        for attr, (_col, target_kind) in kind.refs.items():
            ref = obj.attrs.get(attr)
            if ref is None:
                continue
            if not isinstance(ref, str):
                raise BadInputError(
                    f"{obj.path}: {attr} must be the path of {a_or_an(target_kind)}"
                )
            target = self.desired.get(ref) or self.current.objects.get(ref)
            if target is None or target.kind != target_kind or ref in deleted:
                raise BadInputError(
                    f"{obj.path}: {attr} refers to {quote_prefix(ref)}, which is not an existing "
                    f"{KINDS[target_kind].title}"
                )

    # -- objects and options ----------------------------------------------------------------

    def _plan_object(self, obj: DesiredObject) -> None:
        kind = KINDS[obj.kind]
        existing = self.current.objects.get(obj.path)
        if existing is None:
            after = {**kind.fields, **{a: None for a in kind.refs}, **obj.attrs}
            self._add(
                Change(
                    "create",
                    "object",
                    obj.kind,
                    obj.path,
                    after=after,
                    ownership="adopt" if self.owner else "",
                )
            )
        else:
            changed = {a: v for a, v in obj.attrs.items() if existing.attrs.get(a) != v}
            adopt = self._adopts(existing.managers)
            if changed:
                before = {a: existing.attrs.get(a) for a in changed}
                self._add(
                    Change(
                        "update",
                        "object",
                        obj.kind,
                        obj.path,
                        before=before,
                        after=changed,
                        ownership=adopt,
                    )
                )
            else:
                self._add(Change("keep", "object", obj.kind, obj.path, ownership=adopt))
        self._plan_options(obj, existing.options if existing else {})

    def _plan_options(self, obj: DesiredObject, stored: dict[OptionKey, CurrentOption]) -> None:
        """Plan each desired option. The common cases, a value already stored (counted) or one
        kept (listed), when the owner need not adopt the option, are decided here inline: an
        import plans tens of thousands."""
        unchanged = 0
        changes = self.result.changes
        for key, want in obj.options.items():
            have = stored.get(key)
            if have is None or (self.owner and have.managed_by):
                self._plan_option(obj, key, want, have)
            elif have.value == want.value and (have.secret or not want.secret):
                unchanged += 1  # a secret stays secret
            elif not want.overwrite and have.value != want.value:
                changes.append(self._kept(obj, key, want, have, ""))
            else:
                self._plan_option(obj, key, want, have)
        self.result.unchanged_options += unchanged

    def _plan_option(
        self, obj: DesiredObject, key: OptionKey, want: OptionValue, have: CurrentOption | None
    ) -> None:
        secret = want.secret or (have is not None and have.secret)
        if have is None:
            self._add(
                Change(
                    "create",
                    "option",
                    obj.kind,
                    obj.path,
                    key,
                    after=want.value,
                    secret=secret,
                    ownership="adopt" if self.owner else "",
                )
            )
            return
        adopt = self._adopts(have.managers) if self.owner else ""
        if have.value == want.value and secret == have.secret:  # a secret stays secret
            if adopt:
                self._add(Change("keep", "option", obj.kind, obj.path, key, ownership=adopt))
            else:
                self.result.unchanged_options += 1
        elif want.overwrite or have.value == want.value:
            self._add(
                Change(
                    "update",
                    "option",
                    obj.kind,
                    obj.path,
                    key,
                    before=have.value,
                    after=want.value,
                    secret=secret,
                    ownership=adopt,
                )
            )
        else:
            self._add(self._kept(obj, key, want, have, adopt))

    @staticmethod
    def _kept(
        obj: DesiredObject, key: OptionKey, want: OptionValue, have: CurrentOption, adopt: Ownership
    ) -> Change:
        """An existing value kept, the desired one beside it (positional: a re-import can keep
        tens of thousands of values)."""
        secret = want.secret or have.secret
        shown = MASK if secret else repr(want.value)
        note = f"existing value kept; not overwritten with {shown}"
        return Change(
            "keep", "option", obj.kind, obj.path, key, have.value, None, note, secret, adopt
        )

    def _adopts(self, managers: AbstractSet[str]) -> Ownership:
        """Whether the owner becomes a co-manager (only of what another package manages)."""
        joins = self.owner is not None and bool(managers) and self.owner not in managers
        return "adopt" if joins else ""

    def _add(self, change: Change) -> None:
        self.result.changes.append(change)

    # -- deletions --------------------------------------------------------------------------

    def _deletions(self) -> list[Change]:
        changes: list[Change] = []
        doomed: dict[str, CurrentObject] = {}
        if self.owner is not None:
            for obj in self.current.objects.values():
                if self.owner in obj.managers and obj.path not in self.desired:
                    if obj.managers == {self.owner}:
                        doomed[obj.path] = obj
                    else:
                        changes.append(
                            Change(
                                "keep",
                                "object",
                                obj.kind,
                                obj.path,
                                note="still used by " + _others(obj, self.owner),
                                ownership="release",
                            )
                        )
        for removal in self.state.removals:
            target = self.current.objects.get(removal.path)
            if target is None or target.kind != removal.kind:
                continue
            if removal.option is None:
                doomed[target.path] = target
            elif removal.option in target.options:
                changes.append(self._delete_option(target, removal.option))
        changes.extend(self._delete_objects(doomed))
        changes.extend(self._undesired_options(doomed))
        return changes

    def _delete_objects(self, doomed: dict[str, CurrentObject]) -> list[Change]:
        """Delete objects children first; one that still holds a user's object is kept."""
        changes: list[Change] = []
        order = sorted(doomed.values(), key=lambda o: (-KIND_ORDER[o.kind], -o.path.count("/")))
        for obj in order:
            kept_children = [c for c in self.current.children(obj.id) if c.path not in doomed]
            if obj.kind == "tenant":
                raise ConflictError("a tenant's own object cannot be deleted")
            if kept_children:
                del doomed[obj.path]
                changes.append(
                    Change(
                        "keep",
                        "object",
                        obj.kind,
                        obj.path,
                        ownership="release",
                        note=f"kept: holds {kept_children[0].path}, which gsetup did not create",
                    )
                )
                continue
            changes.append(Change("delete", "object", obj.kind, obj.path, before=_shown_attrs(obj)))
        return changes

    def _undesired_options(self, doomed: dict[str, CurrentObject]) -> list[Change]:
        """Options the owner set earlier on surviving objects and no longer wants."""
        if self.owner is None:
            return []
        changes = []
        for obj in self.current.objects.values():
            if obj.path in doomed:
                continue
            wanted = self.desired[obj.path].options if obj.path in self.desired else {}
            for key, option in obj.options.items():
                if self.owner in option.managers and key not in wanted:
                    if option.managers == {self.owner}:
                        changes.append(self._delete_option(obj, key))
                    else:
                        changes.append(
                            Change(
                                "keep",
                                "option",
                                obj.kind,
                                obj.path,
                                key,
                                ownership="release",
                                note="still used by another package",
                            )
                        )
        return changes

    @staticmethod
    def _delete_option(obj: CurrentObject, key: OptionKey) -> Change:
        option = obj.options[key]
        return Change(
            "delete", "option", obj.kind, obj.path, key, before=option.value, secret=option.secret
        )


def _others(obj: CurrentObject, owner: str) -> str:
    return ", ".join(sorted(obj.managers - {owner}))


def _check_option_names(obj: DesiredObject) -> None:
    """Sections and keys must fit their columns: the database would refuse them mid-apply."""
    from gsetup.configdb.models import NAME

    for section, key in obj.options:
        if len(section) > NAME or len(key) > NAME:
            what, name = ("section", section) if len(section) > NAME else ("key", key)
            raise BadInputError(
                f"{obj.path}: option {what} {quote_prefix(name)} is too long; "
                f"at most {NAME} characters are allowed"
            )


def _shown_attrs(obj: CurrentObject) -> dict[str, Any]:
    return {k: v for k, v in obj.attrs.items() if v not in (None, "", [], {})}


def _kind(name: str) -> Kind:
    from gsetup.configdb.kinds import get_kind

    return get_kind(name)


def _check_path(kind: str, path: str) -> None:
    """A path is the kind's folder and a name (attribute values: the attribute's name too)."""
    if kind == "tenant":
        if path:
            raise BadInputError(f"the tenant object's path is '', not {path!r}")
        return
    folder = KIND_FOLDERS[kind]
    parts = path.split("/")
    depth = 3 if kind in PARENT_KIND else 2
    if parts[0] != folder or len(parts) != depth:
        shape = f"{folder}/<attribute>/<value>" if kind in PARENT_KIND else f"{folder}/<name>"
        shown = quote_prefix(path)
        raise BadInputError(f"invalid path {shown} for {a_or_an(KINDS[kind].title)}: use {shape}")
    for name in parts[1:]:
        check_name(name, KINDS[kind].title.lower())


def _check_type(path: str, attr: str, value: Any, default: Any) -> None:
    """Each field takes the type of its default (``None`` defaults: an integer or nothing)."""
    expected: tuple[type, ...]
    if default is None:
        expected = (int, type(None))
    elif isinstance(default, bool):
        expected = (bool,)
    else:
        expected = (type(default),)
    if not isinstance(value, expected) or (isinstance(value, bool) and bool not in expected):
        names = " or ".join(kind_name(t) for t in expected)
        raise BadInputError(f"{path}: {attr} must be {names}, not {value!r}")
