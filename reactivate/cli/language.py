"""The command line in the user's language: help texts, usage lines and usage errors.

Typer builds the command tree when the command line runs, from help texts written as
message keys (`help="help.load.skip_invalid"`). Before parsing, `translate` walks that
tree and puts each key's text in the language of this run (`--lang`, `REACTIVATE_LANG`
or the locale), and dresses typer's own words (`Usage:`, `Options`, `[required]`, the
`--help` option) in it. Usage errors typer raises in English ("Missing option", "No such
command", "Invalid value") are rewritten by `translated_error` before typer prints them.
Nothing here imports more than typer itself, and typer's help pages load only when help or
an error shows: `reactivate --help` stays fast.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from typer._click.core import Command, Context
from typer._click.formatting import HelpFormatter

from reactivate import messages
from reactivate.messages import t

#: The texts typer's help and error pages use, by the name typer.rich_utils gives them.
_RICH_TEXTS = {
    "DEPRECATED_STRING": "usage.deprecated",
    "DEFAULT_STRING": "usage.default",
    "ENVVAR_STRING": "usage.envvar",
    "REQUIRED_LONG_STRING": "usage.required",
    "ARGUMENTS_PANEL_TITLE": "usage.arguments",
    "OPTIONS_PANEL_TITLE": "usage.options",
    "COMMANDS_PANEL_TITLE": "usage.commands",
    "ERRORS_PANEL_TITLE": "usage.error",
    "ABORTED_TEXT": "usage.aborted",
    "RICH_HELP": "usage.try_help",
}
#: The type names typer shows beside an option (`<int>`), in the user's words.
_TYPE_NAMES = ("str", "int", "float", "bool", "path", "file", "dir", "datetime")


def take_lang(args: Sequence[str]) -> tuple[list[str], str | None]:
    """`args` without a valid `--lang zh|en` (wherever it stands, before `--`), and that
    language. An invalid value stays in place for the root option to refuse."""
    rest: list[str] = []
    chosen: str | None = None
    items = list(args)
    i = 0
    while i < len(items):
        arg = items[i]
        if arg == "--":
            rest.extend(items[i:])
            break
        value: str | None = None
        width = 0
        if arg == "--lang" and i + 1 < len(items):
            value, width = items[i + 1], 2
        elif arg.startswith("--lang="):
            value, width = arg.partition("=")[2], 1
        if value is not None and value.lower() in messages.LANGUAGES:
            chosen = value.lower()
            i += width
            continue
        rest.append(arg)
        i += 1
    return rest, chosen


def translate(root: Command, args: Sequence[str] = ("--help",)) -> None:
    """Put the help texts of `root` and every command below it in this run's language,
    and typer's own words too when `args` ask for help (errors dress them when raised)."""
    if _shows_help(root, args):
        dress_typer()
    stack = [root]
    while stack:
        command = stack.pop()
        _translate_command(command)
        stack.extend(getattr(command, "commands", {}).values())


def _shows_help(root: Command, args: Sequence[str]) -> bool:
    """Whether `args` ask for help: `--help`, or a group named without a command."""
    if "--help" in args:
        return True
    command = root
    for arg in args:
        commands = getattr(command, "commands", None)
        if commands is None:
            return False
        if arg in commands:
            command = commands[arg]
    return hasattr(command, "commands")


def _text(holder: object, attribute: str) -> None:
    """Replace a key (remembered from the first pass, so a later pass can switch language)
    by its text."""
    keys: dict[str, str] = holder.__dict__.setdefault("_message_keys", {})
    value = getattr(holder, attribute, None)
    if attribute not in keys and isinstance(value, str) and messages.has(value):
        keys[attribute] = value
    if attribute in keys:
        setattr(holder, attribute, t(keys[attribute]))


def _translate_command(command: Command) -> None:
    for attribute in ("help", "short_help", "epilog"):
        _text(command, attribute)
    command.context_class = _Context
    if command.options_metavar:
        command.options_metavar = t("usage.options_metavar")
    if hasattr(command, "subcommand_metavar"):
        command.subcommand_metavar = t("usage.command_metavar")
    ctx = command.context_class(command)
    help_option = command.get_help_option(ctx)
    if help_option is not None:
        help_option.help = t("usage.help_option")
        _name_type(help_option, ctx)
    for param in command.params:
        _text(param, "help")
        _name_type(param, ctx)


def _name_type(param: Any, ctx: Context) -> None:
    """Name a parameter's value type (`<int>`, `<list[Path]>`) in the user's words; choices
    stay as they are."""
    keys: dict[str, str] = param.__dict__.setdefault("_message_keys", {})
    if "type" not in keys:
        if param.metavar is not None or param.type_descriptor.is_choice:
            return
        keys["type"] = param.display_type(ctx)
    words = re.sub(r"list\[(.*)\]", r"\1...", keys["type"])
    for name in _TYPE_NAMES:
        words = re.sub(rf"\b{name}\b", t(f"usage.type.{name}"), words, flags=re.IGNORECASE)
    # typer asks the parameter for this text only when it draws the help table
    param.__dict__["display_type_rich"] = lambda ctx: words


