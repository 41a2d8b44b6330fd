"""The WeCom client against the fake server over real sockets (MockTransport for odd answers)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fake_wecom import FakeWeCom, fake_wecom  # noqa: F401
from sqlalchemy import select

from reactivate.db.engine import open_engine
from reactivate.db.models import WECOM_TOKENS
from reactivate.errors import ConfigError, WeComConfigError, WeComError
from reactivate.wecom.client import WeComClient, WeComSettings
from reactivate.wecom.tokens import DatabaseTokenStore, MemoryTokenStore

BATCH = "externalcontact/batch/get_by_user"


class Sleeps(list[float]):
    """A `sleep` that records the delays instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def client(fake_wecom: FakeWeCom, sleeps: Sleeps) -> Iterator[WeComClient]:  # noqa: F811
    with WeComClient(fake_wecom.settings(), MemoryTokenStore(), sleep=sleeps) as wecom:
        yield wecom


# --- settings -----------------------------------------------------------------------------------


def test_settings_from_env() -> None:
    settings = WeComSettings.from_env(
        {
            "REACTIVATE_WECOM_CORPID": "ww1",
            "REACTIVATE_WECOM_SECRET": "s3cret-value",
            "REACTIVATE_WECOM_AGENTID": "1000002",
            "REACTIVATE_WECOM_WEBHOOK_KEY": "robot-key-value",
        }
    )
    assert settings.base_url == "https://qyapi.weixin.qq.com/cgi-bin"
    assert (settings.corpid, settings.agentid) == ("ww1", 1000002)
    assert "s3cret-value" not in repr(settings)
    assert "robot-key-value" not in repr(settings)
    assert "s3cret-value" not in settings.token_key
    assert settings.token_key.startswith("ww1:")


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"REACTIVATE_WECOM_SECRET": "x"}, "REACTIVATE_WECOM_CORPID"),
        (
            {"REACTIVATE_WECOM_CORPID": "ww1", "REACTIVATE_WECOM_SECRET": " "},
            "REACTIVATE_WECOM_SECRET",
        ),
        (
            {
                "REACTIVATE_WECOM_CORPID": "ww1",
                "REACTIVATE_WECOM_SECRET": "x",
                "REACTIVATE_WECOM_AGENTID": "app",
            },
            "REACTIVATE_WECOM_AGENTID",
        ),
    ],
)
def test_settings_errors_name_the_variable(environ: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        WeComSettings.from_env(environ)


def test_token_key_differs_per_app() -> None:
    one = WeComSettings(corpid="ww1", secret="app-one")
    two = WeComSettings(corpid="ww1", secret="app-two")
    assert one.token_key != two.token_key


# --- token --------------------------------------------------------------------------------------


def test_token_cached_across_clients_sharing_a_store(fake_wecom: FakeWeCom) -> None:  # noqa: F811
    fake_wecom.add_advisor("zhang")
    store = MemoryTokenStore()
    for _ in range(2):
        with WeComClient(fake_wecom.settings(), store) as wecom:
            assert wecom.follow_users() == ["zhang"]
            assert wecom.follow_users() == ["zhang"]
    assert fake_wecom.gettoken_calls == 1
    assert len(fake_wecom.requests_to("externalcontact/get_follow_user_list")) == 4


def test_token_refetched_shortly_before_expiry(fake_wecom: FakeWeCom) -> None:  # noqa: F811
    store = MemoryTokenStore()
    now = dt.datetime(2024, 5, 1, 9, 0, tzinfo=dt.UTC)
    settings = fake_wecom.settings()
    store.put(settings.token_key, "old-token", now + dt.timedelta(seconds=200))
    with WeComClient(settings, store, clock=lambda: now) as wecom:
        wecom.follow_users()
    assert fake_wecom.gettoken_calls == 1  # 200 s left is inside the 300 s margin
    token, expires_at = store.get(settings.token_key) or ("", now)
    assert token != "old-token"
    assert expires_at == now + dt.timedelta(seconds=7200)


@pytest.mark.parametrize("how", ["expire", "invalidate", "40001"])
def test_rejected_token_is_refetched_and_call_retried_once(
    fake_wecom: FakeWeCom,  # noqa: F811
    client: WeComClient,
    sleeps: Sleeps,
    how: str,
) -> None:
    fake_wecom.add_advisor("zhang")
    client.follow_users()
    if how == "expire":
        fake_wecom.expire_tokens()
    elif how == "invalidate":
        fake_wecom.invalidate_tokens()
    else:
        fake_wecom.fail_next("externalcontact/get_follow_user_list", 40001)
    assert client.follow_users() == ["zhang"]
    assert fake_wecom.gettoken_calls == 2
    assert len(fake_wecom.requests_to("externalcontact/get_follow_user_list")) == 3
    assert sleeps == []


def test_token_rejected_twice_is_an_error(fake_wecom: FakeWeCom, client: WeComClient) -> None:  # noqa: F811
    fake_wecom.fail_next("externalcontact/get_follow_user_list", 42001, times=2)
    with pytest.raises(WeComError) as caught:
        client.follow_users()
    assert caught.value.errcode == 42001
    assert len(fake_wecom.requests_to("externalcontact/get_follow_user_list")) == 2
    assert fake_wecom.gettoken_calls == 2


@pytest.mark.parametrize(
    ("override", "errcode", "variable"),
    [
        ({"secret": "wrong-secret-value"}, 40001, "REACTIVATE_WECOM_SECRET"),
        ({"corpid": "wwnotmine"}, 40013, "REACTIVATE_WECOM_CORPID"),
    ],
)
def test_bad_credentials_are_config_errors_saying_what_to_check(
    fake_wecom: FakeWeCom,  # noqa: F811
    sleeps: Sleeps,
    override: dict[str, str],
    errcode: int,
    variable: str,
) -> None:
    with WeComClient(fake_wecom.settings(**override), MemoryTokenStore(), sleep=sleeps) as wecom:
        with pytest.raises(WeComConfigError) as caught:
            wecom.follow_users()
    message = str(caught.value)
    assert caught.value.errcode == errcode
    assert variable in message and "可调用接口的应用" in message
    assert "WeCom hint:" in message
    assert "wrong-secret-value" not in message
    assert fake_wecom.gettoken_calls == 1  # fail fast: no retry, no hammering gettoken
    assert sleeps == []


def test_missing_errcode_counts_as_success() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/gettoken"):
            return httpx.Response(200, json={"access_token": "tok", "expires_in": 7200})
        return httpx.Response(200, json={"follow_user": ["a"]})

    settings = WeComSettings(base_url="https://wecom.test/cgi-bin", corpid="ww1", secret="s")
    with WeComClient(settings, MemoryTokenStore(), transport=httpx.MockTransport(answer)) as wecom:
        assert wecom.follow_users() == ["a"]


# --- retries ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("errcode", "delays"), [(-1, [1.0, 2.0]), (45033, [2.0, 4.0]), (45009, [10.0, 20.0])]
)
def test_busy_and_rate_limits_back_off_then_succeed(
    fake_wecom: FakeWeCom,  # noqa: F811
    client: WeComClient,
    sleeps: Sleeps,
    errcode: int,
    delays: list[float],
) -> None:
    fake_wecom.add_contact("zhang")
    fake_wecom.fail_next(BATCH, errcode, times=2)
    result = client.contacts_by_user(["zhang"])
    assert len(result.contacts) == 1
    assert sleeps == delays
    assert len(fake_wecom.requests_to(BATCH)) == 3


