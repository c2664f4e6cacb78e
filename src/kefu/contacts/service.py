"""The unified customer: contacts and their channel identities."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.access import get_scoped, restrict
from kefu.contacts.identities import normalized_identity as normalized_identity  # channels use it from here
from kefu.contacts.merge import MAX_CHAIN, do_merge_contacts
from kefu.contacts.models import Contact, ContactIdentity
from kefu.contacts.schemas import ContactCreate, ContactRead, ContactUpdate, IdentityCreate
from kefu.core.constants import EventType, IdentityKind, MergeReason
from kefu.core.errors import Conflict, NotFound
from kefu.core.events import Actor, commit, emit
from kefu.core.pagination import Cursor, page_by_id


async def get_contact(session: AsyncSession, account_id: int, contact_id: int, *, resolve: bool = True) -> Contact:
    """The account's contact; for a contact merged into another, that other one (unless `resolve=False`)."""
    contact = await get_scoped(session, Contact, contact_id, account_id, "contact")
    for _ in range(MAX_CHAIN):
        if not resolve or contact.merged_into_id is None:
            break
        contact = await get_scoped(session, Contact, contact.merged_into_id, account_id, "contact")
    return contact


async def list_identities(session: AsyncSession, contact: Contact) -> list[ContactIdentity]:
    q = select(ContactIdentity).where(ContactIdentity.contact_id == contact.id).order_by(ContactIdentity.id)
    return list((await session.execute(q)).scalars())


async def list_contacts(
    session: AsyncSession, account_id: int, *, q: str | None, cursor: Cursor | None, limit: int
) -> tuple[list[Contact], Cursor | None]:
    query = restrict(select(Contact), Contact, account_id).where(Contact.merged_into_id.is_(None))
    if q:
        like = f"%{q.lower()}%"
        query = query.where(or_(Contact.name.ilike(like), Contact.email.ilike(like), Contact.phone.ilike(like)))
    return await page_by_id(session, query, Contact, cursor, limit)


async def do_create_contact(
    session: AsyncSession, account_id: int, data: ContactCreate, actor: Actor, *, commit_now: bool = True
) -> Contact:
    if data.email:
        taken = await session.execute(
            select(ContactIdentity.contact_id).where(
                ContactIdentity.account_id == account_id,
                ContactIdentity.kind == IdentityKind.EMAIL,
                ContactIdentity.value == str(data.email).lower(),
            )
        )
        if (row := taken.first()) is not None:
            raise Conflict(f"contact {row[0]} already has the email {data.email}")
    contact = Contact(
        account_id=account_id,
        name=data.name,
        email=str(data.email) if data.email else None,
        phone=data.phone,
        tier=str(data.tier),
        attributes=data.attributes,
    )
    session.add(contact)
    await session.flush()
    if data.email:
        session.add(
            ContactIdentity(
                account_id=account_id, contact_id=contact.id, kind=IdentityKind.EMAIL, value=str(data.email).lower()
            )
        )
    emit(session, account_id, EventType.CONTACT_CREATED, _payload(contact), actor=actor)
    if commit_now:
        await commit(session)
    return contact


async def do_update_contact(session: AsyncSession, contact: Contact, data: ContactUpdate, actor: Actor) -> Contact:
    for field, value in data.model_dump(exclude_unset=True).items():
        if value is None and field in ("name", "tier", "attributes"):
            continue
        setattr(contact, field, str(value) if field in ("email", "tier") and value else value)
    await session.flush()
    emit(session, contact.account_id, EventType.CONTACT_UPDATED, _payload(contact), actor=actor)
    await commit(session)
    return contact


async def do_add_identity(
    session: AsyncSession, contact: Contact, kind: IdentityKind, value: str, inbox_id: int | None = None
) -> ContactIdentity:
    ident = ContactIdentity(
        account_id=contact.account_id, contact_id=contact.id, kind=str(kind), value=value, inbox_id=inbox_id
    )
    session.add(ident)
    await session.flush()
    return ident


