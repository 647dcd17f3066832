"""One exception type for every mistake a user can fix.

The CLI turns it into a one-line message and a non-zero exit; anything else is a bug and may
show a traceback. A mistake in an option names it as the caller gave it: `steps=` where it came from
`reportgen.explain` or an options dataclass, `--steps` on the command line (`OptionError`).
"""

from __future__ import annotations


class ReportgenError(Exception):
    """Bad input or environment: the message says what is wrong and what to do."""

    def for_cli(self) -> str:
        """The message as the command line prints it (options named as flags)."""
        return str(self)


def keyword(option: str) -> str:
    """An option as `reportgen.explain` and the options dataclasses take it: "max_steps" → "max_steps="."""
    return f"{option}="


FLAGS = {"texts": "--text", "text_pairs": "--text-pair"}
"""The keywords of `reportgen.explain` whose flag is not the keyword with dashes: a list of texts there, one
repeatable --text on the command line."""


def flag(option: str) -> str:
    """An option as the command line takes it: "max_steps" → "--max-steps", "texts" → "--text" (`FLAGS`)."""
    return FLAGS.get(option, "--" + option.replace("_", "-"))


class OptionError(ReportgenError):
    """A mistake in an option: `template` names options as "{name}" (their keyword, e.g. "{max_steps}"), each
    in `options`; `str()` writes them as keywords ("max_steps="), `for_cli()` as flags ("--max-steps")."""

    def __init__(self, template: str, *options: str) -> None:
        self.template, self.options = template, options
        super().__init__(self._named(keyword))

    def _named(self, name) -> str:
        text = self.template
        for option in self.options:
            text = text.replace("{" + option + "}", name(option))
        return text

    def for_cli(self) -> str:
        return self._named(flag)
