"""WeCom (企业微信) server API: the only place that speaks HTTP to WeCom.

`client.WeComClient` wraps the endpoints `reactivate` uses (customer contacts,
「联系我」 ways, app and robot messages, media upload, customer transfer) over one
`httpx.Client`. It fetches and caches the access token through a `tokens.TokenStore`
(in memory, or the database so invocations share it), checks `errcode` on every
answer (WeCom answers HTTP 200 to failures), refetches the token once when WeCom
says it expired, retries busy and rate-limit answers with backoff, and turns
configuration faults into `WeComConfigError` messages that say what to fix.

Settings come from the environment (`client.WeComSettings.from_env`); the app
secret and the robot key are never printed or logged, nor are URLs carrying them.
`docs/wecom-api.md` records the endpoints, shapes, limits and error codes relied on.
"""
