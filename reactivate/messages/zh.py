"""Every user-facing text in Chinese, by the same keys as `en`."""

from __future__ import annotations

TEXTS: dict[str, str] = {
    # demo, continued
    "demo.step.activity": "模拟核心系统后续导出(谁重新交易了)并导入",
    "demo.uploaded": "上传填好的工作簿",
    "demo.activity": "模拟的交易活动导出:{rows} 位客户重新交易,记录激活 {reactivated} 次",
    "demo.next": "继续查看:reactivate report -c 2020h2-dormant --db {db} --by branch | --format json | --dropped wecom_added",
    # activity, closing
    "summary.activity": "来自 {file} 的交易活动",
    "summary.closed": "活动 {slug} 已结束:不能再导入、分配或上传。",
    "summary.already_closed": "活动 {slug} 早已结束。",
    "summary.purged": "已删除 {count} 位客户的个人信息(保留编号、事件和统计)。",
    # demo
    "demo.step.load": "登记示例活动,导入花名册、勿扰名单和休眠客户",
    "demo.step.assign": "在活动开始时分配(10% 留作对照组)",
    "demo.step.simulate": "模拟客户经理外呼(固定种子,非真实数据)并填写工作簿",
    "demo.step.upload": "上传填好的工作簿",
    "demo.step.report": "报表",
    "demo.simulated": "模拟数据:在 {folder} 下的 {count} 个工作簿中填写了 {rows} 行",
    "error.interrupted": "已中断,未写入任何内容。",
    "error.rejects_unwritable": "无法写入拒绝记录文件 {path}({problem}),未应用任何更改。请用 --rejects 换一个位置。",
    "error.interrupted_saved": "在更改保存之后中断:更改已生效(可用 `reactivate imports list` 查看)。",
    "error.demo_not_fresh": "演示需要全新的数据库;{url} 中已有活动成员。请换一个 --db。",
    # assignment
    "label.new": "本次新增",
    "label.assets": "资产",
    "label.median_assets": "资产中位数",
    "progress.workbooks": "正在生成工作簿",
    "summary.assign": "{campaign} 各客户经理名下客户",
    "summary.fairness": "公平性:每位客户经理客户数 {min_clients}-{max_clients};资产 {min_assets}-{max_assets}",
    "summary.assigned": "本次分配 {assigned} 位(留给原客户经理:{kept});对照组 {control};未分配 {unassigned}。",
    "summary.unassigned_branch": "  {branch} 未分配:{count}(名额已满;--cross-branch 可分给其他营业部)",
    "summary.workbooks": "已在 {folder} 下生成 {count} 个工作簿",
    "summary.method": "方法:{method}",
    "summary.exported": "已写入 {count} 行到 {path}",
    "error.holdout": "--holdout {value}:请给出 0 到 1(不含)之间的比例,如 0.1",
    "error.assigned_at_future": "--assigned-at {value} 在未来",
    "error.reassign_target": "--to {code}:不是 --from 以外的在职客户经理",
    "error.xlsx_needs_out": "xlsx 需要 --out 文件",
    # load, roster, do-not-call (core)
    "label.added": "新增",
    "label.active": "在职",
    "label.inactive": "离职",
    "label.already": "已在名单",
    "label.members_flagged": "已标记成员",
    "progress.reading": "正在读取 {file}",
    "progress.upload_reading": "正在读取表格",
    "progress.upload_writing": "正在检查并写入",
    "exclusion.frozen_or_closed": "账户冻结或销户",
    "exclusion.traded_recently": "近期有交易,不属休眠",
    "exclusion.assets_below_range": "资产低于活动范围",
    "exclusion.assets_above_range": "资产高于活动范围",
    "exclusion.overlap": "已在其他进行中的活动里",
    "error.campaign_closed": "活动 {slug} 已结束:不能再导入、分配或上传。",
    "error.branch_unknown": "花名册中没有名为“{name}”的营业部。现有:{known}。请先导入花名册。",
    "error.alias_args": "请给出 别名 和 营业部,或 --file 映射文件。",
    "reject.dnc_empty": "既无客户号也无手机号",
    "label.campaign": "活动",
    "label.name": "名称",
    "label.start": "开始",
    "label.end": "结束",
    "label.status": "状态",
    "label.rows": "行数",
    "label.loaded": "新增",
    "label.updated": "更新",
    "label.unchanged": "未变",
    "label.excluded": "排除",
    "label.rejected": "拒绝",
    "label.duplicates": "重复",
    "label.advisors": "客户经理",
    "label.branches": "营业部",
    "label.branch": "营业部",
    "label.clients": "客户",
    "label.count": "数量",
    "label.reason": "原因",
    "label.file": "文件",
    "label.sheet": "工作表",
    "label.row": "行",
    "label.column": "列",
    "label.when": "时间",
    "label.who": "操作人",
    "label.kind": "类型",
    "label.id": "编号",
    "label.sha256": "SHA-256",
    "label.members": "成员",
    "label.value": "值",
    "summary.load": "{file} 导入活动 {campaign}",
    "summary.roster": "花名册 {file}",
    "summary.dnc": "勿扰名单 {file}",
    "summary.dry_run": "试运行:未写入任何数据。",
    "summary.rejects_written": "被拒绝的行已写入 {path}",
    "summary.unknown_branches": "花名册中没有的营业部:{names}(共 {count} 位客户)",
    "summary.overlap": "{count} 位客户已在其他进行中的活动里:{action}",
    "summary.overlap_skipped": "未加入(使用 --allow-overlap 加入)",
    "summary.overlap_allowed": "仍然加入(--allow-overlap)",
    "summary.dnc_members": "{count} 位加入的客户在勿扰名单上(已标记,不会拨打)",
    "summary.campaign_added": "活动 {slug} 已登记。",
    "summary.campaign_updated": "活动 {slug} 已更新。",
    "summary.init": "数据库已就绪:{url}(结构版本 {version})。",
    "summary.backup": "{url} 已备份到 {file}({size} 字节)。恢复:在没有任何命令运行时,把它复制回数据库文件。",
    "error.backup_postgresql": "reactivate db backup 只复制 SQLite 文件;PostgreSQL 请用 pg_dump 备份:pg_dump -Fc -f FILE '{url}'(恢复到空数据库:pg_restore -d URL FILE;纯 SQL 备份用 psql -f FILE URL)。",
    "error.backup_exists": "{file} 已存在;备份从不覆盖已有文件。请换一个新文件名。",
    "error.backup_target": "无法创建备份 {file}:{problem}",
    "error.backup_nothing": "{file} 没有可备份的数据库。",
    "warning.db_readable": "警告:本机其他用户可以读取 {files},其中有客户姓名和手机号;请限制权限:chmod 600 {files}",
    "error.purge_busy": "个人信息已清空,但另一个程序正打开数据库,预写日志中可能仍有旧副本;请在没有其他程序使用数据库时再运行一次同一命令。",
    "error.purge_not_owner": "个人信息已清空,但表 {table} 在重写前仍留有旧副本,只有表的所有者可以重写:请其运行 VACUUM FULL {table}。",
    "error.scratch_not_private": "{folder} 不是您自己的文件夹(属于其他用户,或是链接):含客户数据的临时文件不能放在那里。请删除它,或把 TMPDIR 设为私有文件夹。",
    "summary.db_created": "数据库 {url} 已创建,结构修订 {after}。",
    "summary.db_current": "数据库 {url} 已是结构修订 {after}。",
    "summary.db_upgraded": "数据库 {url} 已从{before}升级到结构修订 {after}。",
    "label.db_revision": "结构修订 {revision}",
    "label.db_legacy_version": "结构版本 {version}(修订之前)",
    "summary.alias": "营业部名称“{alias}”现在指“{canonical}”(调整了 {moved} 位客户)。",
    "summary.no_campaigns": "尚未登记活动:用 `reactivate campaign add FILE` 添加。",
    "summary.no_imports": "尚无导入记录。",
    "error.prefix": "错误",
    "error.rows_rejected": (
        "{count} 行被拒绝,未写入任何数据。第一处:{first}。"
        "请修正,或使用 --skip-invalid 只导入正确的行并把被拒绝的行写入文件。"
    ),
    "error.pad_ids": "--pad-ids {width}:补零后的客户号宽度应为 1 到 {most}",
    "error.load_needs_confirmation": (
        "未写入任何数据:本次导入将向活动 {campaign}(现有 {members} 位客户)新增 {loaded} 位客户,"
        "超过现有人数的 {limit}。请确认文件属于该活动、客户号未丢前导零,再加 --yes 重新导入。"
    ),
    "error.more_rejections": "……另有 {count} 处",
    "error.campaign_not_found": "没有活动“{slug}”。已登记:{known}。用 `reactivate campaign add FILE` 添加。",
    "error.campaign_key": "{file}:键“{key}”:{problem}",
    "error.campaign_toml": "{file}:不是有效的 TOML:{problem}",
    "problem.toml_nesting": "数组或表嵌套过深",
    "error.file_missing": "{file}:文件不存在",
    "error.file_format": "{file}:无法读取“{suffix}”类型的文件;请使用 .xlsx、.xls 或 .csv",
    "error.file_unreadable": "{file}:无法作为表格读取:{problem}",
    "error.sheet_missing": "{file}:没有名为“{sheet}”的工作表;现有:{sheets}",
    "error.no_data": "{file}:没有含数据的工作表",
    "error.no_data_csv": "{file}:文件是空的",
    "error.no_header": (
        "{file},工作表 {sheet}:找不到含“{missing}”列的表头(查找了:{aliases});"
        "可用 --map '表头=字段' 指定"
    ),
    "error.no_header_csv": (
        "{file}:找不到含“{missing}”列的表头(查找了:{aliases});可用 --map '表头=字段' 指定"
    ),
    "problem.not_a_file": "不是文件",
    "problem.encoding": "不是 UTF-8、UTF-16 或 GB18030 编码的文本",
    "problem.csv_row": "第 {row} 行:{problem}",
    "problem.html_xls": "这是以 .xls 命名的网页文件;请用 Excel 打开后另存为 .xlsx",
    "error.workbook_too_big": "{file}:部件 {part} {problem};未读取",
    "error.workbook_unpacked": "{file}:解压后为 {size} MiB,超过可读取的 {cap} MiB",
    "error.sheet_too_big": (
        "{file},工作表 {sheet}:{problem};最多读取 {cap} 个单元格(从 A1 起的行数×列数)。"
        "请删除数据下方的行和右侧的列(选中后右键“删除”),或拆分工作表"
    ),
    "problem.unpacked_size": "解压后超过 {cap} MiB",
    "problem.unpack_ratio": "解压后超过压缩大小的 {ratio} 倍(疑似压缩炸弹)",
    "problem.size_mismatch": "解压后比文件头声明的更大(文件已损坏或被伪造)",
    "problem.shared_strings": "共享字符串超过 {cap} 个",
    "problem.dimension": "声明的区域为 {ref}({cells} 个单元格)",
    "problem.cell_count": "单元格超过 {cells} 个",
    "problem.far_cell": "有单元格远至 {ref}(从 A1 起共 {cells} 个单元格)",
    "error.bad_map": "--map '{spec}':应为 表头=字段,字段为 {fields} 之一",
    "error.db_url": "无法打开数据库 {url}:{problem}",
    "error.no_database": "{where} 没有数据库;`reactivate init` 可新建一个(或检查 --db 和 REACTIVATE_DB)。",
    "error.db_revision": "数据库 {url} 的结构修订为 {found},本程序(修订 {known})不认识:它已被更新的版本升级。请安装该版本或更新的版本。",
    "error.db_version": "数据库 {url} 的结构版本为 {found},本程序最高支持 {known}。请升级 reactivate。",
    "error.advisor_unknown": "花名册中没有工号为“{code}”的客户经理。",
    "error.stamp_damaged": (
        "{file} 与下发时不符:标识所发名单的隐藏工作表“{sheet}”已损坏({problem});"
        "请上传原样下发的名单,或把已填写的行复制到新下发的名单中再上传。"
    ),
    "error.stamp_missing": (
        "{file} 与下发时不符:这是本系统下发的名单,但标识它的隐藏工作表“{sheet}”已被删除;"
        "请上传原样下发的名单,或把已填写的行复制到新下发的名单中再上传。"
    ),
    "reject.no_id": "缺少客户号",
    "reject.bad_mobile": "手机号“{value}”不是以 1 开头的 11 位数字",
    "reject.bad_date": "“{value}”不是日期(应为 2020-01-05、2020/1/5、20200105 或 Excel 日期)",
    "reject.bad_number": "“{value}”不是数字",
    "reject.bad_risk": "“{value}”不是风险等级(C1-C5 或 保守型/谨慎型/稳健型/积极型/激进型)",
    "reject.bad_bool": "“{value}”不是 是/否",
    "reject.bad_int": "“{value}”不是整数",
    "reject.int_too_big": "“{value}”过大:最大为 {limit}",
    "reject.conflict": "客户 {client_id} 在第 {other} 行再次出现且 {fields} 不同",
    "reject.required": "缺少{field}",
    "reject.bad_status": "“{value}”不是 在职/离职",
    "reject.id_space": "编号“{value}”中间有空格或换行;编号不能含空格",
    "reject.id_invisible": "编号“{value}”含控制字符或不可见字符 {char};请重新输入该编号",
    "reject.id_too_long": "编号“{value}”长 {length} 个字符;编号最多 {most} 个字符",
    "reject.id_formula": "编号“{value}”是表格公式,不是编号",
    "reject.lost_zeros": "{value} 像是丢了前导零的客户 {client_id};可用 --pad-ids {width} 补零",
    "reject.unknown_client_lost_zeros": (
        "数据库中没有客户 {value};活动 {campaign} 中有客户 {client_id}:是否丢了前导零?"
        "请把该列设为文本格式、重新输入客户号后再上传"
    ),
    # wecom
    "wecom.env_missing": "{var} 未设置:请设为企业微信应用的企业ID / Secret",
    "wecom.env_agentid": "{var}“{value}”不是整数(应为应用的 AgentId)",
    "wecom.env_missing_agentid": (
        "{var} 未设置:发送应用消息需要应用的 AgentId(管理后台 → 应用管理 → 该应用)"
    ),
    "wecom.env_missing_webhook": (
        "{var} 未设置:请设为群机器人 Webhook 地址中的 key(…/webhook/send?key=KEY)"
    ),
    "wecom.hint": "(企业微信 hint:{hint})",
    "wecom.bad_answer": "企业微信 {api} 的应答无法识别:{problem}",
    "wecom.token_store": "数据库中的企业微信 access token 缓存出错:{problem}",
    "wecom.unreachable": (
        "调用企业微信 {api} 尝试 {attempts} 次仍无法连接:{problem}。"
        "请检查网络,私有部署请检查 {var}。"
    ),
    "wecom.gave_up": (
        "企业微信 {api} 重试 {attempts} 次后仍繁忙或超频(errcode {errcode});请等几分钟后重新运行。"
    ),
    "wecom.bad_credentials": (
        "企业微信拒绝了企业ID或应用 Secret(errcode {errcode})。"
        "请检查 {corpid_var}(我的企业 → 企业ID)和 {secret_var}"
        "(已加入 客户联系 → 可调用接口的应用 的自建应用的 Secret)。"
    ),
    "wecom.api_forbidden": (
        "该应用无权调用企业微信 {api}(errcode 48002)。请在管理后台把应用加入 "
        "客户联系 → API → 可调用接口的应用,或改用该应用的 Secret。"
    ),
    "wecom.not_visible": (
        "企业微信 {api}:客户经理 {userid} 不在应用的可见范围内(errcode 60011)。"
        "请在管理后台把其加入应用的可见范围,或更正花名册中的企业微信账号。"
    ),
    "wecom.some_advisor": "(本次调用中的某位客户经理)",
    "wecom.ip_not_trusted": (
        "企业微信拒绝了来自 IP {ip} 的调用(errcode 60020):请在管理后台把它加入应用的企业可信IP,"
        "或在 IP 已受信任的机器上运行 reactivate。"
    ),
    "wecom.token_missing": (
        "企业微信 {api} 未收到 access_token(errcode {errcode}):"
        "这是 reactivate 的缺陷,请附 hint 反馈。"
    ),
    "wecom.token_rejected": (
        "企业微信 {api} 拒绝了刚获取的 access_token(errcode {errcode});请重新运行,"
        "若仍出现请确认没有其他工具重置了应用 Secret。"
    ),
    "wecom.bad_agentid": (
        "企业微信 {api}:AgentId 与应用不符(errcode {errcode});请检查 {agentid_var}。"
    ),
    "wecom.bad_webhook_key": "企业微信拒绝了群机器人 key(errcode {errcode});请检查 {key_var}。",
    "wecom.contact_way_quota": (
        "通过 API 创建的「联系我」已达企业微信上限(errcode {errcode});"
        "请用 `reactivate wecom qr --campaign SLUG --remove` 删除已结束活动的联系方式。"
    ),
    "wecom.failed": "企业微信 {api} 调用失败:errcode {errcode}({errmsg})",
    "wecom.bad_state": "联系方式 state“{state}”须为 1-{limit} 个 ASCII 字符",
    "wecom.bad_remark": "联系方式备注最多 {limit} 个字符",
    "wecom.too_long": "{what} 为 {size} 字节;企业微信最多接受 {limit}",
    "wecom.too_many": "{count} 个 {what};企业微信每次最多接受 {limit} 个",
    # wecom commands
    "wecom.col_what": "项目",
    "wecom.col_count": "数量",
    "wecom.yes": "是",
    "wecom.no": "否",
    "wecom.sync_title": "{campaign} 企业微信同步",
    "wecom.sync_advisors": "查询的客户经理",
    "wecom.sync_contacts": "看到的客户关系",
    "wecom.sync_matched": "匹配到已分配客户",
    "wecom.sync_preexisting": "其中分配前已是企业微信客户(不计为活动添加)",
    "wecom.sync_events": "新增事件",
    "wecom.sync_unmatched": "活动开始后新增、无对应客户",
    "wecom.sync_ambiguous": "无法确定(备注手机号对应多位客户)",
    "wecom.sync_lost": "自上次同步后流失",
    "wecom.sync_refused": "  {advisor}:企业微信拒绝(errcode {errcode});未读取,不计流失",
    "wecom.sync_unlicensed": "  {advisor}:没有企业微信接口许可;未读取,不计流失",
    "wecom.sync_ambiguity": (
        "  {advisor}:客户 {external} 的备注手机号 {mobile} 对应 {clients} 位客户;"
        "请在企业微信中修改备注"
    ),
    "wecom.without_userid": "名册中没有企业微信 userid 的客户经理(已略过):{advisors}",
    "wecom.qr_title": "{campaign} 企业微信联系我",
    "wecom.qr_created": "新建",
    "wecom.qr_existing": "已存在",
    "wecom.qr_removed": "已删除",
    "wecom.qr_already_gone": "企业微信中已不存在",
    "wecom.qr_link": "二维码链接(写入下一份工作簿)",
    "wecom.qr_remove_or_create": "--remove 会删除活动的全部联系我:请去掉 --per-client",
    "wecom.qr_over_quota": (
        "--per-client 需要新建 {count} 个联系我,但企业微信 API 配额({quota})只剩 {left};"
        "请用 `reactivate wecom qr --campaign SLUG --remove` 删除已结束活动的联系我,"
        "或每位客户经理一个(不加 --per-client)"
    ),
    "wecom.notify_title": "{campaign} 企业微信消息",
    "wecom.notify_texts": "已发送应用消息",
    "wecom.notify_files": "已发送工作簿",
    "wecom.notify_webhook": "群机器人汇总",
    "wecom.notify_robot": "群机器人(markdown)",
    "wecom.notify_attachment": "  + 文件 {file}",
    "wecom.notify_dry_run": "试运行:未发送任何消息。",
    "wecom.notify_invalid": "企业微信无法送达:{advisors}(请检查其 userid)",
    "wecom.notify_missing": "以下客户经理没有工作簿文件:{advisors}(请用 assign 生成)",
    "wecom.notify_text": (
        "{campaign} · {name}:您名下有 {clients} 位客户。\n"
        "当前待跟进:{due} 位(回电已到期 {callback},需再拨 {retry},从未拨打 {never})。\n"
        "您的漏斗:已拨打 {called},已接通 {reached},已加企业微信 {wecom}"
        "(企业微信确认 {confirmed}),已推送 {pushed},已转化 {converted}。"
    ),
    "wecom.transfers_title": "{campaign} 企业微信客户继承",
    "wecom.transfer_done": "接替完毕",
    "wecom.transfer_waiting": "等待接替(24 小时后自动)",
    "wecom.transfer_refused": "客户拒绝",
    "wecom.transfer_over_limit": "接替成员客户已达上限",
    "wecom.transfer_not_started": "未开始(见 errcode)",
    "wecom.handover": (
        "企业微信:{customers} 位客户中 {started} 位已通过 {api} 开始继承;"
        "用 `reactivate wecom transfers` 跟踪结果。"
    ),
    "wecom.handover_failed": "  errcode {errcode}:{count} 位客户未能继承",
    "wecom.handover_no_userid": (
        "客户经理 {code} 在名册中没有企业微信 userid:无法继承其企业微信客户;请补上后重新导入名册"
    ),
    # results
    "label.files": "文件",
    "label.applied": "已应用",
    "label.events": "新事件",
    "label.foreign": "非本人客户",
    "label.nobody": "无人",
    "label.import": "导入",
    "label.client": "客户",
    "label.advisor": "客户经理",
    "label.mobile": "手机号",
    "label.attempts": "拨打次数",
    "label.last_call": "最近通话",
    "label.last_result": "最近结果",
    "label.due": "到期",
    "label.last_upload": "最近上传",
    "label.idle_days": "未上传天数",
    "summary.results": "上传结果到活动 {campaign}",
    "summary.same_file": "{file}:同一文件已上传过(导入 {id}),已跳过。",
    "summary.undo": "导入 {id}:作废 {voided} 个事件;更新 {clients} 位客户。",
    "summary.undo_reason": "撤销导入 {id}",
    "summary.correct": "客户 {client_id}:作废了 {stage} 及之后阶段的 {voided} 个事件。",
    "summary.followups": "活动 {campaign} 待跟进:{count} 位客户",
    "summary.no_followups": "活动 {campaign} 目前没有需要跟进的客户。",
    "summary.idle": "{days} 天及以上未上传结果的客户经理:",
    "summary.followup_workbooks": "已在 {dir} 下生成 {count} 份跟进名单",
    "followup.callback_due": "预约回电时间已到",
    "followup.retry": "未接或忙线:再次拨打",
    "followup.never_called": "已分配,尚未拨打",
    "followup.reached_not_wecom": "已接通,尚未添加企业微信",
    "followup.wecom_not_pushed": "已添加企业微信,尚未推送产品",
    "error.no_result_files": "{path}:其中没有 .xlsx、.xls 或 .csv 文件",
    "error.import_not_found": "没有导入 {id}:请查看 `reactivate imports list`。",
    "error.import_not_results": "导入 {id} 是 {kind} 导入,不是结果上传。",
    "error.import_undone": "导入 {id} 已经撤销过。",
    "error.import_not_applied": "导入 {id} 的状态为 {status}:没有写入可撤销的内容。",
    "error.stage_unknown": "“{stage}”不是阶段;请用 {stages} 之一。",
    "error.reason_required": "请用 --reason 说明原因:原因会随更正一起保存。",
    "error.not_member": "客户 {client_id} 不在活动 {campaign} 中。",
    "reject.bad_disposition": "“{value}”不是通话结果(请用 {choices} 之一)",
    "reject.disposition_off": "本活动不使用通话结果“{value}”",
    "reject.unknown_client": "数据库中没有客户 {client_id}",
    "reject.not_member": "客户 {client_id} 不在活动 {campaign} 中",
    "reject.control": "客户 {client_id} 属于对照组:不应联系",
    "reject.foreign": (
        "客户 {client_id} 分配给了 {owner},不是 {advisor};如确需记录请使用 --allow-foreign"
    ),
    "reject.unknown_advisor": "“{value}”不是花名册中的工号或姓名",
    "reject.no_advisor": (
        "此行没有客户经理:客户尚未分配;请增加“客户经理/工号”列或使用 --advisor 工号"
    ),
    "reject.stamp_invalid": (
        "{file} 与下发时不符:名单的隐藏校验与内容不符(被修改过,或不是本数据库下发的);"
        "请上传原样下发的名单"
    ),
    "reject.stamp_not_issued": (
        "{file} 与下发时不符:其隐藏校验属于 {advisor} 的名单(第 {issue} 期),"
        "该名单没有客户 {client_id}(共 {count} 位这样的客户):"
        "校验被放到别的名单上,整个文件拒收,使用 --allow-foreign 也一样"
    ),
    "reject.stamp_campaign": "该名单是为活动 {other} 下发的,不是 {campaign}",
    "reject.unknown_product": "“{value}”不是本活动的产品({choices})",
    "reject.risk_unknown": "客户 {client_id} 的风险承受能力未知,不能推送产品;请先随客户资料导入",
    "reject.unsuitable": "产品 {product} 风险等级为 R{product_risk},高于客户的 C{risk}(适当性)",
    "reject.future": "{value} 是未来的时间({tz})",
    "reject.before_start": "{value} 早于活动开始日期({start})",
    "reject.after_end": "{value} 晚于活动结束日期({end})",
    "reject.before_assigned": "{value} 早于客户分配时间({assigned})",
    "reject.dnc_listed": "客户 {client_id} 在勿扰名单上:不能拨打",
    "reject.dnc_campaign": "客户 {client_id} 已要求不再联系({when}):不能再拨打",
    "reject.time_without": "填写了 {column},但没有填写 {other}",
    "reject.call_conflict": (
        "第 {first} 行和第 {second} 行给同一通电话(客户 {client_id},{when})"
        "填了两个结果:{first_result} 和 {second_result}"
    ),
    "reject.call_conflict_files": (
        "{first_file} 第 {first} 行和 {second_file} 第 {second} 行给同一通电话"
        "(客户 {client_id},{when})填了两个结果:{first_result} 和 {second_result}"
    ),
    # report
    "report.bad_by": "--by“{value}”不是可用的分组;请用 {choices} 之一",
    "report.bad_stage": "{flag}“{value}”不是本活动的阶段;请用 {stages} 之一",
    "report.bad_window": "--since {since} 晚于 --until {until};--since 应为较早的日期",
    "report.bad_stale": "--stale-days {value}:请给出 0 或以上的天数",
    "report.out_needed": "--format xlsx 会生成工作簿:请用 --out 文件.xlsx 指定文件名",
    "report.written": "报表已写入 {path}",
    "report.unknown": "(未知)",
    "report.stage.called": "已拨打",
    "report.stage.reached": "已触达",
    "report.stage.wecom_added": "已添微",
    "report.stage.pushed": "已推送",
    "report.stage.converted": "已转化",
    "report.title": "{name}({slug}):{assigned} 位已分配客户的漏斗(对照组:{control})",
    "report.window": "统计 {since} 至 {until} 的记录",
    "report.caption": (
        "比例:占已分配客户;占上一阶段:占前一阶段。累计口径:有该阶段或后续阶段记录即计入该阶段。"
        "95% Wilson 区间。绿色:达标;红色:未达标。"
    ),
    "report.col.stage": "阶段",
    "report.col.clients": "客户数",
    "report.col.of_assigned": "占已分配",
    "report.col.of_previous": "占上一阶段",
    "report.col.ci95": "95% 区间",
    "report.col.target": "目标",
    "report.col.median_days": "中位天数",
    "report.col.confirmed": "企业微信确认",
    "report.col.key": "键",
    "report.col.name": "名称",
    "report.col.assigned": "已分配",
    "report.col.attempt": "第几次拨打",
    "report.col.called_at_least": "至少拨打该次数的客户",
    "report.col.reached_then": "该次拨打触达",
    "report.col.share": "比例",
    "report.col.client": "客户",
    "report.col.mobile": "手机号",
    "report.col.advisor": "客户经理",
    "report.col.last_call": "最近拨打",
    "report.col.callback": "预约回电",
    "report.confirmed": "已添微:{clients} 位中 {count} 位经企业微信接口确认",
    "report.no_activity": "激活:尚未导入交易活动数据(`reactivate activity load FILE`)。",
    "report.treated": "激活(重新交易),干预组:{clients} 位成员中 {reactivated} 位({rate})",
    "report.control": "激活,对照组:{clients} 位中 {reactivated} 位({rate})",
    "report.uplift": "提升:{uplift} 个百分点(95% Newcombe 区间 {low} 至 {high})",
    "report.no_control": "无法衡量提升:本活动没有对照组(assign --holdout)。",
    "report.by_stage": "按到达阶段(仅描述,不代表因果):{shares}",
    "report.by_title": "按{by}",
    "report.by.advisor": "客户经理",
    "report.by.branch": "营业部",
    "report.by.week": "分配周",
    "report.by.risk": "风险等级",
    "report.by.asset_band": "资产区间",
    "report.by.attempt": "拨打次数",
    "report.ranked": "按{stage} 95% 区间下限排序,样本小的不会因运气排在前面",
    "report.attempts_title": "哪一次拨打触达了客户(已触达客户,按拨打次序)",
    "report.dropped_title": "止步于{stage}之前:{count} 位客户(已脱敏)",
    "report.dropped_more": "……另有 {count} 位:完整名单请用 --format csv 或 xlsx",
    "report.dq.title": "数据质量",
    "report.dq.skipped": "{count} 位客户跳过了阶段(有后续阶段记录而无前序记录;已计入)",
    "report.dq.never_called": "{count} 位已分配客户 {days} 天后仍未拨打",
    "report.dq.dnc": "勿扰:名单内成员 {members} 位,通话中要求勿扰 {calls} 位",
    "report.dq.uploads": "被拒绝的上传:{refused} 次;被拒绝的行:{rejected}",
    "report.dq.silent": "{count} 位有客户的客户经理尚未上传任何结果:{codes}",
    "report.dq.silent_none": "每位有客户的客户经理都已上传结果",
    "report.dq.wecom": "{count} 条自报添微在企业微信中查不到",
    "report.dq.wecom_never": "尚未同步企业微信:自报添微未经核对",
    "report.md.assigned": "已分配 {assigned} 位客户 · {date}",
    "report.md.treated_only": "激活率:干预组 {rate}。",
    "report.md.uplift": "激活率:干预组 {treated},对照组 {control}:提升 {uplift} 个百分点(95% 区间 {low} 至 {high})",
    "report.md.ranked": "客户经理,按{stage} 95% 区间下限排序:",
    "report.md.top": "前 {count} 名:",
    "report.md.bottom": "后 {count} 名:",
    "report.xlsx.summary": "汇总",
    "report.xlsx.chart": "漏斗:占已分配客户的比例",
    "report.xlsx.dropped": "流失名单",
    "client.not_member": "客户“{client_id}”不是活动 {slug} 的成员;请核对客户号(前导零也算)。",
    "client.title": "客户 {client_id}(活动 {slug})",
    "client.summary": "{name} · {mobile} · 营业部 {branch} · 客户经理 {advisor} · 分配于 {assigned}",
    "client.flags": "对照组:{control} · 勿扰:{dnc}",
    "client.col.id": "#",
    "client.col.when": "时间",
    "client.col.event": "事件",
    "client.col.value": "值",
    "client.col.source": "来源",
    "client.col.by": "记录人",
    "client.voided": "已被 #{id} 作废",
    "client.voids": "作废 #{id}",
    "client.no_events": "该客户尚无记录。",
    # access: roles on a shared PostgreSQL
    "access.needs_postgres": "权限控制需要共享的 PostgreSQL；SQLite 文件只有一个用户，即其所有者。",
    "access.not_initialised": "该数据库尚未设置角色：请先由模式所有者运行 `reactivate access init`。",
    "access.no_role": "{user} 在该数据库中没有角色；运营可授予：reactivate access grant {user} --role ops|manager|advisor|analyst",
    "access.denied": "{user}（{role}）不能{action}；只有 {allowed} 可以。",
    "access.db_refused": "数据库拒绝：{problem}。您的角色不允许此操作；运营可说明其权限（reactivate access list）。",
    "access.upload_other_advisor": "客户经理 {advisor} 只能上传自己客户的结果，不能以 --advisor {other} 上传。",
    "access.upload_not_own": "客户经理 {advisor} 只能上传自己客户的结果；{file} 第 {row} 行是 {owner} 的客户。未写入任何内容。",
    "access.correct_not_own": "客户经理 {advisor} 只能更正自己的客户；{client} 是 {owner} 的客户。",
    "access.undo_not_own": "{user} 只能撤销自己的上传；导入 {id} 由 {by} 上传。",
    "access.nobody": "无客户经理",
    "access.bad_name": "'{name}' 不是可创建的角色名：仅限字母、数字、_ . -，以字母或 _ 开头，最多 63 个字符。",
    "access.bad_role": "--role {role}：请选择 {roles} 之一。",
    "access.branch_unknown": "没有代码或名称为 '{branch}' 的营业部。营业部（代码 名称）：{known}。",
    "access.manager_needs_branch": "经理至少需要一个 --branch CODE（其可见的营业部）。",
    "access.advisor_needs_code": "客户经理需要 --advisor CODE（其在名册中的代码）。",
    "access.branch_only_manager": "--branch 仅用于经理。",
    "access.advisor_only_advisor": "--advisor 仅用于客户经理。",
    "access.no_grant": "{user} 没有可撤销的角色（见 `reactivate access list`）。",
    "access.init_done": "已在模式 {schema} 中设置角色：{groups}；{policies} 条行级安全策略。",
    "access.init_created": "已创建组角色：{names}",
    "access.granted": "{user} 现在是 {role}{scope}。",
    "access.granted_created": "已创建登录角色 {user}（无密码）：由 DBA 设置密码（ALTER ROLE ... PASSWORD）或按券商通常的认证方式接入。",
    "access.revoked": "{user} 已无角色（原为 {role}）；登录本身保留。",
    "access.scope_advisor": " {advisor}",
    "access.scope_branches": "，营业部 {branches}",
    "access.none": "尚无登录拥有角色：reactivate access grant USER --role ops|manager|advisor|analyst",
    "access.action.load": "导入账户",
    "access.action.assign": "分配客户",
    "access.action.reassign": "重新分配客户",
    "access.action.roster": "修改名册",
    "access.action.dnc": "修改免打扰名单",
    "access.action.activity": "导入交易活动",
    "access.action.wecom": "操作企业微信",
    "access.action.campaign": "登记活动",
    "access.action.close": "关闭或清除活动",
    "access.action.export": "导出全部分配",
    "access.action.grant": "授予或撤销角色",
    "access.action.list": "列出角色",
    "access.action.workbooks": "签发工作簿",
    "access.action.upload": "上传结果",
    "access.action.undo": "撤销上传",
    "access.action.correct": "更正结果",
    "label.user": "用户",
    "label.role": "角色",
}
