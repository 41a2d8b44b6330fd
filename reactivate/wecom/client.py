"""One client for the WeCom server API, configured from the environment.

    settings = WeComSettings.from_env()
    with WeComClient(settings, DatabaseTokenStore(engine)) as wecom:
        result = wecom.contacts_by_user(["zhangsan", "lisi"])

What every call does:

- adds the cached access token (fetching one with `gettoken` when none is valid for
  at least five more minutes); on 40014/42001 (and 40001 on business calls) it
  fetches a new token and retries the call once;
- checks `errcode` (WeCom answers HTTP 200 to failures; a missing errcode is 0);
- retries busy (-1), rate-limit (45009, 45033) answers, network errors and timeouts
  with exponential backoff, at most `max_retries` times, then raises `WeComError`;
- raises `WeComConfigError` with what to do for configuration faults (bad corp id
  or secret, app not allowed to call customer APIs, advisor outside the app's
  visibility, IP not trusted), and `WeComError` for anything else, both carrying
  `errcode` and WeCom's `hint` request id for WeCom support;
- never sends `debug=1` (it caps an API at 5 calls a minute).

The app secret, the robot key and the access token never appear in a message,
a repr or a log line; URLs are logged by path only.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Final
from urllib.parse import quote, quote_plus

import httpx

from reactivate.clock import utcnow
from reactivate.errors import ConfigError, WeComConfigError, WeComError
from reactivate.messages import t
from reactivate.wecom.tokens import TokenStore

log = logging.getLogger(__name__)

DEFAULT_BASE_URL: Final = "https://qyapi.weixin.qq.com/cgi-bin"
ENV_BASE_URL: Final = "REACTIVATE_WECOM_BASE_URL"
ENV_CORPID: Final = "REACTIVATE_WECOM_CORPID"
ENV_SECRET: Final = "REACTIVATE_WECOM_SECRET"
ENV_AGENTID: Final = "REACTIVATE_WECOM_AGENTID"
ENV_WEBHOOK_KEY: Final = "REACTIVATE_WECOM_WEBHOOK_KEY"

#: A cached token is refreshed this long before WeCom says it expires.
TOKEN_MARGIN: Final = dt.timedelta(seconds=300)
#: Limits WeCom documents; the client refuses to send more rather than be cut off.
MAX_USERIDS_PER_BATCH: Final = 100
MAX_TRANSFER_PER_CALL: Final = 100
MAX_STATE_CHARS: Final = 30
MAX_REMARK_CHARS: Final = 30
MAX_TEXT_BYTES: Final = 2048
MAX_MARKDOWN_BYTES: Final = 4096
#: the group robot's image message: the picture before base64, JPG or PNG
MAX_IMAGE_BYTES: Final = 2 * 1024 * 1024
MAX_TOUSER: Final = 1000
MAX_FILE_BYTES: Final = 20 * 1024 * 1024
MAX_TRANSFER_MSG_CHARS: Final = 200

BUSY: Final = -1
RATE_LIMITED: Final = 45009
CONCURRENCY_LIMITED: Final = 45033
#: First backoff delay (seconds) per retryable errcode; doubled on each retry. A
#: minute-window rate limit blocks for 60 s, so 45009 waits 10 + 20 + 40 s.
BACKOFF_BASE: Final[Mapping[int | None, float]] = {
    BUSY: 1.0,
    CONCURRENCY_LIMITED: 2.0,
    RATE_LIMITED: 10.0,
    None: 1.0,  # network error, timeout, HTTP 5xx
}
TOKEN_EXPIRED: Final = frozenset({40014, 42001})
BAD_CREDENTIALS: Final = frozenset({40001, 40013})
#: Errors that concern one advisor (not the whole call): outside visibility, bad userid,
#: no interface licence.
USER_REFUSED: Final = frozenset({60011, 40003, 46004, 60111, 701008})
NOT_EXTERNAL_CONTACT: Final = 84061
ALL_RECIPIENTS_INVALID: Final = 81013
UNKNOWN_CONFIG_ID: Final = 41044

#: errcodes with a message of their own: (message key, exception class).
_EXPLAINED: Final[Mapping[int, tuple[str, type[WeComError]]]] = {
    48002: ("wecom.api_forbidden", WeComConfigError),
    60020: ("wecom.ip_not_trusted", WeComConfigError),
    41001: ("wecom.token_missing", WeComConfigError),
    40056: ("wecom.bad_agentid", WeComConfigError),
    93000: ("wecom.bad_webhook_key", WeComConfigError),
    41045: ("wecom.contact_way_quota", WeComError),
}

_HINT = re.compile(r"hint:\s*\[([^\]]*)\]")
_FROM_IP = re.compile(r"from ip:\s*([0-9a-fA-F.:]+)")
#: A query parameter that carries a secret, as a URL or an echo of one spells it.
_SECRET_PARAM = re.compile(r"\b((?:corpsecret|access_token|key)=)[^&\s\"',;)\]]+", re.IGNORECASE)
_ERRMSG_TAIL = re.compile(r",?\s*(hint:|from ip:|more info at).*$", re.DOTALL)


# --- settings ---------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class WeComSettings:
    """Where WeCom is and which app calls it. The secret and robot key stay out of repr."""

    base_url: str = DEFAULT_BASE_URL
    corpid: str
    secret: str = field(repr=False)
    agentid: int | None = None
    webhook_key: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WeComSettings:
        """Settings from `REACTIVATE_WECOM_*`; ConfigError naming the variable that is wrong."""
        env = os.environ if environ is None else environ

        def value(name: str) -> str | None:
            text = env.get(name, "").strip()
            return text or None

        corpid = value(ENV_CORPID)
        if corpid is None:
            raise ConfigError(t("wecom.env_missing", var=ENV_CORPID))
        secret = value(ENV_SECRET)
        if secret is None:
            raise ConfigError(t("wecom.env_missing", var=ENV_SECRET))
        agentid_text = value(ENV_AGENTID)
        agentid: int | None = None
        if agentid_text is not None:
            try:
                agentid = int(agentid_text)
            except ValueError:
                raise ConfigError(
                    t("wecom.env_agentid", var=ENV_AGENTID, value=agentid_text)
                ) from None
        return cls(
            base_url=(value(ENV_BASE_URL) or DEFAULT_BASE_URL).rstrip("/"),
            corpid=corpid,
            secret=secret,
            agentid=agentid,
            webhook_key=value(ENV_WEBHOOK_KEY),
        )

    @property
    def token_key(self) -> str:
        """The token-cache key: corp id and a hash of the secret (one token per app)."""
        digest = hashlib.sha256(f"reactivate-wecom:{self.secret}".encode()).hexdigest()
        return f"{self.corpid}:{digest[:16]}"


# --- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContactRow:
    """One (advisor, external contact) relation from `batch/get_by_user`."""

    userid: str  # the advisor following the contact
    external_userid: str
    name: str
    createtime: dt.datetime  # when the advisor added the contact, aware UTC
    state: str | None  # the 「联系我」 way's state, when added through one
    remark_mobiles: tuple[str, ...]  # phones the advisor typed as remark (not the real phone)
    add_way: int  # 1 QR scan, 2 phone search, ... (docs/wecom-api.md)
    oper_userid: str | None  # who initiated the add: the advisor, the customer, or an admin
    remark: str | None = None


@dataclass
class ContactsResult:
    """All relations of some advisors, and which advisors WeCom would not answer for.

    `refused` maps a userid to WeCom's errcode (60011 outside the app's visibility,
    40003/46004/60111 unknown userid, 701008 no licence); `unlicensed` lists the
    userids WeCom put in `fail_info.unlicensed_userid_list`. Neither kind is
    complete in `contacts`, so nothing about them may be inferred (e.g. churn).
    """

    contacts: list[ContactRow] = field(default_factory=list)
    unlicensed: list[str] = field(default_factory=list)
    refused: dict[str, int] = field(default_factory=dict)
    requested: list[str] = field(default_factory=list)

    @property
    def complete_userids(self) -> list[str]:
        """Advisors whose relations were all read: safe to diff against the last sync."""
        left_out = set(self.unlicensed) | set(self.refused)
        return [userid for userid in self.requested if userid not in left_out]


@dataclass(frozen=True)
class ContactWay:
    """A 「联系我」 way: keep `config_id` (needed to delete it); `qr_code` is the image URL."""

    config_id: str
    qr_code: str


@dataclass(frozen=True)
class TransferStatus:
    """A customer's transfer as `transfer_result` reports it."""

    external_userid: str
    status: int  # 1 done, 2 waiting, 3 refused by the customer, 4 takeover at customer limit
    takeover_time: dt.datetime | None  # done: when; waiting: the automatic takeover time


