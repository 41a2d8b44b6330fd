"""The columns each kind of input file holds, and the header texts they go by.

Aliases are compared after `read.fold_header` (NFKC, casefold, no whitespace), so
'总资产（元）', '总资产(元)' and '总资产 (元)' are one alias. Every field's canonical
name is accepted as an alias too, so `--map` is rarely needed for files we wrote ourselves.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldSpec:
    """One canonical field of an input file and the header texts that name it."""

    name: str  # canonical field name
    aliases: tuple[str, ...]  # header texts, Chinese and English
    required: bool = False
    # For files where any one of several ids will do (a do-not-call list holds client ids,
    # mobiles or both): a header must name at least one `key` field.
    key: bool = False


def _field(name: str, *aliases: str, required: bool = False, key: bool = False) -> FieldSpec:
    return FieldSpec(name, tuple(dict.fromkeys((name, *aliases))), required=required, key=key)


_CLIENT_ID_ALIASES = ("客户号", "资金账号", "客户编号", "client id", "account")
_MOBILE_ALIASES = ("手机", "手机号", "手机号码", "联系电话", "mobile", "phone")
_BRANCH_CODE_ALIASES = ("营业部代码", "营业部编号", "机构代码")

ACCOUNT_FIELDS: tuple[FieldSpec, ...] = (
    _field("client_id", *_CLIENT_ID_ALIASES, required=True),
    _field("name", "姓名", "客户姓名"),
    _field("mobile", *_MOBILE_ALIASES),
    _field("branch", "营业部", "所属营业部"),
    _field("branch_code", *_BRANCH_CODE_ALIASES),
    _field("assets", "总资产", "资产", "总资产(元)"),
    _field("last_trade_date", "最后交易日", "最后交易日期"),
    _field("risk", "风险等级", "风险承受能力"),
    _field("opened_at", "开户日期"),
    _field("previous_advisor", "原客户经理", "原服务人员"),
    _field("status", "账户状态"),
)

ROSTER_FIELDS: tuple[FieldSpec, ...] = (
    _field("code", "工号", "员工编号", "advisor_code", required=True),
    _field("name", "姓名", required=True),
    _field("branch", "营业部", required=True),
    _field("branch_code", *_BRANCH_CODE_ALIASES),
    _field("wecom_userid", "企业微信账号", "企微账号", "userid"),
    _field("capacity", "容量", "上限"),
    _field("status", "状态", "active"),
)

DNC_FIELDS: tuple[FieldSpec, ...] = (
    _field("client_id", *_CLIENT_ID_ALIASES, key=True),
    _field("mobile", *_MOBILE_ALIASES, key=True),
    _field("reason", "原因", "备注"),
)

RESULT_FIELDS: tuple[FieldSpec, ...] = (
    _field("client_id", *_CLIENT_ID_ALIASES, required=True),
    _field("advisor", "客户经理", "工号"),
    _field("called_at", "通话时间"),
    _field("call_result", "通话结果"),
    _field("attempts", "拨打次数"),
    _field("callback_at", "预约回电时间"),
    _field("wecom_added", "是否添加企业微信", "添加企微"),
    _field("wecom_added_at", "添加时间"),
    _field("product", "推送产品"),
    _field("pushed_at", "推送时间"),
    _field("converted", "是否转化"),
    _field("converted_at", "转化时间"),
    _field("note", "备注"),
)

ACTIVITY_FIELDS: tuple[FieldSpec, ...] = (
    _field("client_id", *_CLIENT_ID_ALIASES, required=True),
    _field("last_trade_date", "最后交易日", "最后交易日期", required=True),
    _field("assets", "总资产", "资产", "总资产(元)"),
)

# `reactivate branches alias --file`: one spelling of a branch per row and the roster's name.
BRANCH_ALIAS_FIELDS: tuple[FieldSpec, ...] = (
    _field("alias", "别名", "营业部别名", "原名称", "旧名称", required=True),
    _field("branch", "营业部", "标准名称", "规范名称", "canonical", required=True),
)

# A running number down the left of a sheet is not client data: such a column is dropped,
# neither a field nor an extra column.
ROW_NUMBER_HEADERS: tuple[str, ...] = ("序号", "No.", "No", "#", "行号")