def test_gives_up_after_max_retries(
    fake_wecom: FakeWeCom,  # noqa: F811
    client: WeComClient,
    sleeps: Sleeps,
) -> None:
    fake_wecom.fail_next("externalcontact/get_follow_user_list", -1, times=10)
    with pytest.raises(WeComError) as caught:
        client.follow_users()
    assert caught.value.errcode == -1
    assert sleeps == [1.0, 2.0, 4.0]
    assert len(fake_wecom.requests_to("externalcontact/get_follow_user_list")) == 4
    assert "4 attempts" in str(caught.value) and "WeCom hint:" in str(caught.value)


def test_dropped_connection_is_retried(
    fake_wecom: FakeWeCom,  # noqa: F811
    client: WeComClient,
    sleeps: Sleeps,
) -> None:
    fake_wecom.add_advisor("zhang")
    fake_wecom.drop_next("externalcontact/get_follow_user_list")
    assert client.follow_users() == ["zhang"]
    assert sleeps == [1.0]


def test_timeout_is_retried(fake_wecom: FakeWeCom, sleeps: Sleeps) -> None:  # noqa: F811
    fake_wecom.add_advisor("zhang")
    fake_wecom.delay_next("externalcontact/get_follow_user_list", 0.5)
    settings = fake_wecom.settings()
    with WeComClient(settings, MemoryTokenStore(), sleep=sleeps, timeout=0.1) as wecom:
        assert wecom.follow_users() == ["zhang"]
    assert sleeps == [1.0]


