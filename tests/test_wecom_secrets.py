"""The app secret, the robot key and access tokens are never printed, not even when WeCom
echoes the request back in its error message or httpx names the URL in its own."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from fake_wecom import FakeWeCom, fake_wecom  # noqa: F401
from helpers import CAMPAIGN_FILE, ROOT, query
from typer.testing import CliRunner

from reactivate.cli import app
from reactivate.errors import DatabaseError, WeComError
from reactivate.wecom.client import WeComClient, WeComSettings
from reactivate.wecom.tokens import DatabaseTokenStore, MemoryTokenStore

SLUG = "2020h2-dormant"
AUGUST = int(dt.datetime(2020, 8, 3, tzinfo=dt.UTC).timestamp())
INVALID_PARAMETER = 40058  # an errcode reported with WeCom's own errmsg

#: Each command, and the first business call it makes.
COMMANDS = {
    "sync": (["wecom", "sync", "-c", SLUG], "externalcontact/batch/get_by_user"),
    "qr": (["wecom", "qr", "-c", SLUG], "externalcontact/add_contact_way"),
    "notify": (["wecom", "notify", "-c", SLUG], "message/send"),
    "transfers": (["wecom", "transfers", "-c", SLUG], "externalcontact/transfer_result"),
}


def invoke(db: str, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Exit code and output, its lines joined: a secret cut by a line break is still seen."""
    result = CliRunner().invoke(app, [*args, "--db", db], env=env)
    return result.exit_code, result.output.replace("\n", "")


def secrets_of(fake: FakeWeCom) -> list[str]:
    return [fake.secret, fake.webhook_key, *fake.tokens]


@pytest.fixture
def campaign(sqlite_url: str, fake_wecom: FakeWeCom) -> str:  # noqa: F811
    """The sample campaign assigned, every advisor on the fake, one customer handed over
    (so `wecom transfers` has something to ask about)."""
    db = sqlite_url
    env = fake_wecom.env()
    for args in (
        ["campaign", "add", str(CAMPAIGN_FILE)],
        ["advisors", "load", str(ROOT / "data" / "advisors.xlsx")],
        ["load", str(ROOT / "data" / "dormant_accounts.xlsx"), "-c", SLUG],
        ["assign", "-c", SLUG, "--assigned-at", "2020-07-01T09:00:00", "--no-workbooks"],
    ):
        code, output = invoke(db, *args)
        assert code == 0, output
    for _, userid in query(db, "SELECT code, wecom_userid FROM advisor"):
        fake_wecom.add_advisor(str(userid))
    ((userid,),) = query(db, "SELECT wecom_userid FROM advisor WHERE code = 'A0001'")
    (mobile,) = query(
        db,
        "SELECT c.mobile FROM member m JOIN client c ON c.client_id = m.client_id"
        " WHERE m.advisor_code = 'A0001' ORDER BY m.client_id LIMIT 1",
    )[0]
    fake_wecom.add_contact(str(userid), remark_mobiles=[str(mobile)], add_way=2, createtime=AUGUST)
    for args in (
        ["wecom", "sync", "-c", SLUG],
        ["reassign", "-c", SLUG, "--from", "A0001", "--to", "A0002", "--no-workbooks", "--wecom"],
    ):
        code, output = invoke(db, *args, env=env)
        assert code == 0, output
    fake_wecom.echo_requests = True
    return db


@pytest.mark.parametrize("command", COMMANDS)
def test_no_wecom_command_prints_a_secret_wecom_echoes(
    command: str,
    campaign: str,
    fake_wecom: FakeWeCom,  # noqa: F811
) -> None:
    args, api = COMMANDS[command]
    env = fake_wecom.env()
    # gettoken's query holds the app secret (the cached token expired: a new one is
    # asked for); a business call's query holds the access token.
    fake_wecom.expire_tokens()
    fake_wecom.fail_next("gettoken", INVALID_PARAMETER)
    refused_token = invoke(campaign, *args, env=env)
    fake_wecom.fail_next(api, INVALID_PARAMETER, times=10)
    refused_call = invoke(campaign, *args, env=env)
    assert fake_wecom.tokens, "a token was issued, and used"
    for code, output in (refused_token, refused_call):
        assert code == 1 and output.startswith("Error: "), output
        assert "request: /cgi-bin/?" in output and "=***" in output  # echoed, scrubbed
        for secret in secrets_of(fake_wecom):
            assert secret not in output, output


def test_httpx_texts_naming_the_url_are_scrubbed() -> None:
    secret, token = "s3cret/with+signs", "tok-123"

    def refuse(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("gettoken"):
            return httpx.Response(200, json={"access_token": token, "expires_in": 7200})
        raise httpx.ConnectError(f"cannot reach {request.url}", request=request)

    settings = WeComSettings(base_url="http://wecom.test/cgi-bin", corpid="ww1", secret=secret)
    client = WeComClient(
        settings,
        MemoryTokenStore(),
        transport=httpx.MockTransport(refuse),
        sleep=lambda _: None,
        max_retries=0,
    )
    with client, pytest.raises(WeComError) as raised:
        client.follow_users()
    text = str(raised.value)
    assert "cannot reach http://wecom.test/cgi-bin/externalcontact" in text
    assert token not in text and "access_token=***" in text


def test_an_echo_of_the_secret_url_encoded_is_scrubbed() -> None:
    secret = "s3cret/with+signs&more"

    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json={"errcode": INVALID_PARAMETER, "errmsg": f"bad request {request.url}"}
        )

    settings = WeComSettings(base_url="http://wecom.test/cgi-bin", corpid="ww1", secret=secret)
    client = WeComClient(settings, MemoryTokenStore(), transport=httpx.MockTransport(echo))
    with client, pytest.raises(WeComError) as raised:
        client.access_token()
    text = str(raised.value)
    assert "corpsecret=***" in text and "s3cret" not in text


def test_a_token_store_that_fails_does_not_print_the_token(sqlite_url: str) -> None:
    """SQLAlchemy's error text lists the statement's parameters: the token among them."""
    from sqlalchemy import create_engine

    store = DatabaseTokenStore(create_engine(sqlite_url))  # no tables: every statement fails
    expires = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    with pytest.raises(DatabaseError) as raised:
        store.put("ww1:abc", "tok-never-print-me", expires)
    assert "no such table" in str(raised.value)
    assert "tok-never-print-me" not in str(raised.value)