# --- the client -------------------------------------------------------------------------------


class WeComClient:
    """The WeCom calls `reactivate` makes. Use as a context manager (closes the connection pool).

    `transport` replaces the network (tests); `sleep` is how backoff waits (tests
    record the delays instead of sleeping); `timeout` applies to every call.
    """

    def __init__(
        self,
        settings: WeComSettings,
        token_store: TokenStore,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
        max_retries: int = 3,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self._store = token_store
        self._sleep = sleep
        self._max_retries = max_retries
        self._clock = clock
        self._base = settings.base_url.rstrip("/") + "/"
        self._http = httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(timeout),
            headers={"User-Agent": "reactivate"},
            follow_redirects=False,
        )

    def __enter__(self) -> WeComClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __repr__(self) -> str:
        return f"WeComClient({self.settings!r})"

    # --- token ----------------------------------------------------------------------------

    def access_token(self, *, rejected: str | None = None) -> str:
        """A token valid for at least five more minutes: the cached one, else a new one.

        `rejected` is a token WeCom just refused: it is not reused, but a newer one
        that another invocation stored meanwhile is.
        """
        key = self.settings.token_key
        cached = self._store.get(key)
        if cached is not None:
            token, expires_at = cached
            if token != rejected and expires_at - TOKEN_MARGIN > self._clock():
                return token
        body = self._call(
            "GET",
            "gettoken",
            params={"corpid": self.settings.corpid, "corpsecret": self.settings.secret},
            with_token=False,
        )
        fresh = body.get("access_token")
        if not isinstance(fresh, str) or not fresh:
            raise WeComError(t("wecom.bad_answer", api="gettoken", problem="no access_token"))
        expires_in = int(body.get("expires_in") or 7200)
        self._store.put(key, fresh, self._clock() + dt.timedelta(seconds=expires_in))
        log.info(
            "WeCom: new access token for corp %s, valid %d s", self.settings.corpid, expires_in
        )
        return fresh

    # --- the request loop -----------------------------------------------------------------

    def _call(
        self,
        method: str,
        api: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Mapping[str, Any] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        with_token: bool = True,
        userid: str | None = None,
    ) -> dict[str, Any]:
        """One API call with token, errcode check and retries; the answer's JSON on errcode 0.

        `api` is the path under the base URL (logged; never the query). `userid`
        names the advisor in a 60011 message.
        """
        url = self._base + api
        attempt = 0
        token_refreshed = False
        rejected: str | None = None
        while True:
            query: dict[str, str | int] = dict(params or {})
            token: str | None = None
            if with_token:
                token = query["access_token"] = self.access_token(rejected=rejected)
            errcode: int | None
            try:
                response = self._http.request(method, url, params=query, json=json, files=files)
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                # Some of httpx's texts carry the request's URL, and with it its query.
                text = self._scrub(str(exc), token, rejected)
                problem = type(exc).__name__ + (f": {text}" if text else "")
                errcode, errmsg, body = None, problem, None
            else:
                body, errcode, errmsg = _parse(response, api)
                if body is not None and errcode == 0:
                    return body
                # WeCom may echo the request (its query: the secret or the token) in errmsg.
                errmsg = self._scrub(errmsg, token, rejected)
            if errcode is not None:
                _log_failure(api, errcode, errmsg)
            if (
                with_token
                and not token_refreshed
                and (errcode in TOKEN_EXPIRED or errcode == 40001)
            ):
                # WeCom may revoke a token before it expires: fetch another, try once more.
                token_refreshed = True
                rejected = token
                continue
            if errcode in BACKOFF_BASE and attempt < self._max_retries:
                delay = BACKOFF_BASE[errcode] * 2**attempt
                attempt += 1
                log.info(
                    "WeCom %s: %s, retry %d/%d in %.0f s",
                    api,
                    errmsg if errcode is None else f"errcode {errcode}",
                    attempt,
                    self._max_retries,
                    delay,
                )
                self._sleep(delay)
                continue
            raise self._error(api, errcode, errmsg, attempts=attempt + 1, userid=userid)

    def _scrub(self, text: str, *tokens: str | None) -> str:
        """`text` with the secret, the robot key, `tokens` and the cached token masked, as
        they are and URL-encoded, and the value of any query parameter that carries one."""
        cached = self._store.get(self.settings.token_key)
        known = (self.settings.secret, self.settings.webhook_key, cached and cached[0], *tokens)
        for secret in known:
            if secret:
                for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
                    text = text.replace(form, "***")
        return _SECRET_PARAM.sub(r"\1***", text)

    def _error(
        self, api: str, errcode: int | None, errmsg: str, *, attempts: int, userid: str | None
    ) -> WeComError:
        hint = _hint(errmsg)
        hint_text = t("wecom.hint", hint=hint) if hint else ""
        if errcode is None:
            return WeComError(
                t(
                    "wecom.unreachable",
                    api=api,
                    problem=errmsg,
                    attempts=attempts,
                    var=ENV_BASE_URL,
                )
            )
        if errcode in BACKOFF_BASE:
            return WeComError(
                t("wecom.gave_up", api=api, errcode=errcode, attempts=attempts) + hint_text,
                errcode,
            )
        if api == "gettoken" and errcode in BAD_CREDENTIALS:
            return WeComConfigError(
                t(
                    "wecom.bad_credentials",
                    errcode=errcode,
                    corpid_var=ENV_CORPID,
                    secret_var=ENV_SECRET,
                )
                + hint_text,
                errcode,
            )
        if errcode == 60011:
            who = userid or t("wecom.some_advisor")
            return WeComConfigError(
                t("wecom.not_visible", api=api, userid=who) + hint_text, errcode
            )
        explained = _EXPLAINED.get(errcode)
        if explained is not None:
            key, error_type = explained
            ip_match = _FROM_IP.search(errmsg)
            text = t(
                key,
                api=api,
                errcode=errcode,
                ip=ip_match.group(1) if ip_match else "?",
                agentid_var=ENV_AGENTID,
                key_var=ENV_WEBHOOK_KEY,
            )
            return error_type(text + hint_text, errcode)
        if errcode in TOKEN_EXPIRED:
            return WeComError(
                t("wecom.token_rejected", api=api, errcode=errcode) + hint_text, errcode
            )
        return WeComError(
            t("wecom.failed", api=api, errcode=errcode, errmsg=_ERRMSG_TAIL.sub("", errmsg))
            + hint_text,
            errcode,
        )

    # --- customer contacts ----------------------------------------------------------------

    def follow_users(self) -> list[str]:
        """Userids with 客户联系 enabled that the app can see (`get_follow_user_list`)."""
        body = self._call("GET", "externalcontact/get_follow_user_list")
        return [str(userid) for userid in body.get("follow_user") or []]

    def external_userids(self, userid: str) -> list[str]:
        """External userids of one advisor's customers (`list`); none when WeCom says 84061."""
        try:
            body = self._call(
                "GET", "externalcontact/list", params={"userid": userid}, userid=userid
            )
        except WeComError as exc:
            if exc.errcode == NOT_EXTERNAL_CONTACT:  # WeCom's way of saying "no customers"
                return []
            raise
        return [str(e) for e in body.get("external_userid") or []]

    def contacts_by_user(self, userids: Sequence[str]) -> ContactsResult:
        """Every (advisor, contact) relation of `userids`, through `batch/get_by_user`.

        Asks for at most 100 advisors and 100 rows per call and follows
        `next_cursor` to the end. When WeCom refuses a whole batch because of some
        advisors (60011 outside the app's visibility, unknown userid, no licence),
        the batch's advisors are asked one by one so only those are reported in
        `refused`; the others are read normally. Other errors raise.
        """
        wanted = list(dict.fromkeys(userids))
        result = ContactsResult(requested=wanted)
        for start in range(0, len(wanted), MAX_USERIDS_PER_BATCH):
            batch = wanted[start : start + MAX_USERIDS_PER_BATCH]
            try:
                self._read_batch(batch, result)
            except WeComError as exc:
                if exc.errcode not in USER_REFUSED:
                    raise
                log.warning(
                    "WeCom refused a batch of %d advisors (errcode %s); asking one by one",
                    len(batch),
                    exc.errcode,
                )
                for userid in batch:
                    try:
                        self._read_batch([userid], result)
                    except WeComError as single:
                        if single.errcode == NOT_EXTERNAL_CONTACT:
                            continue  # an advisor without customers
                        if single.errcode == 701008:  # "all userids unlicensed": this one
                            if userid not in result.unlicensed:
                                result.unlicensed.append(userid)
                            continue
                        if single.errcode not in USER_REFUSED:
                            raise
                        assert single.errcode is not None
                        result.refused[userid] = single.errcode
        return result

    def _read_batch(self, batch: list[str], result: ContactsResult) -> None:
        """All pages for one batch, added to `result` only once every page was read."""
        rows: list[ContactRow] = []
        unlicensed: list[str] = []
        cursor = ""
        while True:
            body = self._call(
                "POST",
                "externalcontact/batch/get_by_user",
                json={"userid_list": batch, "cursor": cursor, "limit": MAX_USERIDS_PER_BATCH},
                userid=batch[0] if len(batch) == 1 else None,
            )
            rows.extend(_contact_row(item) for item in body.get("external_contact_list") or [])
            fail_info = body.get("fail_info") or {}
            for userid in fail_info.get("unlicensed_userid_list") or []:
                if userid not in unlicensed:
                    unlicensed.append(str(userid))
            cursor = str(body.get("next_cursor") or "")
            if not cursor:
                break
        result.contacts.extend(rows)
        result.unlicensed.extend(u for u in unlicensed if u not in result.unlicensed)

    # --- 「联系我」 ways -------------------------------------------------------------------

    def add_contact_way(self, user: str, state: str, remark: str | None = None) -> ContactWay:
        """A single-advisor QR 「联系我」 way whose adds carry `state` (≤30 ASCII characters).

        Store the returned `config_id`: it is the only way to delete the way later.
        """
        if not state or len(state) > MAX_STATE_CHARS or not state.isascii():
            raise ValueError(t("wecom.bad_state", state=state, limit=MAX_STATE_CHARS))
        if remark is not None and len(remark) > MAX_REMARK_CHARS:
            raise ValueError(t("wecom.bad_remark", limit=MAX_REMARK_CHARS))
        payload: dict[str, Any] = {
            "type": 1,
            "scene": 2,
            "style": 1,
            "skip_verify": True,
            "state": state,
            "user": [user],
        }
        if remark:
            payload["remark"] = remark
        body = self._call("POST", "externalcontact/add_contact_way", json=payload, userid=user)
        config_id, qr_code = body.get("config_id"), body.get("qr_code")
        if not isinstance(config_id, str) or not isinstance(qr_code, str):
            raise WeComError(
                t("wecom.bad_answer", api="externalcontact/add_contact_way", problem="no config_id")
            )
        return ContactWay(config_id=config_id, qr_code=qr_code)

    def del_contact_way(self, config_id: str) -> bool:
        """Delete a 「联系我」 way; False when WeCom does not know it (41044: already gone)."""
        try:
            self._call("POST", "externalcontact/del_contact_way", json={"config_id": config_id})
        except WeComError as exc:
            if exc.errcode == UNKNOWN_CONFIG_ID:
                return False
            raise
        return True

    # --- messages -------------------------------------------------------------------------

    def send_text(self, touser: Sequence[str], content: str) -> list[str]:
        """An app text message to advisors; returns the userids WeCom found invalid.

        `content` must fit in 2048 bytes (UTF-8): ValueError otherwise, so callers
        shorten it rather than WeCom cutting it. When every recipient is invalid
        (81013) all of `touser` are returned.
        """
        size = len(content.encode("utf-8"))
        if size > MAX_TEXT_BYTES:
            raise ValueError(t("wecom.too_long", what="text", size=size, limit=MAX_TEXT_BYTES))
        return self._send(touser, {"msgtype": "text", "text": {"content": content}})

    def upload_media(self, path: Path | str, type: str = "file") -> str:
        """Upload a file as temporary media (valid 3 days); its `media_id`."""
        path = Path(path)
        data = path.read_bytes()
        if len(data) > MAX_FILE_BYTES:
            raise ValueError(
                t("wecom.too_long", what=path.name, size=len(data), limit=MAX_FILE_BYTES)
            )
        body = self._call(
            "POST",
            "media/upload",
            params={"type": type},
            files={"media": (path.name, data, "application/octet-stream")},
        )
        media_id = body.get("media_id")
        if not isinstance(media_id, str) or not media_id:
            raise WeComError(t("wecom.bad_answer", api="media/upload", problem="no media_id"))
        return media_id

    def send_file(self, touser: Sequence[str], media_id: str) -> list[str]:
        """An app file message (media from `upload_media`); returns the invalid userids."""
        return self._send(touser, {"msgtype": "file", "file": {"media_id": media_id}})

    def _send(self, touser: Sequence[str], message: dict[str, Any]) -> list[str]:
        agentid = self.settings.agentid
        if agentid is None:
            raise ConfigError(t("wecom.env_missing_agentid", var=ENV_AGENTID))
        recipients = list(dict.fromkeys(touser))
        if not recipients:
            return []
        if len(recipients) > MAX_TOUSER:
            raise ValueError(
                t("wecom.too_many", what="touser", count=len(recipients), limit=MAX_TOUSER)
            )
        payload = {"touser": "|".join(recipients), "agentid": agentid, **message}
        try:
            body = self._call("POST", "message/send", json=payload)
        except WeComError as exc:
            if exc.errcode == ALL_RECIPIENTS_INVALID:
                return recipients
            raise
        # WeCom lower-cases the userids it returns; give back the caller's spelling.
        by_lower = {userid.lower(): userid for userid in recipients}
        invalid = str(body.get("invaliduser") or "")
        return [by_lower.get(u.lower(), u) for u in invalid.split("|") if u]

    def webhook_markdown(self, content: str) -> None:
        """Post markdown to the group robot of `REACTIVATE_WECOM_WEBHOOK_KEY` (≤4096 bytes)."""
        size = len(content.encode("utf-8"))
        if size > MAX_MARKDOWN_BYTES:
            raise ValueError(
                t("wecom.too_long", what="markdown", size=size, limit=MAX_MARKDOWN_BYTES)
            )
        self._webhook({"msgtype": "markdown", "markdown": {"content": content}})

    def webhook_image(self, picture: bytes) -> None:
        """Post a PNG or JPG (≤2 MB) to the group robot: base64 and the md5 of the bytes."""
        if len(picture) > MAX_IMAGE_BYTES:
            raise ValueError(
                t("wecom.too_long", what="image", size=len(picture), limit=MAX_IMAGE_BYTES)
            )
        image = {
            "base64": base64.b64encode(picture).decode("ascii"),
            "md5": hashlib.md5(picture).hexdigest(),  # a checksum WeCom asks for, not security
        }
        self._webhook({"msgtype": "image", "image": image})

    def _webhook(self, message: dict[str, Any]) -> None:
        key = self.settings.webhook_key
        if not key:
            raise ConfigError(t("wecom.env_missing_webhook", var=ENV_WEBHOOK_KEY))
        self._call("POST", "webhook/send", params={"key": key}, json=message, with_token=False)

    # --- customer transfer ----------------------------------------------------------------

    def transfer_customer(
        self,
        handover: str,
        takeover: str,
        external_userids: Sequence[str],
        *,
        resigned: bool,
        message: str | None = None,
    ) -> dict[str, int]:
        """Hand customers from `handover` to `takeover`, 100 per call; errcode per customer.

        0 means the transfer started (the takeover completes within 24 h unless the
        customer refuses); other codes (40096, 40128-40131, ...) say why not.
        `resigned` selects 离职继承 (`resigned/transfer_customer`) over 在职继承;
        `message` (≤200 chars, 在职 only) is what the customer is told.
        """
        if message is not None and len(message) > MAX_TRANSFER_MSG_CHARS:
            raise ValueError(t("wecom.too_long", what="message", size=len(message), limit=200))
        api = (
            "externalcontact/resigned/transfer_customer"
            if resigned
            else ("externalcontact/transfer_customer")
        )
        wanted = list(dict.fromkeys(external_userids))
        outcome: dict[str, int] = {}
        for start in range(0, len(wanted), MAX_TRANSFER_PER_CALL):
            chunk = wanted[start : start + MAX_TRANSFER_PER_CALL]
            payload: dict[str, Any] = {
                "handover_userid": handover,
                "takeover_userid": takeover,
                "external_userid": chunk,
            }
            if message and not resigned:
                payload["transfer_success_msg"] = message
            body = self._call("POST", api, json=payload)
            for item in body.get("customer") or []:
                outcome[str(item.get("external_userid"))] = int(item.get("errcode") or 0)
        return outcome

    def transfer_result(
        self, handover: str, takeover: str, *, resigned: bool
    ) -> Iterator[TransferStatus]:
        """The state of every customer transferred from `handover` to `takeover`, all pages."""
        api = (
            "externalcontact/resigned/transfer_result"
            if resigned
            else ("externalcontact/transfer_result")
        )
        cursor = ""
        while True:
            body = self._call(
                "POST",
                api,
                json={"handover_userid": handover, "takeover_userid": takeover, "cursor": cursor},
            )
            for item in body.get("customer") or []:
                when = item.get("takeover_time")
                yield TransferStatus(
                    external_userid=str(item.get("external_userid")),
                    status=int(item.get("status") or 0),
                    takeover_time=dt.datetime.fromtimestamp(int(when), dt.UTC) if when else None,
                )
            cursor = str(body.get("next_cursor") or "")
            if not cursor:
                return