def test_unreachable_host_is_a_wecom_error(sleeps: Sleeps) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = WeComSettings(base_url=f"http://127.0.0.1:{port}/cgi-bin", corpid="ww", secret="s")
    with WeComClient(settings, MemoryTokenStore(), sleep=sleeps, max_retries=2) as wecom:
        with pytest.raises(WeComError, match="REACTIVATE_WECOM_BASE_URL") as caught:
            wecom.follow_users()
    assert caught.value.errcode is None
    assert sleeps == [1.0, 2.0]


def test_http_5xx_retried_and_non_json_is_an_error(sleeps: Sleeps) -> None:
    answers = iter(
        [
            httpx.Response(200, json={"errcode": 0, "access_token": "tok", "expires_in": 7200}),
            httpx.Response(502),
            httpx.Response(200, text="<html>proxy</html>"),
        ]
    )
    settings = WeComSettings(base_url="https://wecom.test/cgi-bin", corpid="ww1", secret="s")
    transport = httpx.MockTransport(lambda request: next(answers))
    with WeComClient(settings, MemoryTokenStore(), transport=transport, sleep=sleeps) as wecom:
        with pytest.raises(WeComError, match="not JSON"):
            wecom.follow_users()
    assert sleeps == [1.0]


# --- configuration errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("errcode", "expected"),
    [
        (48002, "可调用接口的应用"),
        (60020, "127.0.0.1"),
        (60020, "企业可信IP"),
        (41001, "bug"),
    ],
)
def test_config_faults_say_what_to_do(
    fake_wecom: FakeWeCom,  # noqa: F811
    client: WeComClient,
    errcode: int,
    expected: str,
) -> None:
    fake_wecom.fail_next("externalcontact/get_follow_user_list", errcode)
    with pytest.raises(WeComConfigError) as caught:
        client.follow_users()
    assert caught.value.errcode == errcode
    assert expected in str(caught.value)
    assert "WeCom hint:" in str(caught.value)


def test_advisor_outside_visibility_is_named(fake_wecom: FakeWeCom, client: WeComClient) -> None:  # noqa: F811
    fake_wecom.add_advisor("hidden.wang", visible=False)
    with pytest.raises(WeComConfigError, match="hidden.wang.*可见范围"):
        client.add_contact_way("hidden.wang", "rc1-x")


