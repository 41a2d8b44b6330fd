"""A fake WeCom server for tests: real HTTP on 127.0.0.1, a random port, one thread.

It answers the endpoints `reactivate` uses with the shapes of
`docs/wecom-api.md` (HTTP 200 with an `errcode`, `hint` and `from ip` in
errmsg), keeps state (one corp and app, advisors and their contacts, contact ways,
messages, media, transfers), and lets a test:

- expire or revoke tokens (`expire_tokens`, `invalidate_tokens`) and count
  `gettoken` calls (`gettoken_calls`);
- inject errors (`fail_next(path, errcode, times)`), dropped connections
  (`drop_next`) and slow answers (`delay_next`);
- echo each request's query string (secrets and all) in every errmsg, as some WeCom
  errors do (`echo_requests = True`);
- refuse advisors (`add_advisor(..., visible=False)` answers 60011 for any batch
  naming them, `licensed=False` lists them in `fail_info.unlicensed_userid_list`);
- inspect every request (`requests`, `requests_to(path)`) with the secrets
  (`access_token`, `corpsecret`, `key`) taken out of the recorded query.

Use the `fake_wecom` fixture: `from fake_wecom import fake_wecom  # noqa: F401`.
Paths given to the helpers are relative to `/cgi-bin/`, e.g. "externalcontact/batch/get_by_user".
"""

from __future__ import annotations

import base64
import binascii
import email.parser
import email.policy
import hashlib
import itertools
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from reactivate.wecom.client import WeComSettings

PREFIX = "/cgi-bin/"
SECRET_PARAMS = frozenset({"access_token", "corpsecret", "key"})
ERRMSG = {
    -1: "system busy",
    40001: "invalid credential",
    40003: "invalid userid",
    40013: "invalid corpid",
    40014: "invalid access_token",
    40056: "invalid agentid",
    40058: "invalid Request Parameter",
    40096: "invalid external userid",
    40097: "handover user is not resigned",
    40129: "customer is being transferred",
    40131: "handover userid is not a follower of the external contact",
    41001: "access_token missing",
    41044: "invalid config_id",
    41045: "contact way quota exceeded",
    42001: "access_token expired",
    45009: "api freq out of limit",
    45033: "api concurrent out of limit",
    48002: "api forbidden",
    60011: "no privilege to access/modify contact/party/agent",
    60020: "not allow to access from your ip",
    81013: "user & party & tag all invalid",
    84061: "not external contact",
    93000: "invalid webhook url",
    701008: "all userid unlicensed",
}


class _Drop(Exception):
    """Close the connection without answering."""


@dataclass
class FakeContact:
    """One external contact as one advisor follows it."""

    external_userid: str
    name: str
    createtime: int
    state: str = ""
    remark_mobiles: list[str] = field(default_factory=list)
    add_way: int = 1
    oper_userid: str = ""
    remark: str = ""
    type: int = 1


@dataclass
class FakeAdvisor:
    userid: str
    visible: bool = True  # within the app's visibility; else 60011
    licensed: bool = True  # else listed in fail_info.unlicensed_userid_list
    follow: bool = True  # 客户联系 enabled (listed by get_follow_user_list)
    resigned: bool = False
    contacts: list[FakeContact] = field(default_factory=list)


