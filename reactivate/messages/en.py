"""Every user-facing text in English, by key (grouped by where it appears)."""

from __future__ import annotations

TEXTS: dict[str, str] = {
    # demo, continued
    "demo.step.activity": "Simulating the core system's later export (who traded again) and loading it",
    "demo.uploaded": "Upload of the filled workbooks",
    "demo.activity": "SIMULATED activity export: {rows} clients traded again, {reactivated} reactivations recorded",
    "demo.next": "Explore: reactivate report -c 2020h2-dormant --db {db} --by branch | --format json | --dropped wecom_added",
    # activity, closing
    "summary.activity": "Trading activity from {file}",
    "summary.closed": "Campaign {slug} closed: no more loads, assignments or uploads.",
    "summary.already_closed": "Campaign {slug} was already closed.",
    "summary.purged": "Personal data removed from {count} clients (ids, events and figures kept).",
    # demo
    "demo.step.load": "Registering the sample campaign, loading the roster, do-not-call list and dormant accounts",
    "demo.step.assign": "Assigning at the campaign's start (10% kept out as a control group)",
    "demo.step.simulate": "Simulating the advisors' calls (seeded; not real work) and filling their workbooks",
    "demo.step.upload": "Uploading the filled workbooks",
    "demo.step.report": "The report",
    "demo.simulated": "SIMULATED: {rows} client rows filled in {count} workbooks under {folder}",
    "error.interrupted": "Interrupted; nothing was written.",
    "error.rejects_unwritable": "Cannot write the rejects file {path} ({problem}); nothing was applied. Pick another place with --rejects.",
    "error.interrupted_saved": "Interrupted after the change was saved: it stays applied (`reactivate imports list` shows it).",
    "error.demo_not_fresh": "The demo needs a fresh database; {url} already holds campaign members. Pick another --db.",
    # assignment
    "label.new": "new",
    "label.assets": "assets",
    "label.median_assets": "median assets",
    "progress.workbooks": "Writing workbooks",
    "summary.assign": "Advisors' books in {campaign}",
    "summary.fairness": "Fairness: clients per advisor {min_clients}-{max_clients}; assets per advisor {min_assets}-{max_assets}",
    "summary.assigned": "Assigned {assigned} (kept with their previous advisor: {kept}); control group {control}; unassigned {unassigned}.",
    "summary.unassigned_branch": "  unassigned in {branch}: {count} (no room; --cross-branch lets them go elsewhere)",
    "summary.workbooks": "{count} workbooks written under {folder}",
    "summary.method": "Method: {method}",
    "summary.method_text": (
        "branch first; previous owners kept within capacity; counts levelled by capacity "
        "(water-filling, D'Hondt); assets dealt by a snake draft over clients sorted by assets; "
        "ties broken by the seeded RNG"
    ),
    "label.code": "code",
    "label.unknown": "unknown",
    "label.reactivated": "reactivated",
    "summary.exported": "{count} rows written to {path}",
    "error.holdout": "--holdout {value}: give a share from 0 up to (not including) 1, e.g. 0.1",
    "error.assigned_at_future": "--assigned-at {value} is in the future",
    "error.reassign_target": "--to {code}: not an active advisor other than --from",
    "error.not_a_date": "'{value}' is not a date like 2020-07-01",
    "error.xlsx_needs_out": "xlsx needs --out FILE",
    # load, roster, do-not-call (core)
    "label.added": "added",
    "label.active": "active",
    "label.inactive": "inactive",
    "label.already": "already listed",
    "label.members_flagged": "members flagged",
    "progress.reading": "Reading {file}",
    "progress.upload_reading": "Reading the sheets",
    "progress.upload_writing": "Checking and writing",
    "exclusion.frozen_or_closed": "account frozen or closed",
    "exclusion.traded_recently": "traded too recently to be dormant",
    "exclusion.assets_below_range": "assets below the campaign's range",
    "exclusion.assets_above_range": "assets above the campaign's range",
    "exclusion.overlap": "already in another open campaign",
    "error.campaign_closed": "Campaign {slug} is closed: no more loads, assignments or uploads.",
    "error.branch_unknown": "No roster branch named '{name}'. Branches: {known}. Load the roster first.",
    "error.alias_args": "Give NAME and CANONICAL, or --file MAPPING.",
    "reject.dnc_empty": "neither a client id nor a mobile",
    # labels shared by tables and files
    "label.campaign": "campaign",
    "label.name": "name",
    "label.start": "start",
    "label.end": "end",
    "label.status": "status",
    "label.rows": "rows",
    "label.loaded": "loaded",
    "label.updated": "updated",
    "label.unchanged": "unchanged",
    "label.excluded": "excluded",
    "label.rejected": "rejected",
    "label.duplicates": "duplicates",
    "label.advisors": "advisors",
    "label.branches": "branches",
    "label.branch": "branch",
    "label.clients": "clients",
    "label.count": "count",
    "label.reason": "reason",
    "label.file": "file",
    "label.sheet": "sheet",
    "label.row": "row",
    "label.column": "column",
    "label.when": "when",
    "label.who": "who",
    "label.kind": "kind",
    "label.id": "id",
    "label.sha256": "sha256",
    "label.members": "members",
    "label.value": "value",
    # summaries
    "summary.load": "Load of {file} into {campaign}",
    "summary.roster": "Roster from {file}",
    "summary.dnc": "Do-not-call list from {file}",
    "summary.dry_run": "Dry run: nothing was written.",
    "summary.rejects_written": "Rejected rows written to {path}",
    "summary.unknown_branches": "Branches not in the roster: {names} ({count} clients)",
    "summary.overlap": "{count} clients are already in another open campaign: {action}",
    "summary.overlap_skipped": "left out (use --allow-overlap to add them)",
    "summary.overlap_allowed": "added anyway (--allow-overlap)",
    "summary.dnc_members": "{count} joining clients are on the do-not-call list (flagged, never called)",
    "summary.campaign_added": "Campaign {slug} registered.",
    "summary.campaign_updated": "Campaign {slug} updated.",
    "summary.init": "Database ready at {url} (schema version {version}).",
    "summary.backup": "Backup of {url} written to {file} ({size} bytes). Restore it by copying it over the database while no command runs.",
    "error.backup_postgresql": "reactivate db backup copies SQLite files; back up PostgreSQL with pg_dump: pg_dump -Fc -f FILE '{url}' (restore into an empty database with pg_restore -d URL FILE; a plain-SQL dump with psql -f FILE URL).",
    "error.backup_exists": "{file} already exists; a backup is never written over a file. Name a new one.",
    "error.backup_target": "Cannot create the backup {file}: {problem}",
    "error.backup_nothing": "No database at {file} to back up.",
    "warning.db_readable": "Warning: other users of this machine can read {files}, which holds clients' names and mobiles; restrict it: chmod 600 {files}",
    "error.purge_busy": "The personal data is blanked, but another program has the database open, so old copies may remain in its write-ahead log; run the same command again when nothing else uses the database.",
    "error.purge_not_owner": "The personal data is blanked, but old copies remain in table {table} until it is rewritten, which only its owner may do: ask them to run VACUUM FULL {table}.",
    "error.scratch_not_private": "{folder} is not a folder of your own (another user's, or a link): scratch files with clients' data cannot go there. Remove it, or set TMPDIR to a private folder.",
    "summary.db_created": "Database {url} created at schema revision {after}.",
    "summary.db_current": "Database {url} is already at schema revision {after}.",
    "summary.db_upgraded": "Database {url} upgraded from {before} to schema revision {after}.",
    "label.db_revision": "schema revision {revision}",
    "label.db_legacy_version": "schema version {version} (before revisions)",
    "summary.alias": "Branch name '{alias}' now means '{canonical}' ({moved} clients moved).",
    "summary.no_campaigns": "No campaign registered yet: add one with `reactivate campaign add FILE`.",
    "summary.no_imports": "Nothing imported yet.",
    # errors
    "error.prefix": "Error",
    "error.rows_rejected": (
        "{count} row(s) rejected, nothing written. First: {first}. "
        "Fix them, or use --skip-invalid to load the good rows and write the rejects to a file."
    ),
    "error.pad_ids": "--pad-ids {width}: the width ids are padded to is 1 to {most}",
    "error.load_needs_confirmation": (
        "Nothing written: the load would add {loaded} new clients to {campaign}, which has "
        "{members} (more than {limit} more). Check the file is this campaign's and its ids "
        "kept their leading zeros, then load again with --yes."
    ),
    "error.more_rejections": "... and {count} more",
    "error.campaign_not_found": (
        "No campaign '{slug}'. Registered: {known}. Add it with `reactivate campaign add FILE`."
    ),
    "error.campaign_key": "{file}: key '{key}': {problem}",
    "error.campaign_toml": "{file}: not valid TOML: {problem}",
    "problem.toml_nesting": "arrays or tables nested too deeply",
    "error.file_missing": "{file}: no such file",
    "error.file_format": "{file}: cannot read files of type '{suffix}'; use .xlsx, .xls or .csv",
    "error.file_unreadable": "{file}: cannot be read as a spreadsheet: {problem}",
    "error.sheet_missing": "{file}: no sheet named '{sheet}'; sheets: {sheets}",
    "error.no_data": "{file}: no sheet holds data",
    "error.no_data_csv": "{file}: the file is empty",
    "error.no_header": (
        "{file}, sheet {sheet}: no header row found with the column {missing} "
        "(looked for: {aliases}); name the column with --map 'HEADER=field'"
    ),
    "error.no_header_csv": (
        "{file}: no header row found with the column {missing} "
        "(looked for: {aliases}); name the column with --map 'HEADER=field'"
    ),
    "problem.not_a_file": "not a file",
    "problem.encoding": "not UTF-8, UTF-16 or GB18030 text",
    "problem.csv_row": "row {row}: {problem}",
    "problem.html_xls": "it is a web page named .xls; open it in Excel and save it as .xlsx",
    "error.workbook_too_big": "{file}: part {part} {problem}; it is not read",
    "error.workbook_unpacked": "{file}: unpacks to {size} MiB, more than the {cap} MiB read",
    "error.sheet_too_big": (
        "{file}, sheet {sheet}: {problem}; at most {cap} cells are read (rows x columns from "
        "A1). Delete the rows below the data and the columns to its right (select them, "
        "right-click, Delete), or split the sheet"
    ),
    "problem.unpacked_size": "unpacks to more than {cap} MiB",
    "problem.unpack_ratio": "unpacks to more than {ratio} times its packed size (a zip bomb?)",
    "problem.size_mismatch": "unpacks to more than its header says (a damaged or forged file)",
    "problem.shared_strings": "holds more than {cap} shared strings",
    "problem.dimension": "declares the range {ref} ({cells} cells)",
    "problem.cell_count": "holds more than {cells} cells",
    "problem.far_cell": "has a cell as far as {ref} ({cells} cells from A1)",
    "error.bad_map": "--map '{spec}': expected HEADER=field with field one of {fields}",
    "error.db_url": "Cannot open database {url}: {problem}",
    "error.db_version": (
        "Database {url} has schema version {found}; this reactivate knows up to {known}. "
        "Upgrade reactivate."
    ),
    "error.db_revision": (
        "Database {url} is at schema revision {found}, which this reactivate (revision {known}) "
        "does not know: a newer release upgraded it. Install that release or a later one."
    ),
    "error.advisor_unknown": "No advisor with code '{code}' in the roster.",
    "error.stamp_damaged": (
        "{file} is not as issued: the hidden sheet '{sheet}' that identifies an issued "
        "workbook is damaged ({problem}); upload the workbook as it was issued, or copy the "
        "filled rows into a freshly issued one."
    ),
    "error.stamp_missing": (
        "{file} is not as issued: it is a workbook reactivate issued, but its hidden sheet "
        "'{sheet}' that identifies it was deleted; upload the workbook as it was issued, or "
        "copy the filled rows into a freshly issued one."
    ),
    # where a rejected row is (errors.Rejection, reject files)
    "where.sheet": "sheet {sheet}",
    "where.row": "row {row}",
    "where.column": "column {column}",
    "where.separator": ", ",
    "where.reason": "{where}: {reason}",
    "where.reasons_separator": "; ",
    # row rejection reasons
    "reject.no_id": "no client id",
    "reject.bad_mobile": "mobile '{value}' is not 11 digits starting with 1",
    "reject.bad_date": "'{value}' is not a date (expected 2020-01-05, 2020/1/5, 20200105 or an Excel date)",
    "reject.bad_number": "'{value}' is not a number",
    "reject.bad_risk": "'{value}' is not a risk level (C1-C5 or 保守型/谨慎型/稳健型/积极型/激进型)",
    "reject.bad_bool": "'{value}' is not yes or no (是/否, Y/N, 1/0)",
    "reject.bad_int": "'{value}' is not a whole number",
    "reject.int_too_big": "'{value}' is too large: at most {limit}",
    "reject.conflict": "client {client_id} appears again at row {other} with different {fields}",
    "reject.required": "no {field}",
    "reject.bad_status": "'{value}' is not 在职/离职 (active/left)",
    "reject.id_space": "id '{value}' has a space or line break inside; an id has none",
    "reject.id_invisible": (
        "id '{value}' holds the control or invisible character {char}; type the id again"
    ),
    "reject.id_too_long": "id '{value}' is {length} characters long; an id has at most {most}",
    "reject.id_formula": "id '{value}' is a spreadsheet formula, not an id",
    "reject.lost_zeros": (
        "{value} looks like client {client_id} with its leading zeros lost; "
        "--pad-ids {width} to fix"
    ),
    "reject.unknown_client_lost_zeros": (
        "no client {value} in the database; {client_id} is in campaign {campaign}: were its "
        "leading zeros lost? Format the column as text, type the ids again and upload"
    ),
    # wecom
    "wecom.env_missing": (
        "{var} is not set: export it with the corp id / app secret of the WeCom app"
    ),
    "wecom.env_agentid": "{var} '{value}' is not a whole number (the app's AgentId)",
    "wecom.env_missing_agentid": (
        "{var} is not set: app messages need the AgentId of the WeCom app "
        "(管理后台 → 应用管理 → the app)"
    ),
    "wecom.env_missing_webhook": (
        "{var} is not set: export the key of the group robot's webhook URL (…/webhook/send?key=KEY)"
    ),
    "wecom.hint": " (WeCom hint: {hint})",
    "wecom.bad_answer": "WeCom {api} gave an answer reactivate does not understand: {problem}",
    "wecom.token_store": "The WeCom access-token cache in the database failed: {problem}",
    "wecom.unreachable": (
        "Cannot reach WeCom for {api} after {attempts} attempt(s): {problem}. "
        "Check the network, or {var} for a private deployment."
    ),
    "wecom.gave_up": (
        "WeCom {api} is still busy or rate-limited (errcode {errcode}) after {attempts} attempts; "
        "wait a few minutes and run the command again."
    ),
    "wecom.bad_credentials": (
        "WeCom rejected the corp id or app secret (errcode {errcode}). "
        "Check {corpid_var} (我的企业 → 企业ID) and {secret_var} (the Secret of the self-built app "
        "added to 客户联系 → 可调用接口的应用)."
    ),
    "wecom.api_forbidden": (
        "WeCom does not let this app call {api} (errcode 48002). Add the app to "
        "客户联系 → API → 可调用接口的应用 in the admin console, or use that app's secret."
    ),
    "wecom.not_visible": (
        "WeCom {api}: advisor {userid} is outside the app's visibility (errcode 60011). "
        "Add them to the app's 可见范围 in the admin console, "
        "or fix their WeCom userid in the roster."
    ),
    "wecom.some_advisor": "(one of the advisors of this call)",
    "wecom.ip_not_trusted": (
        "WeCom refused the call from IP {ip} (errcode 60020): add it to the app's 企业可信IP in "
        "the admin console, or run reactivate from a machine whose IP is already trusted."
    ),
    "wecom.token_missing": (
        "WeCom {api} got no access token (errcode {errcode}): this is a bug in reactivate, "
        "please report it with the hint."
    ),
    "wecom.token_rejected": (
        "WeCom {api} rejected a freshly fetched access token (errcode {errcode}); run the command "
        "again, and if it persists check that no other tool resets the app's secret."
    ),
    "wecom.bad_agentid": (
        "WeCom {api}: the AgentId does not match the app (errcode {errcode}); check {agentid_var}."
    ),
    "wecom.bad_webhook_key": (
        "WeCom rejected the group robot key (errcode {errcode}); check {key_var}."
    ),
    "wecom.contact_way_quota": (
        "WeCom's quota of API-created contact ways is used up (errcode {errcode}); remove the "
        "ways of ended campaigns with `reactivate wecom qr --campaign SLUG --remove`."
    ),
    "wecom.failed": "WeCom {api} failed: errcode {errcode} ({errmsg})",
    "wecom.bad_state": "contact-way state '{state}' must be 1-{limit} ASCII characters",
    "wecom.bad_remark": "contact-way remark must be at most {limit} characters",
    "wecom.too_long": "{what} is {size} bytes; WeCom accepts at most {limit}",
    "wecom.too_many": "{count} {what}; WeCom accepts at most {limit} per call",
    # wecom commands
    "wecom.col_what": "what",
    "wecom.col_count": "count",
    "wecom.yes": "yes",
    "wecom.no": "no",
    "wecom.sync_title": "WeCom sync of {campaign}",
    "wecom.sync_advisors": "advisors asked",
    "wecom.sync_contacts": "relations seen",
    "wecom.sync_matched": "matched to an assigned client",
    "wecom.sync_preexisting": "of which on WeCom before assignment (not a campaign add)",
    "wecom.sync_events": "new events",
    "wecom.sync_unmatched": "new since the campaign started, no client fits",
    "wecom.sync_ambiguous": "ambiguous (a remark mobile fits several clients)",
    "wecom.sync_lost": "lost since the last sync",
    "wecom.sync_refused": (
        "  {advisor}: WeCom refused (errcode {errcode}); not read, nothing counted as lost"
    ),
    "wecom.sync_unlicensed": (
        "  {advisor}: no WeCom interface licence; not read, nothing counted as lost"
    ),
    "wecom.sync_ambiguity": (
        "  {advisor}: contact {external} has remark mobile {mobile}, which fits {clients} "
        "clients; fix the remark in WeCom"
    ),
    "wecom.without_userid": (
        "Advisors without a WeCom userid in the roster (left out): {advisors}"
    ),
    "wecom.qr_title": "WeCom contact ways of {campaign}",
    "wecom.qr_created": "created",
    "wecom.qr_existing": "already there",
    "wecom.qr_removed": "removed",
    "wecom.qr_already_gone": "already gone on WeCom",
    "wecom.qr_link": "QR link (goes into the next workbook)",
    "wecom.qr_remove_or_create": "--remove deletes every way of the campaign: drop --per-client",
    "wecom.qr_over_quota": (
        "--per-client needs {count} new contact ways but WeCom's API quota ({quota}) leaves "
        "{left}; remove ended campaigns' ways with `reactivate wecom qr --campaign SLUG "
        "--remove`, or use one way per advisor (without --per-client)"
    ),
    "wecom.notify_title": "WeCom messages for {campaign}",
    "wecom.notify_texts": "app messages sent",
    "wecom.notify_files": "workbooks sent",
    "wecom.notify_webhook": "group robot summary",
    "wecom.notify_robot": "group robot (markdown)",
    "wecom.notify_attachment": "  + file {file}",
    "wecom.notify_dry_run": "Dry run: nothing was sent.",
    "wecom.notify_invalid": "WeCom could not deliver to: {advisors} (check their userids)",
    "wecom.notify_missing": "No workbook on disk for: {advisors} (issue one with assign)",
    "wecom.notify_text": (
        "{campaign} · {name}: you have {clients} client(s).\n"
        "Follow-ups now: {due} (call-backs due {callback}, calls to retry {retry}, "
        "never called {never}).\n"
        "Your funnel so far: called {called}, reached {reached}, on WeCom {wecom} "
        "({confirmed} confirmed by WeCom), pushed {pushed}, converted {converted}."
    ),
    "wecom.transfers_title": "WeCom customer transfers of {campaign}",
    "wecom.transfer_done": "done",
    "wecom.transfer_waiting": "waiting (automatic after 24 h)",
    "wecom.transfer_refused": "refused by the customer",
    "wecom.transfer_over_limit": "colleague at WeCom's customer limit",
    "wecom.transfer_not_started": "not started (see errcode)",
    "wecom.handover": (
        "WeCom: {started} of {customers} customer(s) handed over with {api}; "
        "follow them with `reactivate wecom transfers`."
    ),
    "wecom.handover_failed": "  errcode {errcode}: {count} customer(s) not handed over",
    "wecom.handover_no_userid": (
        "Advisor {code} has no WeCom userid in the roster: their WeCom customers cannot be "
        "handed over; add it and load the roster again"
    ),
    # results
    "label.files": "files",
    "label.applied": "applied",
    "label.events": "new events",
    "label.foreign": "foreign",
    "label.nobody": "nobody",
    "label.import": "import",
    "label.client": "client",
    "label.advisor": "advisor",
    "label.mobile": "mobile",
    "label.attempts": "attempts",
    "label.last_call": "last call",
    "label.last_result": "last result",
    "label.due": "due",
    "label.last_upload": "last upload",
    "label.idle_days": "days idle",
    "summary.results": "Results upload into {campaign}",
    "summary.same_file": "{file}: the same file was uploaded before (import {id}); skipped.",
    "summary.undo": "Import {id}: {voided} event(s) voided; {clients} client(s) updated.",
    "summary.undo_reason": "undo of import {id}",
    "summary.correct": "Client {client_id}: {voided} event(s) from stage {stage} on voided.",
    "summary.followups": "Follow-ups in {campaign}: {count} client(s)",
    "summary.no_followups": "Nobody to follow up in {campaign} right now.",
    "summary.idle": "Advisors with no upload for {days} days or more:",
    "summary.followup_workbooks": "{count} follow-up workbook(s) written under {dir}",
    "followup.callback_due": "call-back time reached",
    "followup.retry": "no answer or busy: call again",
    "followup.never_called": "assigned, never called",
    "followup.reached_not_wecom": "reached, not yet on WeCom",
    "followup.wecom_not_pushed": "on WeCom, nothing pushed yet",
    "error.no_result_files": "{path}: no .xlsx, .xls or .csv files inside",
    "error.import_not_found": "No import {id}: see `reactivate imports list`.",
    "error.import_not_results": "Import {id} is not a results upload (its kind: {kind}).",
    "error.import_undone": "Import {id} was already undone.",
    "error.import_not_applied": "Import {id} was {status}: it wrote nothing to undo.",
    "error.stage_unknown": "'{stage}' is not a stage; use one of {stages}.",
    "error.reason_required": "Give a --reason: it is kept with the correction.",
    "error.not_member": "Client {client_id} is not in campaign {campaign}.",
    "reject.bad_disposition": "'{value}' is not a call result (use one of {choices})",
    "reject.disposition_off": "call result '{value}' is not used by this campaign",
    "reject.unknown_client": "no client {client_id} in the database",
    "reject.not_member": "client {client_id} is not in campaign {campaign}",
    "reject.control": "client {client_id} is in the control group: never contacted",
    "reject.foreign": (
        "client {client_id} is assigned to {owner}, not {advisor}; "
        "use --allow-foreign to record it anyway"
    ),
    "reject.unknown_advisor": "'{value}' is not an advisor code or name in the roster",
    "reject.no_advisor": (
        "no advisor for this row: the client is not assigned; add a 客户经理/工号 column "
        "or use --advisor CODE"
    ),
    "reject.stamp_invalid": (
        "{file} is not as issued: the workbook's hidden stamp does not match its contents "
        "(edited, or issued by another database); upload the workbook as it was issued"
    ),
    "reject.stamp_not_issued": (
        "{file} is not as issued: its hidden stamp is {advisor}'s workbook (issue {issue}), "
        "which did not list client {client_id} ({count} such clients): a stamp on another "
        "list is refused whole, --allow-foreign or not"
    ),
    "reject.stamp_campaign": "this workbook was issued for campaign {other}, not {campaign}",
    "reject.unknown_product": "'{value}' is not a product of this campaign ({choices})",
    "reject.risk_unknown": (
        "client {client_id}'s risk tolerance is unknown, so no product may be pushed; "
        "load it with the accounts first"
    ),
    "reject.unsuitable": (
        "product {product} is rated R{product_risk}, above the client's tolerance "
        "C{risk} (suitability)"
    ),
    "reject.future": "{value} is in the future ({tz})",
    "reject.before_start": "{value} is before the campaign started ({start})",
    "reject.after_end": "{value} is after the campaign ended ({end})",
    "reject.before_assigned": "{value} is before the client was assigned ({assigned})",
    "reject.dnc_listed": "client {client_id} is on the do-not-call list: no calls",
    "reject.dnc_campaign": (
        "client {client_id} asked not to be called again ({when}): no more calls"
    ),
    "reject.time_without": "{column} is filled but {other} is not",
    "reject.call_conflict": (
        "rows {first} and {second} give the same call (client {client_id}, {when}) two "
        "results: {first_result} and {second_result}"
    ),
    "reject.call_conflict_files": (
        "row {first} of {first_file} and row {second} of {second_file} give the same call "
        "(client {client_id}, {when}) two results: {first_result} and {second_result}"
    ),
    # report
    "report.bad_by": "--by '{value}' is not a breakdown; use one of {choices}",
    "report.bad_stage": "{flag} '{value}' is not a stage of this campaign; use one of {stages}",
    "report.bad_window": "--since {since} is after --until {until}; give the earlier date to --since",
    "report.bad_stale": "--stale-days {value}: give a number of days, 0 or more",
    "report.out_needed": "--format xlsx writes a workbook: name it with --out FILE.xlsx",
    "report.written": "Report written to {path}",
    "report.unknown": "(unknown)",
    "report.stage.called": "called",
    "report.stage.reached": "reached",
    "report.stage.wecom_added": "WeCom added",
    "report.stage.pushed": "pushed",
    "report.stage.converted": "converted",
    "report.title": "{name} ({slug}): funnel of {assigned} assigned clients (control group: {control})",
    "report.window": "evidence dated {since} to {until}",
    "report.caption": (
        "Share: of assigned clients; of prev.: of the stage before. Cumulative: a client counts at a stage with evidence for it "
        "or a later one. 95% Wilson intervals. Green: target met; red: missed."
    ),
    "report.col.stage": "stage",
    "report.col.clients": "clients",
    "report.col.of_assigned": "share",
    "report.col.of_previous": "of prev.",
    "report.col.ci95": "95% CI",
    "report.col.target": "target",
    "report.col.median_days": "med. days",
    "report.col.confirmed": "confirmed",
    "report.col.key": "key",
    "report.col.name": "name",
    "report.col.assigned": "assigned",
    "report.col.attempt": "attempt",
    "report.col.called_at_least": "called at least that often",
    "report.col.reached_then": "reached by that call",
    "report.col.share": "share",
    "report.col.client": "client",
    "report.col.mobile": "mobile",
    "report.col.advisor": "advisor",
    "report.col.last_call": "last call",
    "report.col.callback": "call back at",
    "report.confirmed": "WeCom added: {count} of {clients} confirmed by WeCom's API",
    "report.no_activity": (
        "Reactivation: no activity export loaded yet (`reactivate activity load FILE`)."
    ),
    "report.treated": "Reactivated (traded again), treated: {reactivated} of {clients} members ({rate})",
    "report.control": "Reactivated, control group: {reactivated} of {clients} ({rate})",
    "report.uplift": "Uplift: {uplift} percentage points (95% Newcombe interval {low} to {high})",
    "report.no_control": "Uplift can't be measured: the campaign has no control group (assign --holdout).",
    "report.by_stage": "By stage reached (descriptive, not causal): {shares}",
    "report.by_title": "By {by}",
    "report.by.advisor": "advisor",
    "report.by.branch": "branch",
    "report.by.week": "week assigned",
    "report.by.risk": "risk tolerance",
    "report.by.asset_band": "asset band",
    "report.by.attempt": "attempt",
    "report.ranked": "ranked by the lower bound of the 95% interval of {stage}, so small samples do not top the list by luck",
    "report.attempts_title": "Which call reached the client (reached clients, by call number)",
    "report.dropped_title": "Dropped before {stage}: {count} clients (masked)",
    "report.dropped_more": "… and {count} more: use --format csv or xlsx for the full list",
    "report.dq.title": "Data quality",
    "report.dq.skipped": "{count} clients skipped a stage (later evidence without earlier; counted)",
    "report.dq.never_called": "{count} assigned clients never called after {days} days",
    "report.dq.dnc": "do not call: {members} members on the list, {calls} asked on a call",
    "report.dq.uploads": "uploads refused: {refused}; rows rejected: {rejected}",
    "report.dq.silent": "{count} advisors with clients have uploaded nothing: {codes}",
    "report.dq.silent_none": "every advisor with clients has uploaded results",
    "report.dq.wecom": "{count} self-reported WeCom adds that WeCom does not show",
    "report.dq.wecom_never": "no WeCom sync yet: self-reported WeCom adds are unchecked",
    "report.md.assigned": "{assigned} clients assigned · {date}",
    "report.md.treated_only": "Reactivated: {rate} of treated.",
    "report.md.uplift": (
        "Reactivated: {treated} treated vs {control} control: uplift {uplift} pp "
        "(95% CI {low} to {high})"
    ),
    "report.md.ranked": "Advisors, ranked by the lower bound of the 95% interval of {stage}:",
    "report.md.top": "Top {count}:",
    "report.md.bottom": "Bottom {count}:",
    "report.xlsx.summary": "summary",
    "report.xlsx.chart": "Funnel: share of assigned clients",
    "report.xlsx.dropped": "dropped",
    "client.not_member": (
        "Client '{client_id}' is not a member of campaign {slug}; check the id "
        "(leading zeros count)."
    ),
    "client.title": "Client {client_id} in {slug}",
    "client.summary": (
        "{name} · {mobile} · branch {branch} · advisor {advisor} · assigned {assigned}"
    ),
    "client.flags": "control group: {control} · do not call: {dnc}",
    "client.col.id": "#",
    "client.col.when": "when",
    "client.col.event": "event",
    "client.col.value": "value",
    "client.col.source": "source",
    "client.col.by": "recorded by",
    "client.voided": "voided by #{id}",
    "client.voids": "voids #{id}",
    "client.no_events": "No events recorded for this client yet.",
    # listings: settings, kinds and statuses in the user's words
    "label.slug": "slug",
    "label.branch_code": "code",
    "label.aliases": "aliases",
    "column.code": "code",
    "column.wecom_userid": "wecom_userid",
    "column.capacity": "capacity",
    "column.active": "active",
    "value.status.open": "open",
    "value.status.closed": "closed",
    "value.disposition.connected": "connected",
    "value.disposition.no_answer": "no_answer",
    "value.disposition.busy": "busy",
    "value.disposition.wrong_number": "wrong_number",
    "value.disposition.refused": "refused",
    "value.disposition.do_not_call": "do_not_call",
    "value.disposition.callback": "callback",
    "value.kind.accounts": "accounts",
    "value.kind.roster": "roster",
    "value.kind.dnc": "dnc",
    "value.kind.activity": "activity",
    "value.kind.results": "results",
    "value.import_status.applied": "applied",
    "value.import_status.refused": "refused",
    "value.import_status.skipped": "skipped",
    "value.import_status.dry_run": "dry_run",
    "value.import_status.undone": "undone",
    "value.import_status.pending": "pending",
    "setting.slug": "slug",
    "setting.name": "name",
    "setting.start": "start",
    "setting.end": "end",
    "setting.dormancy.as_of": "dormancy.as_of",
    "setting.dormancy.min_days": "dormancy.min_days",
    "setting.dormancy.min_assets": "dormancy.min_assets",
    "setting.dormancy.max_assets": "dormancy.max_assets",
    "setting.products": "products",
    "setting.stages": "stages",
    "setting.dispositions": "dispositions",
    "setting.targets.called": "targets.called",
    "setting.targets.reached": "targets.reached",
    "setting.targets.wecom_added": "targets.wecom_added",
    "setting.targets.pushed": "targets.pushed",
    "setting.targets.converted": "targets.converted",
    "setting.timezone": "timezone",
    "setting.asset_edges": "asset_edges",
    "setting.assignment.max_per_advisor": "assignment.max_per_advisor",
    "setting.assignment.keep_owner": "assignment.keep_owner",
    "setting.assignment.cross_branch": "assignment.cross_branch",
    "setting.assignment.holdout": "assignment.holdout",
    "setting.assignment.seed": "assignment.seed",
    "setting.followup.max_attempts": "followup.max_attempts",
    "setting.followup.retry_delay_hours": "followup.retry_delay_hours",
    "setting.status": "status",
    "value.event.assigned": "assigned",
    "value.event.control": "control",
    "value.event.call": "call",
    "value.event.attempts": "attempts",
    "value.event.callback": "callback",
    "value.event.wecom_added": "wecom_added",
    "value.event.wecom_preexisting": "wecom_preexisting",
    "value.event.wecom_lost": "wecom_lost",
    "value.event.pushed": "pushed",
    "value.event.converted": "converted",
    "value.event.note": "note",
    "value.event.reactivated": "reactivated",
    "value.event.void": "void",
    "value.source.assign": "assign",
    "value.source.reassign": "reassign",
    "value.source.upload": "upload",
    "value.source.activity": "activity",
    "value.source.wecom": "wecom",
    "value.source.correct": "correct",
    "value.source.undo": "undo",
    "value.source.transfer": "transfer",
    "value.reason.callback_due": "callback_due",
    "value.reason.retry": "retry",
    "value.reason.never_called": "never_called",
    "value.reason.reached_not_wecom": "reached_not_wecom",
    "value.reason.wecom_not_pushed": "wecom_not_pushed",
    # files for people: column headers and label values (render/tables.py)
    "label.data_sheet": "data",
    "value.true": "true",
    "value.false": "false",
    "column.campaign": "campaign",
    "column.by": "by",
    "column.key": "key",
    "column.name": "name",
    "column.assigned": "assigned",
    "column.stage": "stage",
    "column.clients": "clients",
    "column.of_assigned": "of_assigned",
    "column.of_previous": "of_previous",
    "column.ci95_low": "ci95_low",
    "column.ci95_high": "ci95_high",
    "column.target": "target",
    "column.met": "met",
    "column.median_days": "median_days",
    "column.confirmed": "confirmed",
    "column.client_id": "client_id",
    "column.mobile": "mobile",
    "column.advisor_code": "advisor_code",
    "column.advisor_name": "advisor_name",
    "column.branch": "branch",
    "column.assigned_at": "assigned_at",
    "column.control": "control",
    "column.dnc": "dnc",
    "column.advisor": "advisor",
    "column.reason": "reason",
    "column.reason_text": "reason_text",
    "column.attempts": "attempts",
    "column.last_result": "last_result",
    "column.last_call_at": "last_call_at",
    "column.due_at": "due_at",
    "column.callback_at": "callback_at",
    "column.attempt": "attempt",
    "column.called": "called",
    "column.reached": "reached",
    "column.share": "share",
    "value.stage.assigned": "assigned",
    "value.stage.called": "called",
    "value.stage.reached": "reached",
    "value.stage.wecom_added": "wecom_added",
    "value.stage.pushed": "pushed",
    "value.stage.converted": "converted",
    "value.stage.control": "control",
    "value.stage.unassigned": "unassigned",
    "value.by.all": "all",
    "value.by.advisor": "advisor",
    "value.by.branch": "branch",
    "value.by.week": "week",
    "value.by.risk": "risk",
    "value.by.asset_band": "asset_band",
    "value.by.attempt": "attempt",
    "report.key.advisor": "key",
    "report.name.advisor": "name",
    "report.key.branch": "key",
    "report.name.branch": "name",
    "report.key.week": "key",
    "report.name.week": "name",
    "report.key.risk": "key",
    "report.name.risk": "name",
    "report.key.asset_band": "key",
    "report.name.asset_band": "name",
    "report.key.attempt": "key",
    "report.name.attempt": "name",
    "report.col.ci95_low": "ci95 low",
    "report.col.ci95_high": "ci95 high",
    "report.col.stage_share": "{stage} %",
    "report.col.stage_ci95_low": "{stage} ci95 low",
    "report.col.stage_median_days": "{stage} med. days",
    # the command line: typer's own words (cli/language.py)
    "usage.usage": "Usage: ",
    "usage.options_metavar": "[OPTIONS]",
    "usage.command_metavar": "COMMAND [ARGS]...",
    "usage.help_option": "Show this message and exit.",
    "usage.deprecated": "(deprecated) ",
    "usage.default": "[default: {}]",
    "usage.envvar": "[env var: {}]",
    "usage.required": "[required]",
    "usage.arguments": "Arguments",
    "usage.options": "Options",
    "usage.commands": "Commands",
    "usage.error": "Error",
    "usage.aborted": "Aborted.",
    "usage.try_help": "Try [blue]'{command_path} {help_option}'[/] for help.",
    "usage.type.str": "text",
    "usage.type.int": "integer",
    "usage.type.float": "number",
    "usage.type.bool": "flag",
    "usage.type.path": "path",
    "usage.type.file": "file",
    "usage.type.dir": "folder",
    "usage.type.datetime": "date-time",
    "usage.missing_option": "Missing option {name}.",
    "usage.missing_argument": "Missing argument {name}.",
    "usage.missing_parameter": "Missing parameter {name}.",
    "usage.choose_from": "Choose from: {choices}.",
    "usage.no_such_option": "No such option: {name}.",
    "usage.did_you_mean": "Did you mean: {options}?",
    "usage.no_such_command": "No such command '{name}'.",
    "usage.missing_command": "Missing command.",
    "usage.extra_args": "Got unexpected extra argument(s): {args}.",
    "usage.needs_value": "Option '{name}' needs a value.",
    "usage.needs_values": "Option '{name}' needs {count} values.",
    "usage.takes_no_value": "Option '{name}' takes no value.",
    "usage.invalid_value": "Invalid value for {name}: {problem}",
    "usage.not_a_choice": "{value} is not one of {choices}.",
    "usage.not_an_integer": "{value} is not a whole number.",
    "usage.not_a_number": "{value} is not a number.",
    "usage.not_a_boolean": "{value} is not yes or no.",
    "usage.no_such_path": "{value}: no such file or folder.",
    "usage.bad_value": "{value} is not valid here.",
    # help texts of every command and option (cli/language.py translates the tree)
    "help.activity": "Trading activity from the core system: who was really reactivated.",
    "help.activity.load": "Mark members reactivated when they traded on or after their campaign started.\n\nA trade after the campaign's end still counts; a trade dated after today is a bad row, and one bad row writes nothing. Loading the same export again adds nothing. The report then compares the treated clients with the control group.\n\nExample: reactivate activity load activity_2021q1.xlsx",
    "help.activity.load.campaign": "Only this campaign. Default: every campaign the client is in.",
    "help.activity.load.file": "A later export: 客户号, 最后交易日期, optionally 总资产.",
    "help.advisors": "The advisor roster: who takes clients, in which branch, with what capacity.",
    "help.advisors.list": "List advisors with branch, WeCom userid, capacity and status.\n\nExample: reactivate advisors list --format json",
    "help.advisors.load": "Load or reload the advisor roster. Reloading updates advisors; nobody is deleted.\n\nExample: reactivate advisors load data/advisors.xlsx",
    "help.advisors.load.dry_run": "Validate and count; write nothing.",
    "help.advisors.load.file": "Roster .xlsx or .csv: 工号, 姓名, 营业部, 企业微信账号, 容量, 状态.",
    "help.assign": "Split the campaign's unassigned dormant clients over active advisors; write each a workbook.\n\nMethod: branch first; previous owners kept within capacity; counts levelled by capacity (water-filling); assets dealt by a snake draft over clients sorted by assets. The same database and --seed give the same split; clients loaded later are assigned without moving anyone already assigned.\n\nExample: reactivate assign --campaign 2020h2-dormant --holdout 0.1",
    "help.assign.assigned_at": "When the split took effect, in the campaign's time zone (default: now).",
    "help.assign.cross_branch": "Let clients a branch cannot hold go to other branches.",
    "help.assign.dry_run": "Show the split; write nothing.",
    "help.assign.holdout": "Share of newly eligible clients kept out as a control group, e.g. 0.1. Default: the campaign's.",
    "help.assign.keep_owner": "Keep a client with their previous advisor when active.",
    "help.assign.seed": "Seed of the random tie-breaks and the control draw. Default: the campaign's (0).",
    "help.assignments": "The assignment list: who has whom.",
    "help.assignments.export": "One row per campaign member: client, advisor, branch, assigned at, control, current stage.\n\nMobile and name are masked. Unassigned clients have an empty advisor.\n\nExample: reactivate assignments export --campaign 2020h2-dormant --format csv --out who.csv",
    "help.assignments.export.fmt": "csv (UTF-8 with BOM), xlsx or json.",
    "help.assignments.export.out": "File to write. Default: standard output (csv/json).",
    "help.branches": "Branch names and the other spellings exports use.",
    "help.branches.alias": 'Say that another spelling of a branch means a roster branch; clients filed under it move.\n\nExample: reactivate branches alias "浦东南路营业部" "上海浦东南路营业部"',
    "help.branches.alias.canonical": "The roster's branch name it means.",
    "help.branches.alias.file": "A mapping file instead: columns 别名 (alias), 营业部 (branch).",
    "help.branches.alias.name": "The spelling an export uses.",
    "help.branches.list": "List branches with their code, active advisors and aliases.\n\nExample: reactivate branches list",
    "help.campaign": "Register and inspect campaigns (TOML files under campaigns/).",
    "help.campaign.add": "Validate a campaign file and register it (again, to update it).\n\nExample: reactivate campaign add campaigns/2020h2-dormant.toml",
    "help.campaign.add.file": "Campaign TOML file, e.g. campaigns/2020h2-dormant.toml.",
    "help.campaign.close": "Freeze a campaign: no more loads, assignments or uploads; reports keep working.\n\nExample: reactivate campaign close 2020h2-dormant --purge-personal-data",
    "help.campaign.close.purge_personal_data": "Also remove names and mobiles of its clients that no other open campaign needs.",
    "help.campaign.list": "List registered campaigns.\n\nExample: reactivate campaign list --format json",
    "help.campaign.show": "Show a registered campaign: dates, dormancy rule, stages, products, targets.\n\nExample: reactivate campaign show 2020h2-dormant",
    "help.client": "One client's history in a campaign.",
    "help.client.show": "One client's timeline: every event with its source and who recorded it, voids marked.\n\nExample: reactivate client show 0010000001 --campaign 2020h2-dormant",
    "help.client.show.client_id": "Client id (客户号), leading zeros included.",
    "help.db": "Look after the database itself: schema upgrades and backups.",
    "help.db.backup": "Copy the SQLite database to FILE while others keep working (PostgreSQL: pg_dump).\n\nThe copy is consistent as of one moment and only you can read it. To restore, copy it back over the database file while no command runs.\n\nExample: reactivate db backup backups/2020-07-01.db --db campaign.db",
    "help.db.backup.file": "The copy to write, a new file, e.g. backups/2020-07-01.db.",
    "help.db.upgrade": "Bring the database's schema up to this release's, in one transaction.\n\nAny command upgrades an older database when it opens it; this one says what it did. A database a newer release upgraded is refused. Take a backup first.\n\nExample: reactivate db upgrade --db campaign.db",
    "help.demo": "Run the whole campaign on the sample data in data/: load, assign, simulated calls, upload, report.\n\nThe advisors' work is a seeded simulation, dated inside the campaign (2020-07-01 to 2020-12-31); the report lands near the source's 49% reached, 14% WeCom, 6.4% converted.\n\nExample: reactivate demo --out out/demo",
    "help.demo.db": "Database for the demo (must be fresh). Default: <out>/demo.db, recreated.",
    "help.demo.out": "Folder for the demo's workbooks and files.",
    "help.dnc": "The firm-wide do-not-call list.",
    "help.dnc.load": "Add clients to the firm-wide do-not-call list; members of open campaigns are flagged.\n\nExample: reactivate dnc load data/do_not_call.csv",
    "help.dnc.load.file": "File of client ids and/or mobiles (客户号, 手机号, 原因).",
    "help.followups": "Who to call next and why: never called, retries due, callbacks due, reached but not on WeCom, on WeCom but nothing pushed. Never control-group or do-not-call clients.\n\nExample: reactivate followups --campaign 2020h2-dormant --advisor A001",
    "help.followups.advisor": "Only this advisor's clients, with names and mobiles in full.",
    "help.followups.fmt": "table for people, json or csv for other tools.",
    "help.followups.idle_days": "List advisors with no upload for this many days.",
    "help.followups.workbooks": "Also write one workbook per advisor of their follow-up clients into this folder.",
    "help.imports": "Every file brought in: what, counts, who, when.",
    "help.imports.list": "List the latest imports, newest first: file, SHA-256, counts, status, who, when.\n\nExample: reactivate imports list --campaign 2020h2-dormant",
    "help.imports.list.campaign": "Only this campaign's imports.",
    "help.imports.list.limit": "How many of the latest imports to show.",
    "help.init": "Create the database schema explicitly (it is also created on first use).\n\nExample: reactivate init --db campaign.db",
    "help.load": "Load dormant accounts from a core-system export into a campaign.\n\nEvery row is validated first (ids as text, mobiles, dates, assets, risk); by default one bad row means nothing is written. Then the campaign's dormancy rule selects who joins. Loading the same file again changes nothing.\n\nExample: reactivate load data/dormant_accounts.xlsx --campaign 2020h2-dormant",
    "help.load.allow_overlap": "Also add clients already in another open campaign.",
    "help.load.dry_run": "Validate and count; write nothing.",
    "help.load.file": "Dormant-account export: .xlsx, .xls or .csv (UTF-8 or GBK).",
    "help.load.map": "HEADER=field for a column the aliases miss; fields: client_id, name, mobile, branch, branch_code, assets, last_trade_date, risk, opened_at, previous_advisor, status.",
    "help.load.pad_ids": "Pad ids of digits shorter than N with leading zeros first (ids Excel saved as numbers: 21792650 -> 0021792650).",
    "help.load.rejects": "Where --skip-invalid writes rejects. Default: <file>.rejects.csv.",
    "help.load.sheet": "Sheet to read. Default: the first sheet with data.",
    "help.load.skip_invalid": "Load the good rows; write the rejected ones to a file.",
    "help.load.yes": "Load even when it adds more new clients than half the campaign holds.",
    "help.opt.campaign": "Slug of a registered campaign.",
    "help.opt.db": "Database: a file path (SQLite) or a SQLAlchemy URL such as postgresql://user@host/db. Default: reactivate.db in the current folder.",
    "help.opt.format": "table for people, json for other tools.",
    "help.opt.lang": "Language of the interface: zh or en. Default: REACTIVATE_LANG, else the locale (LANG).",
    "help.opt.no_workbooks": "Record the split without writing workbooks.",
    "help.opt.out": "Folder for the advisors' workbooks (one subfolder per branch). Default: out/<campaign>/.",
    "help.opt.sheet": "Sheet to read. Default: the first with data.",
    "help.opt.slug": "Campaign slug.",
    "help.reactivate": "Win back dormant brokerage clients: load, assign, track call -> WeCom -> push, report.",
    "help.reassign": "Move an advisor's clients to a colleague, or spread them over the branch by the same rules.\n\nTheir funnel history stays; the event log records the move; each new advisor gets a fresh workbook (older workbooks stay valid; rows for moved clients become foreign).\n\nExample: reactivate reassign --campaign 2020h2-dormant --from A0010 --to A0011",
    "help.reassign.dry_run": "Show the moves; write nothing.",
    "help.reassign.employed": "With --wecom: the advisor is still employed (在职继承) even if the roster says left.",
    "help.reassign.from": "Code of the advisor whose clients move (e.g. who left).",
    "help.reassign.to": "Code of the colleague who takes them all. Default: spread over the branch.",
    "help.reassign.wecom": "Also hand the advisor's WeCom customers of this campaign to the new advisors.",
    "help.report": "The funnel of a campaign: per stage, share of assigned, intervals, targets, breakdowns.\n\nCounting is cumulative (a client counts at a stage with evidence for it or any later stage), so no rate exceeds 100%. Reactivation and uplift show once activity is loaded.\n\nExample: reactivate report --campaign 2020h2-dormant --by advisor",
    "help.report.by": "Break down by advisor, branch, week (assigned), risk, asset_band, or attempt.",
    "help.report.dropped": "List clients who reached the stage before STAGE but not STAGE (masked).",
    "help.report.fmt": "table, json (a stable contract), csv (UTF-8 with BOM), markdown (WeCom, <=4096 bytes) or xlsx.",
    "help.report.out": "Write to this file (required for xlsx). Default: stdout.",
    "help.report.rank_by": "Rank advisors/branches by this stage's interval lower bound. Default: the last stage.",
    "help.report.since": "Count only evidence dated on or after this day (campaign time zone).",
    "help.report.stale_days": "Flag assigned clients not called after this many days.",
    "help.report.until": "Count only evidence dated on or before this day (campaign time zone).",
    "help.results": "Advisors' results: upload filled sheets, undo an upload, correct a client.",
    "help.results.correct": 'Void one client\'s evidence from a stage on, e.g. a call logged against the wrong client.\n\nExample: reactivate results correct 0010000001 -c 2020h2-dormant --stage reached --reason "logged against the wrong client"',
    "help.results.correct.client": "Client id (客户号).",
    "help.results.correct.reason": "Why; kept with the void events.",
    "help.results.correct.stage": "Void this stage's evidence and every later one: called, reached, wecom_added, pushed, converted.",
    "help.results.undo": 'Void every event one upload wrote (nothing is deleted); an upload is undone once.\n\nExample: reactivate results undo 42 --reason "uploaded the wrong advisor\'s sheet"',
    "help.results.undo.import_id": "The upload's import id (reactivate imports list).",
    "help.results.undo.reason": "Why, kept with the void events. Default: 'undo of import N'.",
    "help.results.upload": "Upload advisors' filled sheets: every row is checked, then all of it applies or none.\n\nUploading the same file again, or the same facts in another file, adds nothing.\n\nExample: reactivate results upload out/2020h2-dormant/ --campaign 2020h2-dormant",
    "help.results.upload.advisor": "Advisor code for a plain sheet without a 客户经理/工号 column.",
    "help.results.upload.allow_foreign": "Accept rows for clients assigned to another advisor (counted as foreign): a plain sheet's, or a workbook's clients moved since it was issued. A workbook naming clients its stamp did not issue is refused all the same.",
    "help.results.upload.dry_run": "Check and count; write nothing.",
    "help.results.upload.files": "Filled workbooks or results sheets (.xlsx, .xls, .csv), or folders.",
    "help.results.upload.skip_invalid": "Apply the good rows; write rejects to <file>.rejects.csv.",
    "help.wecom": "WeCom: confirm who added advisors, QR ways, notify advisors, customer transfers.",
    "help.wecom.notify": "Send each advisor an app message: their clients, follow-ups now, their funnel so far.\n\nExample: reactivate wecom notify --campaign 2020h2-dormant --attach --webhook --dry-run",
    "help.wecom.notify.attach": "Also send each advisor their latest workbook as a file.",
    "help.wecom.notify.dry_run": "Print what would be sent; send nothing.",
    "help.wecom.notify.webhook": "Also post the managers' funnel to the group robot (REACTIVATE_WECOM_WEBHOOK_KEY).",
    "help.wecom.qr": "Make each advisor's WeCom 「联系我」 QR way for the campaign; adds through it are confirmed.\n\nThe way's state ties an add to the campaign (and client with --per-client); config_id and link are stored, and the advisor's link goes into their next workbook.\n\nExample: reactivate wecom qr --campaign 2020h2-dormant",
    "help.wecom.qr.per_client": "One way per assigned client instead of one per advisor (quota: 500,000).",
    "help.wecom.qr.remove": "Delete the campaign's ways on WeCom (when it ends).",
    "help.wecom.sync": "Read the campaign's advisors' WeCom contacts; confirm adds by QR state or remark mobile.\n\nWrites a wecom_added event (source wecom) per confirmed client; relations older than the assignment are reported apart; relations gone since the last sync are recorded as lost. Running it again adds nothing.\n\nExample: reactivate wecom sync --campaign 2020h2-dormant",
    "help.wecom.transfers": "Ask WeCom how the customer handovers of `reassign --wecom` went, and record it.\n\nStatuses: done, waiting (taken over automatically after 24 h), refused by the customer, over_limit (the colleague has too many customers), not_started (see the errcode).\n\nExample: reactivate wecom transfers --campaign 2020h2-dormant",
}