def test_secrets_never_in_messages_reprs_or_logs(
    fake_wecom: FakeWeCom,  # noqa: F811
    sleeps: Sleeps,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    fake_wecom.add_contact("zhang")
    store = MemoryTokenStore()
    raised: list[str] = []
    with WeComClient(fake_wecom.settings(), store, sleep=sleeps) as wecom:
        fake_wecom.fail_next(BATCH, -1)
        fake_wecom.fail_next("externalcontact/get_follow_user_list", 60020)
        wecom.contacts_by_user(["zhang"])
        try:
            wecom.follow_users()
        except WeComError as exc:
            raised.append(str(exc))
        fake_wecom.expire_tokens()
        wecom.webhook_markdown("**hello**")
        wecom.send_text(["zhang"], "hi")
        raised.append(repr(wecom))
    with WeComClient(
        fake_wecom.settings(secret="a-wrong-secret-xyz"), MemoryTokenStore(), sleep=sleeps
    ) as wecom:
        try:
            wecom.follow_users()
        except WeComError as exc:
            raised.append(str(exc))
    tokens = list(fake_wecom.tokens)
    assert tokens and "HTTP Request" in caplog.text  # httpx did log its requests
    assert "hint=" in caplog.text and "from_ip=127.0.0.1" in caplog.text
    everything = caplog.text + "\n".join(raised) + repr(store)
    for secret in [fake_wecom.secret, fake_wecom.webhook_key, "a-wrong-secret-xyz", *tokens]:
        assert secret not in everything


# --- contacts -----------------------------------------------------------------------------------


def test_follow_users_and_84061_means_no_customers(
    fake_wecom: FakeWeCom,  # noqa: F811
    client: WeComClient,
) -> None:
    fake_wecom.add_advisor("empty")
    external = fake_wecom.add_contact("busy")
    assert client.follow_users() == ["empty", "busy"]
    assert client.external_userids("empty") == []
    assert client.external_userids("busy") == [external]


def test_contacts_paginate_over_several_pages(fake_wecom: FakeWeCom, client: WeComClient) -> None:  # noqa: F811
    for i in range(230):
        fake_wecom.add_contact("zhang", f"wm{i:04d}", createtime=1_600_000_000 + i)
    fake_wecom.add_contact(
        "li",
        "woSTATE",
        name="李四",
        state="rc7-k3x9",
        remark_mobiles=["13800000001"],
        add_way=2,
        createtime=1_700_000_000,
        remark="李部长",
    )
    result = client.contacts_by_user(["zhang", "li"])
    assert len(result.contacts) == 231
    assert len({row.external_userid for row in result.contacts}) == 231
    calls = fake_wecom.requests_to(BATCH)
    assert [c.body["cursor"] for c in calls] == ["", "CUR100", "CUR200"]
    assert all(c.body["limit"] == 100 for c in calls)
    row = next(r for r in result.contacts if r.external_userid == "woSTATE")
    assert row.userid == "li" and row.name == "李四" and row.state == "rc7-k3x9"
    assert row.remark_mobiles == ("13800000001",) and row.add_way == 2
    assert row.oper_userid == "li" and row.remark == "李部长"
    assert row.createtime == dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.UTC)
    assert result.complete_userids == ["zhang", "li"]


def test_more_than_100_advisors_are_chunked(fake_wecom: FakeWeCom, client: WeComClient) -> None:  # noqa: F811
    userids = [f"adv{i:03d}" for i in range(230)]
    for userid in userids:
        fake_wecom.add_contact(userid)
    result = client.contacts_by_user(userids + userids[:5])  # duplicates asked once
    assert len(result.contacts) == 230
    sizes = [len(c.body["userid_list"]) for c in fake_wecom.requests_to(BATCH)]
    assert sizes == [100, 100, 30]
    asked = [u for c in fake_wecom.requests_to(BATCH) for u in c.body["userid_list"]]
    assert sorted(set(asked)) == userids


