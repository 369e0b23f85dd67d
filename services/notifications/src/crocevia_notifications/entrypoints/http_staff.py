"""The staff directory and subscriptions (an agency's admins or system accounts, of their own
agency only), and each person's own preferences."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Response
from pydantic import ValidationError

from crocevia_common.inputs import RowId, SubText
from crocevia_common.problems import Problem
from crocevia_notifications.domain.preferences import Preferences
from crocevia_notifications.domain.routing import DEFAULT_SUBSCRIPTIONS, Subscription
from crocevia_notifications.domain.staff import Person, StaffMember
from crocevia_notifications.entrypoints.deps import Caller, Context, ManagedAgency, Reads, known_agency
from crocevia_notifications.entrypoints.schemas import StaffChange, StaffOut, SubscriptionIn, SubscriptionOut
from crocevia_notifications.handlers import staff as people

router = APIRouter(tags=["staff"])


def staff_out(person: Person) -> StaffOut:
    return StaffOut(agency=person.agency, **person.member.model_dump())


def _no_person(agency: str, sub: str) -> Problem:
    return Problem(404, "unknown-person", "No such person", f"{sub!r} is not on the staff of {agency!r}")


@router.get("/me", response_model=StaffOut, summary="The caller, as the staff directory knows them")
async def get_me(person: Caller) -> StaffOut:
    return staff_out(person)


@router.put("/me/preferences", response_model=StaffOut, summary="Replace the caller's preferences")
async def put_my_preferences(preferences: Preferences, person: Caller, ctx: Context) -> StaffOut:
    changes = {"preferences": preferences.model_dump(mode="json")}
    member = await people.change_member(ctx, person.agency, person.member.sub, changes)
    return StaffOut(agency=person.agency, **(member or person.member).model_dump())


@router.get("/agencies/{agency}/staff", response_model=list[StaffOut], summary="An agency's staff")
async def list_staff(agency: ManagedAgency, ctx: Context, views: Reads) -> list[StaffOut]:
    await known_agency(ctx, agency)
    return [staff_out(person) for person in await views.staff_of(agency)]


@router.post("/agencies/{agency}/staff/import", summary="Create or replace many people (a staff file's list)")
async def import_staff(
    agency: ManagedAgency, staff: Annotated[list[StaffMember], Body()], ctx: Context
) -> dict[str, int]:
    await known_agency(ctx, agency)
    created = sum([await people.save_member(ctx, agency, member) for member in staff])
    return {"created": created, "updated": len(staff) - created}


@router.get("/agencies/{agency}/staff/{sub}", response_model=StaffOut, summary="One person")
async def get_staff(agency: ManagedAgency, sub: SubText, views: Reads) -> StaffOut:
    person = await views.person(agency, sub)
    if person is None:
        raise _no_person(agency, sub)
    return staff_out(person)


@router.put("/agencies/{agency}/staff/{sub}", response_model=StaffOut, summary="Create or replace a person")
async def put_staff(
    agency: ManagedAgency, sub: SubText, member: StaffMember, ctx: Context, response: Response
) -> StaffOut:
    await known_agency(ctx, agency)
    if member.sub != sub:
        raise Problem(422, "sub-mismatch", "Body and path disagree", f"the body names {member.sub!r}, the path {sub!r}")
    response.status_code = 201 if await people.save_member(ctx, agency, member) else 200
    return StaffOut(agency=agency, **member.model_dump())


@router.patch(
    "/agencies/{agency}/staff/{sub}",
    response_model=StaffOut,
    summary="Change some fields of a person (e.g. active: false)",
)
async def patch_staff(agency: ManagedAgency, sub: SubText, change: StaffChange, ctx: Context) -> StaffOut:
    try:
        member = await people.change_member(ctx, agency, sub, change.model_dump(mode="json", exclude_unset=True))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise Problem(422, "validation", "Invalid request", f"{where}: {first['msg']}") from None
    if member is None:
        raise _no_person(agency, sub)
    return StaffOut(agency=agency, **member.model_dump())


def subscription_out(sub: Subscription, default: bool) -> SubscriptionOut:
    return SubscriptionOut(
        id=sub.id,
        agency=sub.agency,
        default=default,
        roles=sorted(sub.roles),
        event_types=sorted(sub.topics),
        service_ids=sorted(sub.service_ids),
        priorities=sorted(sub.priorities),
        scope=sub.scope,
    )


@router.get(
    "/agencies/{agency}/subscriptions",
    response_model=list[SubscriptionOut],
    summary="Who at the agency hears of what: the defaults, then the agency's own",
)
async def list_subscriptions(agency: ManagedAgency, ctx: Context, views: Reads) -> list[SubscriptionOut]:
    await known_agency(ctx, agency)
    own = await views.subscriptions_of(agency)
    return [*(subscription_out(s, True) for s in DEFAULT_SUBSCRIPTIONS), *(subscription_out(s, False) for s in own)]


@router.post(
    "/agencies/{agency}/subscriptions",
    status_code=201,
    response_model=SubscriptionOut,
    summary="Add a subscription for the agency's staff",
)
async def add_subscription(agency: ManagedAgency, body: SubscriptionIn, ctx: Context) -> SubscriptionOut:
    await known_agency(ctx, agency)
    sub = Subscription(
        agency=agency,
        roles=frozenset(body.roles),
        topics=frozenset(body.event_types),
        service_ids=frozenset(body.service_ids),
        priorities=frozenset(body.priorities),
        scope=body.scope,
    )
    return subscription_out(await people.add_subscription(ctx, sub), False)


@router.delete(
    "/agencies/{agency}/subscriptions/{subscription_id}",
    status_code=204,
    summary="Remove one of the agency's own subscriptions",
)
async def remove_subscription(agency: ManagedAgency, subscription_id: RowId, ctx: Context) -> Response:
    if not await people.remove_subscription(ctx, agency, subscription_id):
        raise Problem(
            404,
            "subscription-not-found",
            "No such subscription",
            f"{agency!r} has no subscription {subscription_id} (the defaults cannot be removed)",
        )
    return Response(status_code=204)
