"""Merging two contacts into one, and undoing it (docs/customers.md#merge-and-split).

`do_merge_contacts(kept, absorbed)` runs in one transaction:

1. both contact rows are locked in id order (`SELECT … ORDER BY id FOR UPDATE` on PostgreSQL; on SQLite,
   whose transactions kefu begins IMMEDIATE, a write to both rows first makes the lock explicit whatever
   the mode), then re-read: so two nodes merging the
   same pair, or A→B and B→A at once, end with one merge and a 409 for the other;
2. every row that references the absorbed contact is moved to the kept one — the tables in `REFERENCES`
   (every foreign key to contacts.id, and the uploads a contact made); tests/contacts/test_merge.py
   checks the list against the schema, so a new table that references contacts cannot be forgotten;
3. the attributes are united (the kept contact's values win) and an empty name / email / phone / locale
   of the kept contact is taken from the absorbed one;
4. the absorbed contact stays, with `merged_into_id` set: its ids and widget tokens resolve to the kept
   contact (`resolve_contact_id`);
5. a `contact_merges` row records what moved (ids per table, attributes and fields taken) and the events
   `contact.merged` (the audit entry: who, which pair, why) and `contact.updated` are emitted.

`do_split_contact(kept, merge)` undoes one merge: what the merge row recorded and still belongs to the
kept contact moves back; what happened since stays with the kept contact (a conversation or identity
created after the merge, a row the kept contact has since lost); an attribute or field the merge took
over is removed again when its value is still the one it took. Event `contact.split` is the audit entry.

The tables are named here, not imported: contacts sits below the packages that own them (as
auth/access.py does for team membership).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnClause, ColumnElement, column, select, table, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.contacts.models import Contact, ContactMerge
from kefu.contacts.schemas import ContactRead
from kefu.core import clock
from kefu.core.constants import ActorType, EventType, MergeReason
from kefu.core.errors import Conflict, NotFound, Unprocessable
from kefu.core.events import Actor, commit, emit

MAX_CHAIN = 20  # merged_into_id hops followed before giving up (a cycle cannot form, this is a guard)
TAKEN_FIELDS = ("name", "email", "phone", "locale")


@dataclass(frozen=True)
class Reference:
    """A column that names a contact: `key` in `ContactMerge.moved`."""

    key: str
    table: str
    column: str
    only_contacts: bool = False  # attachments: uploader_id names a contact only when uploader_type is contact


REFERENCES = (
    Reference("conversations", "conversations", "contact_id"),
    Reference("identities", "contact_identities", "contact_id"),
    Reference("tickets", "tickets", "contact_id"),
    Reference("repeat_contacts", "repeat_contacts", "contact_id"),
    Reference("attachments", "attachments", "uploader_id", only_contacts=True),
    Reference("merged_contacts", "contacts", "merged_into_id"),
)


def _columns(ref: Reference) -> tuple[Any, ColumnElement[Any], ColumnElement[bool]]:
    cols: list[ColumnClause[Any]] = [column("id"), column(ref.column)] + (
        [column("uploader_type")] if ref.only_contacts else []
    )
    t = table(ref.table, *cols)
    scope = t.c.uploader_type == str(ActorType.CONTACT) if ref.only_contacts else true()
    return t, t.c[ref.column], scope


async def resolve_contact_id(session: AsyncSession, contact_id: int) -> int:
    """The contact that stands for `contact_id` now: itself, or the one it was merged into."""
    for _ in range(MAX_CHAIN):
        into = await session.scalar(select(Contact.merged_into_id).where(Contact.id == contact_id))
        if into is None:
            return contact_id
        contact_id = into
    return contact_id


async def _lock_pair(session: AsyncSession, account_id: int, a: int, b: int) -> dict[int, Contact]:
    """Both contacts, locked in id order, freshly read; 404 naming one that is not the account's."""
    ids = sorted({a, b})
    if session.get_bind().dialect.name == "sqlite":  # take the write lock before reading (SQLite locks the file)
        await session.execute(update(Contact).where(Contact.id.in_(ids)).values(token_version=Contact.token_version))
    q = (
        select(Contact)
        .where(Contact.id.in_(ids))
        .order_by(Contact.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    found = {c.id: c for c in (await session.execute(q)).scalars() if c.account_id == account_id}
    for ident in (a, b):
        if ident not in found:
            raise NotFound("contact", ident)
    return found


async def do_merge_contacts(
    session: AsyncSession,
    account_id: int,
    kept_id: int,
    absorbed_id: int,
    actor: Actor,
    *,
    reason: MergeReason = MergeReason.MANUAL,
    commit_now: bool = True,
) -> ContactMerge:
    """Merge `absorbed_id` into `kept_id` (see the module doc). 422 for a contact merged with itself,
    409 when either was merged already."""
    if kept_id == absorbed_id:
        raise Unprocessable("a contact cannot be merged with itself")
    pair = await _lock_pair(session, account_id, kept_id, absorbed_id)
    kept, absorbed = pair[kept_id], pair[absorbed_id]
    for c in (kept, absorbed):
        if c.merged_into_id is not None:
            raise Conflict(f"contact {c.id} was merged into contact {c.merged_into_id} already")
    moved: dict[str, Any] = {}
    for ref in REFERENCES:
        moved[ref.key] = await _move(session, ref, absorbed.id, kept.id, None)
    moved["attributes"], moved["fields"] = _take_over(kept, absorbed)
    absorbed.merged_into_id = kept.id
    merge = ContactMerge(
        account_id=account_id,
        kept_id=kept.id,
        absorbed_id=absorbed.id,
        reason=str(reason),
        actor_type=str(actor.type),
        actor_id=actor.id,
        moved=moved,
    )
    session.add(merge)
    await session.flush()
    payload = {"id": kept.id, "absorbed_id": absorbed.id, "merge_id": merge.id, "reason": str(reason), "moved": moved}
    emit(session, account_id, EventType.CONTACT_MERGED, payload, actor=actor, contact_id=kept.id)
    emit(session, account_id, EventType.CONTACT_UPDATED, _read(kept), actor=actor, contact_id=kept.id)
    if commit_now:
        await commit(session)
    return merge


async def do_split_contact(
    session: AsyncSession, account_id: int, kept_id: int, merge_id: int, actor: Actor
) -> ContactMerge:
    """Undo merge `merge_id` of contact `kept_id` (see the module doc). 404 for a merge of another
    contact, 409 for one undone already."""
    merge = await session.get(ContactMerge, merge_id, populate_existing=True)
    if merge is None or merge.account_id != account_id or merge.kept_id != kept_id:
        raise NotFound("merge", merge_id)
    pair = await _lock_pair(session, account_id, merge.kept_id, merge.absorbed_id)
    await session.refresh(merge)
    if merge.split_at is not None:
        raise Conflict(f"merge {merge.id} was undone already")
    kept, absorbed = pair[merge.kept_id], pair[merge.absorbed_id]
    if absorbed.merged_into_id != kept.id:
        raise Conflict(f"contact {absorbed.id} is no longer merged into contact {kept.id}")
    moved = dict(merge.moved or {})
    back: dict[str, list[int]] = {}
    for ref in REFERENCES:
        back[ref.key] = await _move(session, ref, kept.id, absorbed.id, list(moved.get(ref.key, [])))
    _give_back(kept, moved.get("attributes", {}), moved.get("fields", {}))
    absorbed.merged_into_id = None
    merge.split_at = clock.now()
    await session.flush()
    payload = {"id": kept.id, "absorbed_id": absorbed.id, "merge_id": merge.id, "reason": merge.reason, "moved": back}
    emit(session, account_id, EventType.CONTACT_SPLIT, payload, actor=actor, contact_id=kept.id)
    for c in (kept, absorbed):
        emit(session, account_id, EventType.CONTACT_UPDATED, _read(c), actor=actor, contact_id=c.id)
    await commit(session)
    return merge


async def list_merges(session: AsyncSession, contact: Contact) -> list[ContactMerge]:
    """The merges into this contact, newest first (undone ones included, with `split_at`)."""
    q = select(ContactMerge).where(ContactMerge.kept_id == contact.id).order_by(ContactMerge.id.desc())
    return list((await session.execute(q)).scalars())


async def _move(session: AsyncSession, ref: Reference, source: int, target: int, only: list[int] | None) -> list[int]:
    """Point `ref`'s rows naming `source` (those of `only`, when given) at `target`; their ids, sorted."""
    t, col, scope = _columns(ref)
    where = [col == source, scope]
    if only is not None:
        if not only:
            return []
        where.append(t.c.id.in_(only))
    ids = sorted((await session.execute(select(t.c.id).where(*where))).scalars())
    if ids:
        await session.execute(update(t).where(t.c.id.in_(ids)).values({ref.column: target}))
    return ids


def _take_over(kept: Contact, absorbed: Contact) -> tuple[dict[str, Any], dict[str, Any]]:
    """Unite the attributes (kept wins) and fill the kept contact's empty fields; what was taken."""
    own = dict(kept.attributes or {})
    taken = {k: v for k, v in (absorbed.attributes or {}).items() if k not in own}
    if taken:
        kept.attributes = {**own, **taken}
    fields: dict[str, Any] = {}
    for name in TAKEN_FIELDS:
        if not getattr(kept, name) and getattr(absorbed, name):
            fields[name] = getattr(absorbed, name)
            setattr(kept, name, fields[name])
    return taken, fields


def _give_back(kept: Contact, attributes: dict[str, Any], fields: dict[str, Any]) -> None:
    """Remove what a merge took over from the kept contact, where it is still what was taken."""
    own = dict(kept.attributes or {})
    left = {k: v for k, v in own.items() if not (k in attributes and attributes[k] == v)}
    if left != own:
        kept.attributes = left
    for name, value in fields.items():
        if getattr(kept, name) == value:
            setattr(kept, name, "" if name == "name" else None)


def _read(contact: Contact) -> dict[str, Any]:
    return ContactRead.model_validate(contact).model_dump(mode="json")