def test_refused_and_unlicensed_advisors_are_reported_not_fatal(
    fake_wecom: FakeWeCom,  # noqa: F811
    client: WeComClient,
) -> None:
    fake_wecom.add_contact("ok1")
    fake_wecom.add_contact("ok2")
    fake_wecom.add_advisor("hidden", visible=False)
    fake_wecom.add_contact("hidden")
    fake_wecom.add_advisor("nolicence", licensed=False)
    result = client.contacts_by_user(["ok1", "hidden", "nolicence", "ok2", "ghost"])
    assert {row.userid for row in result.contacts} == {"ok1", "ok2"}
    assert result.refused == {"hidden": 60011, "ghost": 40003}
    assert result.unlicensed == ["nolicence"]
    assert result.complete_userids == ["ok1", "ok2"]
    # the whole batch was refused once, then each advisor was asked alone
    lists = [c.body["userid_list"] for c in fake_wecom.requests_to(BATCH)]
    assert lists[0] == ["ok1", "hidden", "nolicence", "ok2", "ghost"]
    assert lists[1:] == [["ok1"], ["hidden"], ["nolicence"], ["ok2"], ["ghost"]]


def test_unlicensed_listed_in_fail_info(fake_wecom: FakeWeCom, client: WeComClient) -> None:  # noqa: F811
    fake_wecom.add_contact("ok")
    fake_wecom.add_advisor("nolicence", licensed=False)
    result = client.contacts_by_user(["ok", "nolicence"])
    assert result.unlicensed == ["nolicence"]
    assert len(fake_wecom.requests_to(BATCH)) == 1


# --- contact ways -------------------------------------------------------------------------------


def test_contact_way_added_and_deleted(fake_wecom: FakeWeCom, client: WeComClient) -> None:  # noqa: F811
    fake_wecom.add_advisor("zhang")
    way = client.add_contact_way("zhang", "rc7-k3x9", remark="2020H2")
    assert way.qr_code.startswith("https://")
    sent = fake_wecom.contact_ways[way.config_id]
    assert sent["user"] == ["zhang"] and sent["state"] == "rc7-k3x9" and sent["type"] == 1
    assert client.del_contact_way(way.config_id) is True
    assert client.del_contact_way(way.config_id) is False  # 41044: already gone
    assert fake_wecom.contact_ways == {}


@pytest.mark.parametrize("state", ["", "x" * 31, "活动-1"])
def test_contact_way_state_validated_before_sending(
    fake_wecom: FakeWeCom,  # noqa: F811
    client: WeComClient,
    state: str,
) -> None:
    with pytest.raises(ValueError, match="state"):
        client.add_contact_way("zhang", state)
    assert fake_wecom.requests == []


def test_contact_way_quota_says_what_to_do(fake_wecom: FakeWeCom, client: WeComClient) -> None:  # noqa: F811
    fake_wecom.add_advisor("zhang")
    fake_wecom.contact_way_quota = 1
    client.add_contact_way("zhang", "a")
    with pytest.raises(WeComError, match="--remove") as caught:
        client.add_contact_way("zhang", "b")
    assert caught.value.errcode == 41045


# --- messages -----------------------------------------------------------------------------------


def test_send_text_reports_invalid_users(fake_wecom: FakeWeCom, client: WeComClient) -> None:  # noqa: F811
    fake_wecom.add_advisor("zhang")
    assert client.send_text(["zhang", "Ghost.Li"], "3 follow-ups today") == ["Ghost.Li"]
    assert fake_wecom.messages[0]["touser"] == "zhang|Ghost.Li"
    assert fake_wecom.messages[0]["agentid"] == fake_wecom.agentid
    assert client.send_text(["ghost"], "x") == ["ghost"]  # 81013: nobody valid


def test_send_text_limits_and_agentid(fake_wecom: FakeWeCom, sleeps: Sleeps) -> None:  # noqa: F811
    fake_wecom.add_advisor("zhang")
    with WeComClient(fake_wecom.settings(), MemoryTokenStore(), sleep=sleeps) as wecom:
        wecom.send_text(["zhang"], "字" * 682)  # 2046 bytes
        with pytest.raises(ValueError, match="2048"):
            wecom.send_text(["zhang"], "字" * 683)  # 2049 bytes
    with WeComClient(fake_wecom.settings(agentid=None), MemoryTokenStore()) as wecom:
        with pytest.raises(ConfigError, match="REACTIVATE_WECOM_AGENTID"):
            wecom.send_text(["zhang"], "hi")
    assert len(fake_wecom.requests_to("message/send")) == 1