async def check_add_identity(
    session: AsyncSession, contact: Contact, data: IdentityCreate, actor: Actor
) -> tuple[ContactIdentity, int | None]:
    """Add an identity to a contact (normalised: 422 for an invalid one). When another contact holds it:
    409 naming that contact, or — with `merge` — that contact is merged into this one first. Returns the
    identity and the id of the merge, if one happened. Commits (`contact.updated`)."""
    value = normalized_identity(data.kind, data.value)
    holder = await find_contact_by_identity(session, contact.account_id, data.kind, value)
    merge_id: int | None = None
    if holder is not None and holder.id == contact.id:
        raise Conflict(f"contact {contact.id} already has the {data.kind} identity {value}")
    if holder is not None and not data.merge:
        raise Conflict(
            f"contact {holder.id} ({holder.name or 'no name'}) already has the {data.kind} identity {value}; "
            'send "merge": true to merge that contact into this one',
            details={"contact_id": holder.id},
        )
    if holder is not None:
        merge = await do_merge_contacts(
            session, contact.account_id, contact.id, holder.id, actor, reason=MergeReason.IDENTITY, commit_now=False
        )
        merge_id = merge.id
        ident = await _identity(session, contact.account_id, data.kind, value)
        assert ident is not None
    else:
        ident = await do_add_identity(session, contact, data.kind, value)
    _fill_field(contact, data.kind, value)
    await session.flush()
    emit(session, contact.account_id, EventType.CONTACT_UPDATED, _payload(contact), actor=actor, contact_id=contact.id)
    await commit(session)
    return ident, merge_id


async def do_remove_identity(session: AsyncSession, contact: Contact, identity_id: int, actor: Actor) -> None:
    """Remove one of the contact's identities (404 for another contact's). Commits (`contact.updated`)."""
    ident = await session.get(ContactIdentity, identity_id)
    if ident is None or ident.contact_id != contact.id:
        raise NotFound("identity", identity_id)
    await session.delete(ident)
    if ident.kind == IdentityKind.EMAIL and contact.email and contact.email.lower() == ident.value:
        contact.email = None
    if ident.kind == IdentityKind.PHONE and contact.phone == ident.value:
        contact.phone = None
    await session.flush()
    emit(session, contact.account_id, EventType.CONTACT_UPDATED, _payload(contact), actor=actor, contact_id=contact.id)
    await commit(session)


def _fill_field(contact: Contact, kind: IdentityKind | str, value: str) -> None:
    """An email or phone identity fills the contact's empty email or phone field."""
    if kind == IdentityKind.EMAIL and not contact.email:
        contact.email = value
    elif kind == IdentityKind.PHONE and not contact.phone:
        contact.phone = value


async def _identity(
    session: AsyncSession, account_id: int, kind: IdentityKind | str, value: str
) -> ContactIdentity | None:
    q = select(ContactIdentity).where(
        ContactIdentity.account_id == account_id, ContactIdentity.kind == str(kind), ContactIdentity.value == value
    )
    return (await session.execute(q)).scalar_one_or_none()


async def find_contact_by_identity(
    session: AsyncSession, account_id: int, kind: IdentityKind | str, value: str
) -> Contact | None:
    q = (
        select(Contact)
        .join(ContactIdentity, ContactIdentity.contact_id == Contact.id)
        .where(
            ContactIdentity.account_id == account_id,
            ContactIdentity.kind == str(kind),
            ContactIdentity.value == normalized_identity(kind, value),
        )
    )
    return (await session.execute(q)).scalar_one_or_none()


async def do_contact_for_identity(
    session: AsyncSession,
    account_id: int,
    kind: IdentityKind | str,
    value: str,
    *,
    name: str = "",
    inbox_id: int | None = None,
    actor: Actor | None = None,
) -> tuple[Contact, bool]:
    """The contact a channel knows by (kind, value), created with that identity when there is none;
    (contact, created). Safe when two requests for a new identity race: the unique (account, kind,
    value) lets one insert win and the other reads the winner's contact. Commits."""
    found = await find_contact_by_identity(session, account_id, kind, value)
    if found is not None:
        return found, False
    stored = normalized_identity(kind, value)
    try:
        async with session.begin_nested():
            contact = Contact(
                account_id=account_id,
                name=name[:200],
                email=stored if kind == IdentityKind.EMAIL else None,
                phone=stored if kind == IdentityKind.PHONE else None,
            )
            session.add(contact)
            await session.flush()
            session.add(
                ContactIdentity(
                    account_id=account_id, contact_id=contact.id, kind=str(kind), value=stored, inbox_id=inbox_id
                )
            )
            await session.flush()
    except IntegrityError:
        found = await find_contact_by_identity(session, account_id, kind, value)
        if found is None:
            raise
        return found, False
    emit(session, account_id, EventType.CONTACT_CREATED, _payload(contact), actor=actor or Actor.system())
    await commit(session)
    return contact, True


def _payload(contact: Contact) -> dict[str, object]:
    return ContactRead.model_validate(contact).model_dump(mode="json")
