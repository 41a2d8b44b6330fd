"""The row checker: every rule an upload's row is held to, and its message.

`RowChecker.check` judges one cleaned row against the campaign, the database's facts
about its client (`Member`) and the upload so far, and collects the facts an accepted
row states (`StagedFact`). The column checks (`columns`) accept most rows at once; every
row they leave comes here, so a rule's meaning and message live in this one place.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, NamedTuple

from reactivate.clock import local, to_utc
from reactivate.errors import Rejection
from reactivate.messages import t
from reactivate.rules import funnel
from reactivate.rules.campaign import Product
from reactivate.upload.columns import FACT_TIMES, UNTIMED
from reactivate.upload.model import (
    INDEX,
    Context,
    Member,
    StagedFact,
    UploadFile,
    UploadOptions,
    find_product,
)

#: Distinct sheet times an upload remembers converted (60 days of minutes is 86,400).
_REMEMBERED_TIMES = 200_000

_CALL, _ATTEMPTS, _CALLBACK = funnel.EVENT_CALL, funnel.EVENT_ATTEMPTS, funnel.EVENT_CALLBACK
_WECOM, _PUSHED, _CONVERTED = funnel.EVENT_WECOM, funnel.EVENT_PUSHED, funnel.EVENT_CONVERTED
_NOTE = funnel.EVENT_NOTE


def minute(moment: dt.datetime) -> str:
    """A time as messages show it, to the minute."""
    return moment.strftime("%Y-%m-%d %H:%M")


class _SheetTime(NamedTuple):
    """A sheet time converted and checked once, however many rows repeat it."""

    utc: dt.datetime
    stored: Any  # as the staged table holds it
    problem: str | None  # why any row giving it is rejected (future, outside the campaign)


class _Times(NamedTuple):
    """The times a row gives its facts (`columns.FACT_TIMES`), converted; None where the
    row gives none or gives a bad one."""

    called: _SheetTime | None
    wecom: _SheetTime | None
    pushed: _SheetTime | None
    converted: _SheetTime | None


class RowChecker:
    """Checks the cleaned rows of one file at a time against the campaign and the
    database, and collects the facts they state."""

    def __init__(
        self, context: Context, options: UploadOptions, stored: Callable[[dt.datetime], Any]
    ) -> None:
        self.context = context
        self.options = options
        self.stored = stored  # an aware UTC time as the staged table holds it
        self.tz = context.campaign.tz
        self.start = context.campaign.start
        self.end = context.campaign.end
        self.now_stored = stored(context.now)
        # calls after a do-not-call result within this upload: client -> earliest such time
        self.dnc_in_upload: dict[str, dt.datetime] = {}
        # unknown ids that are members short of their leading zeros -> those members
        self.lost_zeros: dict[str, str] = {}
        # the file and row being checked, and the file's place in the upload
        self.item: UploadFile | None = None
        self.number = 0
        self.position = 0
        # Sheets repeat their times (to the minute) and products down the rows: each
        # distinct one is converted and checked once.
        self._times: dict[dt.datetime, _SheetTime] = {}
        self._products: dict[str, Product | None] = {}

    def reject(self, column: str | None, reason: str) -> None:
        """Reject the row being checked, naming `column` as its file spells it."""
        item = self.item
        assert item is not None
        item.errors.append(
            Rejection(str(item.path), item.sheet, self.number, item.header(column), reason)
        )

    def check(
        self,
        item: UploadFile,
        position: int,
        number: int,
        row: tuple[Any, ...],
        member: Member,
        facts: list[StagedFact],
    ) -> bool:
        """Check row `number` of `item` (the upload's file at `position`), whose client the
        database knows as `member`; when it passes, add the facts it states to `facts`."""
        self.item, self.position, self.number = item, position, number
        reject = self.reject
        client_id: str = row[0]
        if not member.known:
            padded = self.lost_zeros.get(client_id)
            if padded is None:
                reject("client_id", t("reject.unknown_client", client_id=client_id))
            else:
                campaign = self.context.campaign.slug
                hint = t(
                    "reject.unknown_client_lost_zeros",
                    value=client_id,
                    client_id=padded,
                    campaign=campaign,
                )
                reject("client_id", hint)
            return False
        if not member.member:
            campaign = self.context.campaign.slug
            reject("client_id", t("reject.not_member", client_id=client_id, campaign=campaign))
            return False
        if member.control:
            reject("client_id", t("reject.control", client_id=client_id))
            return False
        named = row[_ADVISOR]
        if item.stamp is not None:
            advisor = item.stamp.advisor
        else:
            from_sheet = self._advisor(named, member)
            if from_sheet is None:
                return False
            advisor = from_sheet
        foreign = member.advisor != advisor
        if foreign and not self.options.allow_foreign:
            owner = member.advisor or t("label.nobody")
            column = "advisor" if item.stamp is None and named else "client_id"
            reject(column, t("reject.foreign", client_id=client_id, owner=owner, advisor=advisor))
            return False
        if not self._facts(client_id, advisor, row, member, facts):
            return False
        item.summary.foreign += foreign
        return True

    def _advisor(self, named: str | None, member: Member) -> str | None:
        """The advisor a plain sheet's row is from, or None after rejecting it."""
        context = self.context
        if named:
            if named in context.advisor_codes:
                return named
            by_name = context.advisor_by_name.get(named)
            if by_name is None:
                self.reject("advisor", t("reject.unknown_advisor", value=named))
            return by_name
        if self.options.advisor:
            return self.options.advisor
        if member.advisor is None:
            self.reject("advisor", t("reject.no_advisor"))
        return member.advisor

    def _facts(
        self,
        client_id: str,
        advisor: str,
        row: tuple[Any, ...],
        member: Member,
        facts: list[StagedFact],
    ) -> bool:
        """Check the row's own values; when they pass, add its facts to `facts`.

        Every rule is checked, even after one fails, so every bad cell is reported.
        """
        times, ok = self._sheet_times(row, member)
        ok = self._call_allowed(client_id, row, times.called, member) and ok
        product, product_ok = self._product(client_id, row, member)
        ok = product_ok and ok
        ok = self._times_have_values(row) and ok
        if ok:
            self._add_facts(client_id, advisor, row, times, product, facts, member)
        return ok

    def _sheet_times(self, row: tuple[Any, ...], member: Member) -> tuple[_Times, bool]:
        """The times the row gives its facts, and whether every one of them passes (each
        is checked on its own)."""
        found: list[_SheetTime | None] = []
        ok = True
        for name in FACT_TIMES:
            moment = row[INDEX[name]]
            when = None if moment is None else self._time(name, moment, member)
            ok = ok and (moment is None or when is not None)
            found.append(when)
        return _Times(*found), ok

    def _time(self, column: str, moment: dt.datetime, member: Member) -> _SheetTime | None:
        """A sheet time (campaign wall clock) as UTC and as stored, or None after
        rejecting it."""
        found = self._times.get(moment)
        if found is None:
            found = self._convert(moment)
        if found.problem is not None:
            self.reject(column, found.problem)
            return None
        if member.assigned_at is not None and found.utc < member.assigned_at:
            assigned = minute(local(member.assigned_at, self.tz))
            self.reject(
                column, t("reject.before_assigned", value=minute(moment), assigned=assigned)
            )
            return None
        return found

    def _convert(self, moment: dt.datetime) -> _SheetTime:
        when = to_utc(moment, self.tz)
        problem = None
        if when > self.context.now:
            timezone = self.context.campaign.timezone
            problem = t("reject.future", value=minute(moment), tz=timezone)
        elif moment.date() < self.start:  # the sheet's time is already the campaign's wall clock
            problem = t("reject.before_start", value=minute(moment), start=self.start)
        elif moment.date() > self.end:  # calls and pushes belong to the campaign's days
            problem = t("reject.after_end", value=minute(moment), end=self.end)
        found = _SheetTime(when, self.stored(when), problem)
        if len(self._times) < _REMEMBERED_TIMES:
            self._times[moment] = found
        return found

    def _call_allowed(
        self, client_id: str, row: tuple[Any, ...], called: _SheetTime | None, member: Member
    ) -> bool:
        """Whether the row's call may be recorded: never after do-not-call (the client is
        listed, or an earlier call in this campaign was told so), and only with a result
        the campaign uses."""
        result, attempts = row[_RESULT], row[_ATTEMPTS_GIVEN]
        ok = True
        calling = (
            result is not None
            or row[_CALLED_AT] is not None
            or (attempts or 0) > member.attempts_so_far
        )
        if calling and result != funnel.DO_NOT_CALL:
            when = called.utc if called is not None else self.context.now
            earlier = member.dnc_call_at
            if member.dnc:
                ok = False
                self.reject("call_result", t("reject.dnc_listed", client_id=client_id))
            elif earlier is not None and when > earlier:
                ok = False
                shown = minute(local(earlier, self.tz))
                self.reject(
                    "call_result", t("reject.dnc_campaign", client_id=client_id, when=shown)
                )
        if result is not None and result not in self.context.campaign.dispositions:
            ok = False
            self.reject("call_result", t("reject.disposition_off", value=result))
        return ok

    def _product(
        self, client_id: str, row: tuple[Any, ...], member: Member
    ) -> tuple[Product | None, bool]:
        """The product the row pushes, and whether it passes: a product of the campaign
        the client's risk tolerance allows; a push time only with a product."""
        named: str | None = row[_PRODUCT]
        if named is None:
            if row[_PUSHED_AT] is not None:
                return None, self._needs("pushed_at", "product")
            return None, True
        if named not in self._products:
            self._products[named] = find_product(self.context.campaign, named)
        product = self._products[named]
        if product is None:
            codes = t("list.separator").join(p.code for p in self.context.campaign.products)
            self.reject("product", t("reject.unknown_product", value=named, choices=codes))
            return None, False
        if member.risk is None:
            self.reject("product", t("reject.risk_unknown", client_id=client_id))
            return product, False
        if product.risk > member.risk:
            self.reject(
                "product",
                t(
                    "reject.unsuitable",
                    product=product.code,
                    product_risk=product.risk,
                    risk=member.risk,
                ),
            )
            return product, False
        return product, True

    def _times_have_values(self, row: tuple[Any, ...]) -> bool:
        """Whether the WeCom and conversion times come with the 是 they are the times of."""
        ok = True
        if row[_WECOM_AT] is not None and not row[_WECOM_GIVEN]:
            ok = self._needs("wecom_added_at", "wecom_added")
        if row[_CONVERTED_AT] is not None and not row[_CONVERTED_GIVEN]:
            ok = self._needs("converted_at", "converted")
        return ok

    def _needs(self, column: str, other: str) -> bool:
        """Reject a time given without the value it is the time of; returns False."""
        item = self.item
        assert item is not None
        named = item.header
        self.reject(column, t("reject.time_without", column=named(column), other=named(other)))
        return False

    def _add_facts(
        self,
        client_id: str,
        advisor: str,
        row: tuple[Any, ...],
        times: _Times,
        product: Product | None,
        facts: list[StagedFact],
        member: Member,
    ) -> None:
        """Add the facts an accepted row states to `facts`, in the order the column checks
        give them (`columns.facts`).

        A fact without a time, or whose time is not part of it (a reported attempts
        count), is matched without one and timed now unless the row gave one.
        """
        now_stored, position, number = self.now_stored, self.position, self.number

        def add(kind: str, value: str | None, when: _SheetTime | None) -> None:
            """A fact timed by the sheet when it gave a time (matched with it), else now."""
            if when is not None:
                facts.append(
                    (client_id, kind, value, when.stored, 1, advisor, position, number, None)
                )
            else:
                facts.append(
                    (client_id, kind, value, now_stored, 0, advisor, position, number, UNTIMED)
                )

        result, attempts, called = row[_RESULT], row[_ATTEMPTS_GIVEN], times.called
        # a call result, a call time or more attempts than recorded is evidence of a call
        if (
            result is not None
            or row[_CALLED_AT] is not None
            or (attempts or 0) > (member.attempts_so_far)
        ):
            add(_CALL, result, called)
            if result == funnel.DO_NOT_CALL:
                self._mark_dnc(client_id, called)
        if attempts:
            moment = called.stored if called is not None else now_stored
            facts.append(
                (client_id, _ATTEMPTS, str(attempts), moment, 0, advisor, position, number, UNTIMED)
            )
        if (callback_at := row[_CALLBACK_AT]) is not None:
            asked = to_utc(callback_at, self.tz)
            value, stored = asked.isoformat(), self.stored(asked)
            facts.append((client_id, _CALLBACK, value, stored, 1, advisor, position, number, None))
        if row[_WECOM_GIVEN]:
            add(_WECOM, None, times.wecom)
        if product is not None:
            add(_PUSHED, product.code, times.pushed)
        if row[_CONVERTED_GIVEN]:
            add(_CONVERTED, product.code if product else None, times.converted)
        if row[_NOTE_GIVEN] is not None:
            add(_NOTE, row[_NOTE_GIVEN], None)

    def _mark_dnc(self, client_id: str, called: _SheetTime | None) -> None:
        """Remember the earliest do-not-call result this upload gives the client."""
        when = called.utc if called is not None else self.context.now
        seen = self.dnc_in_upload.get(client_id)
        if seen is None or when < seen:
            self.dnc_in_upload[client_id] = when


# Places of the fields in a cleaned row.
_ADVISOR, _RESULT, _ATTEMPTS_GIVEN = INDEX["advisor"], INDEX["call_result"], INDEX["attempts"]
_CALLED_AT, _CALLBACK_AT, _PUSHED_AT = INDEX["called_at"], INDEX["callback_at"], INDEX["pushed_at"]
_WECOM_GIVEN, _WECOM_AT = INDEX["wecom_added"], INDEX["wecom_added_at"]
_CONVERTED_GIVEN, _CONVERTED_AT = INDEX["converted"], INDEX["converted_at"]
_PRODUCT, _NOTE_GIVEN = INDEX["product"], INDEX["note"]