def test_upload_media_then_send_file(
    fake_wecom: FakeWeCom,  # noqa: F811
    client: WeComClient,
    tmp_path: Path,
) -> None:
    fake_wecom.add_advisor("zhang")
    workbook = tmp_path / "张三-2020h2.xlsx"
    workbook.write_bytes(b"PK\x03\x04 fake workbook bytes")
    media_id = client.upload_media(workbook)
    assert fake_wecom.media[media_id] == (workbook.name, workbook.read_bytes())
    upload = fake_wecom.requests_to("media/upload")[0]
    assert upload.query == {"type": "file"}
    assert client.send_file(["zhang"], media_id) == []
    assert fake_wecom.messages[-1]["file"] == {"media_id": media_id}


def test_webhook_markdown(fake_wecom: FakeWeCom, client: WeComClient) -> None:  # noqa: F811
    client.webhook_markdown("字" * 1365)  # 4095 bytes
    assert fake_wecom.webhook_messages == [
        {"msgtype": "markdown", "markdown": {"content": "字" * 1365}}
    ]
    call = fake_wecom.requests_to("webhook/send")[0]
    assert call.secrets == {"key"}  # no access token on robot calls
    assert fake_wecom.gettoken_calls == 0
    with pytest.raises(ValueError, match="4096"):
        client.webhook_markdown("字" * 1366)  # 4098 bytes
    assert len(fake_wecom.requests_to("webhook/send")) == 1


def test_webhook_key_missing_or_wrong(fake_wecom: FakeWeCom) -> None:  # noqa: F811
    with WeComClient(fake_wecom.settings(webhook_key=None), MemoryTokenStore()) as wecom:
        with pytest.raises(ConfigError, match="REACTIVATE_WECOM_WEBHOOK_KEY"):
            wecom.webhook_markdown("x")
    with WeComClient(fake_wecom.settings(webhook_key="not-the-key"), MemoryTokenStore()) as wecom:
        with pytest.raises(WeComConfigError, match="REACTIVATE_WECOM_WEBHOOK_KEY") as caught:
            wecom.webhook_markdown("x")
    assert "not-the-key" not in str(caught.value)


# --- transfers ----------------------------------------------------------------------------------


def test_transfer_chunked_by_100_with_per_customer_errcodes(
    fake_wecom: FakeWeCom,  # noqa: F811
    client: WeComClient,
) -> None:
    fake_wecom.add_advisor("old", resigned=True)
    fake_wecom.add_advisor("new")
    externals = [fake_wecom.add_contact("old") for _ in range(249)]
    stranger = fake_wecom.add_contact("new")
    outcome = client.transfer_customer(
        "old", "new", [*externals, stranger, "wmUNKNOWN"], resigned=True
    )
    calls = fake_wecom.requests_to("externalcontact/resigned/transfer_customer")
    assert [len(c.body["external_userid"]) for c in calls] == [100, 100, 51]
    assert all("transfer_success_msg" not in c.body for c in calls)
    assert [outcome[e] for e in externals] == [0] * 249
    assert outcome[stranger] == 40131 and outcome["wmUNKNOWN"] == 40096


def test_transfer_of_employed_advisor_and_precondition_errors(
    fake_wecom: FakeWeCom,  # noqa: F811
    client: WeComClient,
) -> None:
    fake_wecom.add_advisor("new")
    external = fake_wecom.add_contact("old")
    with pytest.raises(WeComError) as caught:
        client.transfer_customer("old", "new", [external], resigned=True)
    assert caught.value.errcode == 40097
    outcome = client.transfer_customer("old", "new", [external], resigned=False, message="您好")
    assert outcome == {external: 0}
    call = fake_wecom.requests_to("externalcontact/transfer_customer")[0]
    assert call.body["transfer_success_msg"] == "您好"