# --- helpers ----------------------------------------------------------------------------------


def _parse(response: httpx.Response, api: str) -> tuple[dict[str, Any] | None, int | None, str]:
    """(body, errcode, errmsg); errcode None means retry-worthy (HTTP 5xx, 429)."""
    status = response.status_code
    if status >= 500 or status == 429:
        return None, None, f"HTTP {status}"
    if status != 200:
        raise WeComError(t("wecom.bad_answer", api=api, problem=f"HTTP {status}"))
    try:
        body = response.json()
    except ValueError:
        raise WeComError(t("wecom.bad_answer", api=api, problem="not JSON")) from None
    if not isinstance(body, dict):
        raise WeComError(t("wecom.bad_answer", api=api, problem="not a JSON object"))
    try:
        errcode = int(body.get("errcode") or 0)  # old answers omit errcode on success
    except (TypeError, ValueError):
        raise WeComError(t("wecom.bad_answer", api=api, problem="errcode")) from None
    return body, errcode, str(body.get("errmsg") or "")


def _hint(errmsg: str) -> str | None:
    match = _HINT.search(errmsg)
    return match.group(1) if match else None


def _log_failure(api: str, errcode: int, errmsg: str) -> None:
    ip_match = _FROM_IP.search(errmsg)
    # INFO: some codes are expected (84061 = no customers); the raised error says the rest.
    log.info(
        "WeCom %s answered errcode %d (%s) hint=%s from_ip=%s",
        api,
        errcode,
        _ERRMSG_TAIL.sub("", errmsg),
        _hint(errmsg) or "-",
        ip_match.group(1) if ip_match else "-",
    )