@dataclass(frozen=True)
class Recorded:
    """A request as the fake saw it; `query` without secrets, which `secrets` names."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    secrets: frozenset[str]


class FakeWeCom:
    """The server and its state. Thread-safe: handlers and the test share one lock."""

    corpid = "wwfakecorp0000001"
    secret = "fake-APP-secret-never-log-me-4f1c9e"
    agentid = 1000002
    webhook_key = "fake-ROBOT-key-never-log-me-8b2d"

    def __init__(self, *, token_ttl: int = 7200, contact_way_quota: int = 500_000) -> None:
        self.token_ttl = token_ttl
        self.contact_way_quota = contact_way_quota
        self.transfer_page_size = 1000
        self.webhook_per_minute = 20
        self.echo_requests = False
        self._query = ""  # the raw query of the request being answered, for the echo
        self.advisors: dict[str, FakeAdvisor] = {}
        self.tokens: dict[str, float] = {}  # token -> monotonic expiry
        self.requests: list[Recorded] = []
        self.contact_ways: dict[str, dict[str, Any]] = {}
        self.messages: list[dict[str, Any]] = []
        self.webhook_messages: list[dict[str, Any]] = []
        self.media: dict[str, tuple[str, bytes]] = {}
        self.transfers: dict[str, dict[str, Any]] = {}  # external_userid -> transfer
        self._failures: dict[str, list[list[Any]]] = {}
        self._drops: dict[str, int] = {}
        self._delays: dict[str, float] = {}
        self._webhook_times: list[float] = []
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self._server = _Server(("127.0.0.1", 0), _handler_for(self))
        self.port = self._server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/cgi-bin"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # --- life ---------------------------------------------------------------------------

    def start(self) -> FakeWeCom:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def settings(self, **overrides: Any) -> WeComSettings:
        """Client settings pointing at this fake, with the right credentials."""
        values: dict[str, Any] = {
            "base_url": self.base_url,
            "corpid": self.corpid,
            "secret": self.secret,
            "agentid": self.agentid,
            "webhook_key": self.webhook_key,
        }
        values.update(overrides)
        return WeComSettings(**values)

    def env(self) -> dict[str, str]:
        """`REACTIVATE_WECOM_*` variables pointing at this fake (for CLI tests)."""
        return {
            "REACTIVATE_WECOM_BASE_URL": self.base_url,
            "REACTIVATE_WECOM_CORPID": self.corpid,
            "REACTIVATE_WECOM_SECRET": self.secret,
            "REACTIVATE_WECOM_AGENTID": str(self.agentid),
            "REACTIVATE_WECOM_WEBHOOK_KEY": self.webhook_key,
        }

    # --- state set-up -------------------------------------------------------------------

    def add_advisor(
        self,
        userid: str,
        *,
        visible: bool = True,
        licensed: bool = True,
        follow: bool = True,
        resigned: bool = False,
    ) -> FakeAdvisor:
        with self._lock:
            advisor = FakeAdvisor(userid, visible, licensed, follow, resigned)
            self.advisors[userid] = advisor
            return advisor

    def add_contact(
        self,
        userid: str,
        external_userid: str | None = None,
        *,
        name: str = "客户",
        state: str = "",
        remark_mobiles: list[str] | tuple[str, ...] = (),
        add_way: int = 1,
        createtime: int | None = None,
        oper_userid: str | None = None,
        remark: str = "",
    ) -> str:
        """Make `external_userid` (generated when None) a contact of advisor `userid`."""
        with self._lock:
            advisor = self.advisors.get(userid) or self.add_advisor(userid)
            external_userid = external_userid or f"wmFAKE{next(self._ids):08d}AAA"
            advisor.contacts.append(
                FakeContact(
                    external_userid=external_userid,
                    name=name,
                    createtime=int(time.time()) if createtime is None else createtime,
                    state=state,
                    remark_mobiles=list(remark_mobiles),
                    add_way=add_way,
                    oper_userid=oper_userid or (external_userid if add_way == 1 else userid),
                    remark=remark,
                )
            )
            return external_userid

    def remove_contact(self, userid: str, external_userid: str) -> None:
        """The customer deleted the advisor (churn)."""
        with self._lock:
            advisor = self.advisors[userid]
            advisor.contacts = [c for c in advisor.contacts if c.external_userid != external_userid]

    def set_transfer_status(
        self, external_userid: str, status: int, takeover_time: int | None = None
    ) -> None:
        with self._lock:
            transfer = self.transfers[external_userid]
            transfer["status"] = status
            if takeover_time is not None:
                transfer["takeover_time"] = takeover_time

    # --- tokens and faults --------------------------------------------------------------

    def expire_tokens(self) -> None:
        """Every issued token is now expired: calls answer 42001 until a new gettoken."""
        with self._lock:
            for token in self.tokens:
                self.tokens[token] = 0.0

    def invalidate_tokens(self) -> None:
        """Every issued token is revoked: calls answer 40014 until a new gettoken."""
        with self._lock:
            self.tokens.clear()

    def fail_next(self, path: str, errcode: int, times: int = 1, errmsg: str | None = None) -> None:
        """The next `times` calls to `path` answer `errcode` (queued after earlier faults)."""
        with self._lock:
            self._failures.setdefault(path, []).append([errcode, times, errmsg])

    def drop_next(self, path: str, times: int = 1) -> None:
        """The next `times` calls to `path` get the connection closed without an answer."""
        with self._lock:
            self._drops[path] = self._drops.get(path, 0) + times

    def delay_next(self, path: str, seconds: float) -> None:
        """The next call to `path` answers only after `seconds` (to provoke client timeouts)."""
        with self._lock:
            self._delays[path] = seconds

    @property
    def gettoken_calls(self) -> int:
        """How many times `gettoken` was called (injected failures included)."""
        return len(self.requests_to("gettoken"))

    def requests_to(self, path: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    # --- dispatch -----------------------------------------------------------------------

    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], raw_body: bytes
    ) -> tuple[int, dict[str, Any]]:
        parts = urlsplit(raw_path)
        if not parts.path.startswith(PREFIX):
            return 404, {"error": "not found"}
        path = parts.path[len(PREFIX) :]
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        content_type = headers.get("content-type", "")
        body: Any = None
        if raw_body and content_type.startswith("application/json"):
            try:
                body = json.loads(raw_body)
            except ValueError:
                return 200, self._error(40058, "Warning: wrong json format.")
        elif raw_body and content_type.startswith("multipart/form-data"):
            body = _multipart(content_type, raw_body)
        with self._lock:
            self._query = parts.query
            self.requests.append(
                Recorded(
                    method=method,
                    path=path,
                    query={k: v for k, v in query.items() if k not in SECRET_PARAMS},
                    body=_describe(body),
                    secrets=frozenset(k for k in query if k in SECRET_PARAMS),
                )
            )
            delay = self._delays.pop(path, 0.0)
            if self._drops.get(path):
                self._drops[path] -= 1
                raise _Drop
            injected = self._injected(path)
        if delay:
            time.sleep(delay)
        if injected is not None:
            return 200, injected
        handler = _ROUTES.get((method, path))
        if handler is None:
            return 404, {"errcode": 404, "errmsg": f"no such fake api {path}"}
        with self._lock:
            self._query = parts.query
            if handler is not FakeWeCom._gettoken and handler is not FakeWeCom._webhook_send:
                refused = self._check_token(query.get("access_token"))
                if refused is not None:
                    return 200, refused
            return 200, handler(self, query, body)

    def _injected(self, path: str) -> dict[str, Any] | None:
        queue = self._failures.get(path)
        if not queue:
            return None
        errcode, times, errmsg = queue[0]
        if times <= 1:
            queue.pop(0)
        else:
            queue[0][1] = times - 1
        return self._error(errcode, errmsg)

    def _error(self, errcode: int, errmsg: str | None = None, **extra: Any) -> dict[str, Any]:
        text = errmsg or ERRMSG.get(errcode, "error")
        if self.echo_requests:
            text = f"{text}, request: {PREFIX}?{self._query}"
        hint = f"{int(time.time())}-{uuid.uuid4().hex[:8]}"
        return {
            "errcode": errcode,
            "errmsg": f"{text}, hint: [{hint}], from ip: 127.0.0.1, "
            f"more info at https://open.work.weixin.qq.com/devtool/query?e={errcode}",
            **extra,
        }

    def _check_token(self, token: str | None) -> dict[str, Any] | None:
        if not token:
            return self._error(41001)
        expiry = self.tokens.get(token)
        if expiry is None:
            return self._error(40014)
        if expiry <= time.monotonic():
            return self._error(42001)
        return None

    def _advisor_refusal(self, userid: str) -> dict[str, Any] | None:
        advisor = self.advisors.get(userid)
        if advisor is None:
            return self._error(40003)
        if not advisor.visible:
            return self._error(60011)
        return None

    # --- endpoints ----------------------------------------------------------------------

    def _gettoken(self, query: dict[str, str], _body: Any) -> dict[str, Any]:
        if query.get("corpid") != self.corpid:
            return self._error(40013)
        if query.get("corpsecret") != self.secret:
            return self._error(40001)
        now = time.monotonic()
        for token, expiry in self.tokens.items():
            if expiry > now:  # "有效期内重复获取返回相同结果"
                return _ok(access_token=token, expires_in=int(expiry - now))
        token = f"faketoken{next(self._ids):06d}{uuid.uuid4().hex}"
        self.tokens[token] = now + self.token_ttl
        return _ok(access_token=token, expires_in=self.token_ttl)

    def _follow_user_list(self, _query: dict[str, str], _body: Any) -> dict[str, Any]:
        users = [a.userid for a in self.advisors.values() if a.follow and a.visible]
        return _ok(follow_user=users)

    def _list(self, query: dict[str, str], _body: Any) -> dict[str, Any]:
        userid = query.get("userid", "")
        refused = self._advisor_refusal(userid)
        if refused is not None:
            return refused
        contacts = self.advisors[userid].contacts
        if not contacts:
            return self._error(84061)  # WeCom's answer for "no customers", not []
        return _ok(external_userid=[c.external_userid for c in contacts])

    def _batch_get_by_user(self, _query: dict[str, str], body: Any) -> dict[str, Any]:
        body = body or {}
        userids = body.get("userid_list")
        if not isinstance(userids, list) or not 1 <= len(userids) <= 100:
            return self._error(40058, "userid_list must hold 1-100 userids")
        for userid in userids:
            refused = self._advisor_refusal(userid)
            if refused is not None:
                return refused  # the whole batch fails, as WeCom does
        licensed = [u for u in userids if self.advisors[u].licensed]
        unlicensed = [u for u in userids if not self.advisors[u].licensed]
        if not licensed:
            return self._error(701008)
        limit = int(body.get("limit") or 50)
        limit = max(1, min(limit, 100))
        cursor = str(body.get("cursor") or "")
        offset = int(cursor.removeprefix("CUR")) if cursor else 0
        rows = [
            _batch_row(userid, contact)
            for userid in licensed
            for contact in self.advisors[userid].contacts
        ]
        page = rows[offset : offset + limit]
        more = offset + limit < len(rows)
        answer = _ok(external_contact_list=page, next_cursor=f"CUR{offset + limit}" if more else "")
        if unlicensed:
            answer["fail_info"] = {"unlicensed_userid_list": unlicensed}
        return answer

    def _add_contact_way(self, _query: dict[str, str], body: Any) -> dict[str, Any]:
        body = body or {}
        users = body.get("user") or []
        if body.get("type") != 1 or len(users) != 1 or body.get("scene") not in (1, 2):
            return self._error(40058, "type 1 needs exactly one user and scene 1 or 2")
        refused = self._advisor_refusal(users[0])
        if refused is not None:
            return refused
        state = body.get("state") or ""
        if len(state) > 30 or len(body.get("remark") or "") > 30:
            return self._error(40058, "state or remark longer than 30 characters")
        if len(self.contact_ways) >= self.contact_way_quota:
            return self._error(41045)
        config_id = uuid.uuid4().hex
        self.contact_ways[config_id] = {"user": users[0], "state": state, **body}
        return _ok(config_id=config_id, qr_code=f"https://wework.qpic.cn/wwpic/fake/{config_id}/0")

    def _del_contact_way(self, _query: dict[str, str], body: Any) -> dict[str, Any]:
        config_id = (body or {}).get("config_id")
        if config_id not in self.contact_ways:
            return self._error(41044)
        del self.contact_ways[config_id]
        return _ok()

    def _message_send(self, _query: dict[str, str], body: Any) -> dict[str, Any]:
        body = body or {}
        if body.get("agentid") != self.agentid:
            return self._error(40056)
        msgtype = body.get("msgtype")
        if msgtype == "text":
            content = (body.get("text") or {}).get("content") or ""
            if len(content.encode("utf-8")) > 2048:
                return self._error(40058, "text.content exceed max length 2048")
        elif msgtype == "file":
            if (body.get("file") or {}).get("media_id") not in self.media:
                return self._error(40007, "invalid media_id")
        else:
            return self._error(40008, "invalid message type")
        touser = [u for u in str(body.get("touser") or "").split("|") if u]
        if len(touser) > 1000:
            return self._error(40058, "touser exceeds 1000")
        valid = [u for u in touser if u in self.advisors and self.advisors[u].visible]
        invalid = [u.lower() for u in touser if u not in valid]
        if not valid:
            return self._error(81013)
        self.messages.append({**body, "delivered_to": valid})
        return _ok(
            invaliduser="|".join(invalid),
            invalidparty="",
            invalidtag="",
            unlicenseduser="",
            msgid=f"msg{next(self._ids)}",
            response_code="",
        )

    def _media_upload(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        media_type = query.get("type")
        if media_type not in ("image", "voice", "video", "file"):
            return self._error(40004, "invalid media type")
        if not isinstance(body, dict) or "media" not in body:
            return self._error(41005, "media data missing")
        filename, data = body["media"]
        if len(data) < 5:
            return self._error(40006, "invalid file size")
        media_id = f"3fake{uuid.uuid4().hex}"
        self.media[media_id] = (filename, data)
        return _ok(type=media_type, media_id=media_id, created_at=str(int(time.time())))

    def _webhook_send(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        if query.get("key") != self.webhook_key:
            return self._error(93000)
        body = body or {}
        if body.get("msgtype") == "markdown":
            content = (body.get("markdown") or {}).get("content") or ""
            if len(content.encode("utf-8")) > 4096:
                return self._error(40058, "markdown.content exceed max length 4096")
        if body.get("msgtype") == "image":
            refused = _image_refusal(body.get("image") or {})
            if refused:
                return self._error(40058, refused)
        now = time.monotonic()
        self._webhook_times = [t for t in self._webhook_times if now - t < 60]
        if len(self._webhook_times) >= self.webhook_per_minute:
            return self._error(45009)
        self._webhook_times.append(now)
        self.webhook_messages.append(body)
        return _ok()

    def _transfer_customer(self, body: Any, *, resigned: bool) -> dict[str, Any]:
        body = body or {}
        handover, takeover = body.get("handover_userid"), body.get("takeover_userid")
        externals = body.get("external_userid") or []
        if not isinstance(externals, list) or not 1 <= len(externals) <= 100:
            return self._error(40058, "external_userid must hold 1-100 ids")
        for userid in (handover, takeover):
            refused = self._advisor_refusal(str(userid))
            if refused is not None:
                return refused
        if resigned and not self.advisors[handover].resigned:
            return self._error(40097)
        known = {c.external_userid for a in self.advisors.values() for c in a.contacts}
        followed = {c.external_userid for c in self.advisors[handover].contacts}
        customers = []
        for external in externals:
            if external not in known:
                code = 40096
            elif external not in followed:
                code = 40131
            elif self.transfers.get(external, {}).get("status") == 2:
                code = 40129
            else:
                code = 0
                self.transfers[external] = {
                    "handover": handover,
                    "takeover": takeover,
                    "resigned": resigned,
                    "status": 2,
                    "takeover_time": int(time.time()) + 86400,
                }
            customers.append({"external_userid": external, "errcode": code})
        return _ok(customer=customers)

    def _transfer_result(self, body: Any, *, resigned: bool) -> dict[str, Any]:
        body = body or {}
        rows = [
            {
                "external_userid": external,
                "status": t["status"],
                "takeover_time": t["takeover_time"],
            }
            for external, t in self.transfers.items()
            if t["handover"] == body.get("handover_userid")
            and t["takeover"] == body.get("takeover_userid")
            and t["resigned"] == resigned
        ]
        cursor = str(body.get("cursor") or "")
        offset = int(cursor.removeprefix("TR")) if cursor else 0
        size = self.transfer_page_size
        more = offset + size < len(rows)
        return _ok(
            customer=rows[offset : offset + size], next_cursor=f"TR{offset + size}" if more else ""
        )


def _image_refusal(image: dict[str, Any]) -> str | None:
    """Why WeCom would refuse a robot's image message: base64 of a JPG or PNG of at most
    2 MB, with the md5 of the bytes before encoding."""
    try:
        data = base64.b64decode(str(image.get("base64") or ""), validate=True)
    except binascii.Error:
        return "image.base64 is not base64"
    if not data or len(data) > 2 * 1024 * 1024:
        return "image size must be 1 byte to 2 MB"
    if not data.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")):
        return "image must be JPG or PNG"
    if image.get("md5") != hashlib.md5(data).hexdigest():
        return "image.md5 does not match the image"
    return None


def _ok(**fields: Any) -> dict[str, Any]:
    return {"errcode": 0, "errmsg": "ok", **fields}


def _batch_row(userid: str, contact: FakeContact) -> dict[str, Any]:
    return {
        "external_contact": {
            "external_userid": contact.external_userid,
            "name": contact.name,
            "type": contact.type,
            "gender": 0,
        },
        "follow_info": {
            "userid": userid,
            "remark": contact.remark,
            "description": "",
            "createtime": contact.createtime,
            "tag_id": [],
            "remark_corp_name": "",
            "remark_mobiles": contact.remark_mobiles,
            "oper_userid": contact.oper_userid,
            "add_way": contact.add_way,
            "state": contact.state,
        },
    }


def _multipart(content_type: str, raw: bytes) -> dict[str, tuple[str, bytes]]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw
    )
    parts: dict[str, tuple[str, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        parts[str(name)] = (part.get_filename() or "", data)
    return parts


def _describe(body: Any) -> Any:
    """What `Recorded.body` keeps: JSON as is; uploads as name, filename and size."""
    if isinstance(body, dict) and all(isinstance(v, tuple) for v in body.values()) and body:
        return {name: {"filename": f, "size": len(d)} for name, (f, d) in body.items()}
    return body


_ROUTES: dict[tuple[str, str], Any] = {
    ("GET", "gettoken"): FakeWeCom._gettoken,
    ("GET", "externalcontact/get_follow_user_list"): FakeWeCom._follow_user_list,
    ("GET", "externalcontact/list"): FakeWeCom._list,
    ("POST", "externalcontact/batch/get_by_user"): FakeWeCom._batch_get_by_user,
    ("POST", "externalcontact/add_contact_way"): FakeWeCom._add_contact_way,
    ("POST", "externalcontact/del_contact_way"): FakeWeCom._del_contact_way,
    ("POST", "message/send"): FakeWeCom._message_send,
    ("POST", "media/upload"): FakeWeCom._media_upload,
    ("POST", "webhook/send"): FakeWeCom._webhook_send,
    ("POST", "externalcontact/transfer_customer"): lambda f, q, b: f._transfer_customer(
        b, resigned=False
    ),
    ("POST", "externalcontact/resigned/transfer_customer"): lambda f, q, b: f._transfer_customer(
        b, resigned=True
    ),
    ("POST", "externalcontact/transfer_result"): lambda f, q, b: f._transfer_result(
        b, resigned=False
    ),
    ("POST", "externalcontact/resigned/transfer_result"): lambda f, q, b: f._transfer_result(
        b, resigned=True
    ),
}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out closes its socket before a delayed answer: expected.
        pass


def _handler_for(fake: FakeWeCom) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                status, answer = fake.handle(method, self.path, headers, raw)
            except _Drop:
                self.close_connection = True
                return
            data = json.dumps(answer, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self._serve("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._serve("POST")

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # quiet; and the request line carries the token

    return Handler


@pytest.fixture
def fake_wecom() -> Iterator[FakeWeCom]:
    """A running fake WeCom; stopped at teardown."""
    fake = FakeWeCom().start()
    try:
        yield fake
    finally:
        fake.stop()