def test_transfer_result_pages(fake_wecom: FakeWeCom, client: WeComClient) -> None:  # noqa: F811
    fake_wecom.add_advisor("old", resigned=True)
    fake_wecom.add_advisor("new")
    externals = [fake_wecom.add_contact("old") for _ in range(5)]
    client.transfer_customer("old", "new", externals, resigned=True)
    fake_wecom.set_transfer_status(externals[0], 1, takeover_time=1_700_000_000)
    fake_wecom.set_transfer_status(externals[1], 3)
    fake_wecom.transfer_page_size = 2
    statuses = list(client.transfer_result("old", "new", resigned=True))
    assert [s.external_userid for s in statuses] == externals
    assert [s.status for s in statuses] == [1, 3, 2, 2, 2]
    assert statuses[0].takeover_time == dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.UTC)
    cursors = [
        c.body["cursor"] for c in fake_wecom.requests_to("externalcontact/resigned/transfer_result")
    ]
    assert cursors == ["", "TR2", "TR4"]
    assert list(client.transfer_result("old", "new", resigned=False)) == []


def test_never_sends_debug(fake_wecom: FakeWeCom, client: WeComClient) -> None:  # noqa: F811
    fake_wecom.add_contact("zhang")
    client.follow_users()
    client.contacts_by_user(["zhang"])
    client.add_contact_way("zhang", "s")
    assert fake_wecom.requests
    assert all("debug" not in r.query for r in fake_wecom.requests)
    assert all(r.secrets for r in fake_wecom.requests)


# --- database token store -----------------------------------------------------------------------


def test_database_token_store_roundtrip_and_upsert(tmp_path: Path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 't.db'}")
    store = DatabaseTokenStore(engine)
    assert store.get("ww1:abc") is None
    first = dt.datetime(2024, 5, 1, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    store.put("ww1:abc", "tok-1", first)
    assert store.get("ww1:abc") == ("tok-1", first)
    token, expires_at = store.get("ww1:abc") or ("", first)
    assert expires_at.utcoffset() == dt.timedelta(0)
    store.put("ww1:abc", "tok-2", first + dt.timedelta(hours=2))
    assert store.get("ww1:abc") == ("tok-2", first + dt.timedelta(hours=2))
    with pytest.raises(ValueError):
        store.put("ww1:abc", "tok-3", dt.datetime(2024, 5, 1))
    engine.dispose()


def test_database_token_store_shared_across_invocations(
    fake_wecom: FakeWeCom,  # noqa: F811
    tmp_path: Path,
) -> None:
    fake_wecom.add_advisor("zhang")
    url = f"sqlite:///{tmp_path / 't.db'}"
    for _ in range(3):  # three "invocations", each with its own engine
        engine = open_engine(url)
        with WeComClient(fake_wecom.settings(), DatabaseTokenStore(engine)) as wecom:
            wecom.follow_users()
        engine.dispose()
    assert fake_wecom.gettoken_calls == 1
    engine = open_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(WECOM_TOKENS)).all()
    engine.dispose()
    assert len(rows) == 1
    assert fake_wecom.secret not in rows[0].key
    assert json.dumps(rows[0].key).count(fake_wecom.corpid) == 1


def test_transport_error_text_is_scrubbed(sleeps: Sleeps) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot connect for {request.url}", request=request)

    settings = WeComSettings(base_url="https://wecom.test/cgi-bin", corpid="ww1", secret="s3cr3t")
    transport = httpx.MockTransport(answer)
    with WeComClient(settings, MemoryTokenStore(), transport=transport, sleep=sleeps) as wecom:
        with pytest.raises(WeComError, match="ConnectError") as caught:
            wecom.follow_users()
    assert "s3cr3t" not in str(caught.value)