def dress_typer() -> None:
    """typer's own words on help and error pages, in this run's language; and help texts
    that fold a long run of Chinese: rich breaks lines at spaces only and cuts a longer
    run short with "…" unless the text folds. Called only when help or an error shows:
    loading typer's help pages costs a run that needs none a few hundredths of a second."""
    from rich.text import Text
    from typer import rich_utils

    for name, key in _RICH_TEXTS.items():
        setattr(rich_utils, name, t(key))
    make = rich_utils._make_rich_text
    if not getattr(make, "folds", False):

        def folding(**kwargs: Any) -> Any:
            text = make(**kwargs)
            if isinstance(text, Text):
                text.overflow = "fold"
            return text

        folding.folds = True  # type: ignore[attr-defined]
        rich_utils._make_rich_text = folding


class _Formatter(HelpFormatter):
    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, t("usage.usage") if prefix is None else prefix)


class _Context(Context):
    """A context whose usage line says `Usage:` in the user's language."""

    formatter_class = _Formatter


#: typer's English usage errors (message patterns), and the keys that say them.
_USAGE_PATTERNS = (
    (
        re.compile(r"No such command '(?P<name>.*)'\. Did you mean '(?P<options>.*)'\?$"),
        "usage.no_such_command_guess",
    ),
    (re.compile(r"No such command '(?P<name>.*)'\.$"), "usage.no_such_command"),
    (
        re.compile(r"Got unexpected extra argument(?:s|\(s\))? \((?P<args>.*)\)$"),
        "usage.extra_args",
    ),
    (re.compile(r"Missing command\.$"), "usage.missing_command"),
    (re.compile(r"Option '(?P<name>.*)' requires an argument\.$"), "usage.needs_value"),
    (
        re.compile(r"Option '(?P<name>.*)' requires (?P<count>\d+) arguments\.$"),
        "usage.needs_values",
    ),
    (re.compile(r"Option '(?P<name>.*)' does not take a value\.$"), "usage.takes_no_value"),
    (re.compile(r"No such option: (?P<name>.*)$"), "usage.no_such_option"),
)
#: typer's English complaints about a value, and the keys that say them.
_VALUE_PATTERNS = (
    (
        re.compile(r"(?:Value error, )?(?P<value>.*) is not one of (?P<choices>.*)\.$"),
        "usage.not_a_choice",
    ),
    (re.compile(r"Input should be a valid integer"), "usage.not_an_integer"),
    (re.compile(r"Input should be a valid number"), "usage.not_a_number"),
    (re.compile(r"Input should be a valid boolean"), "usage.not_a_boolean"),
    (re.compile(r"(?P<kind>\w+) '(?P<value>.*)' does not exist\.$"), "usage.no_such_path"),
)
_CJK = re.compile(r"[\u4e00-\u9fff]")


def translated_error(exc: Exception) -> Exception:
    """A usage error typer raised, in the user's language (the same error when it already
    is, or when the user reads English)."""
    from typer._click.exceptions import (
        BadParameter,
        MissingParameter,
        NoArgsIsHelpError,
        NoSuchOption,
        UsageError,
    )

    if not isinstance(exc, UsageError):
        return exc
    dress_typer()
    if messages.language() == "en" or isinstance(exc, NoArgsIsHelpError):
        return exc
    if isinstance(exc, MissingParameter):
        kind = exc.param_type or (exc.param.param_type_name if exc.param else "parameter")
        text = t(f"usage.missing_{kind}", name=_hint(exc))
        choices = _choices(exc.param)
        if choices:
            text += t("usage.gap") + t("usage.choose_from", choices=choices)
    elif isinstance(exc, NoSuchOption):
        text = t("usage.no_such_option", name=exc.option_name)
        if exc.possibilities:
            options = ", ".join(sorted(exc.possibilities))
            text += t("usage.gap") + t("usage.did_you_mean", options=options)
    elif isinstance(exc, BadParameter):
        text = t("usage.invalid_value", name=_hint(exc), problem=_value_problem(exc))
    else:
        text = _from_patterns(exc.message, _USAGE_PATTERNS) or exc.message
    translated = UsageError(text, ctx=exc.ctx)
    translated.exit_code = exc.exit_code
    return translated


def _hint(exc: Any) -> str:
    """Which parameter: `'--campaign' / '-c'` or `'FILE'`, without typer's English."""
    if exc.param_hint is not None:
        hint = exc.param_hint
        return hint if isinstance(hint, str) else " / ".join(repr(x) for x in hint)
    param = exc.param
    if param is None:
        return ""
    if param.param_type_name == "option":
        return " / ".join(f"'{name}'" for name in param.opts)
    return f"'{param.display_name_raw}'"


def _choices(param: Any) -> str:
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is None or not descriptor.is_choice or not descriptor.choices:
        return ""
    return ", ".join(str(getattr(c, "value", c)) for c in descriptor.choices)


def _value_problem(exc: Any) -> str:
    """What is wrong with the value: our own text as it is, typer's in the user's words."""
    message = exc.message
    if _CJK.search(message):
        return str(message)
    found = _from_patterns(message, _VALUE_PATTERNS, value=_input(exc))
    return found or t("usage.bad_value", value=_input(exc) or message)


def _input(exc: BaseException) -> str:
    """The value the user gave, when typer's validation error kept it."""
    cause = exc.__cause__
    errors = getattr(cause, "errors", None)
    if callable(errors):
        found = errors()
        if found and "input" in found[0]:
            return repr(str(found[0]["input"]))
    return ""


def _from_patterns(message: str, patterns: Any, **defaults: str) -> str | None:
    for pattern, key in patterns:
        match = pattern.search(message)
        if match:
            return str(t(key, **{**defaults, **match.groupdict()}))
    return None