def _contact_row(item: Mapping[str, Any]) -> ContactRow:
    contact = item.get("external_contact") or {}
    follow = item.get("follow_info") or {}
    return ContactRow(
        userid=str(follow.get("userid") or ""),
        external_userid=str(contact.get("external_userid") or ""),
        name=str(contact.get("name") or ""),
        createtime=dt.datetime.fromtimestamp(int(follow.get("createtime") or 0), dt.UTC),
        state=str(follow["state"]) if follow.get("state") else None,
        remark_mobiles=tuple(str(m) for m in follow.get("remark_mobiles") or [] if m),
        add_way=int(follow.get("add_way") or 0),
        oper_userid=str(follow["oper_userid"]) if follow.get("oper_userid") else None,
        remark=str(follow["remark"]) if follow.get("remark") else None,
    )


class _RedactQuery(logging.Filter):
    """httpx logs each request URL at INFO; drop its query (access_token, corpsecret, key)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(a, httpx.URL) for a in record.args):
            record.args = tuple(
                a.copy_with(query=None) if isinstance(a, httpx.URL) else a for a in record.args
            )
        return True


def _install_redaction() -> None:
    httpx_log = logging.getLogger("httpx")
    if not any(isinstance(f, _RedactQuery) for f in httpx_log.filters):
        httpx_log.addFilter(_RedactQuery())


_install_redaction()
