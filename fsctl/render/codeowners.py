"""Text and JSON rendering of a :class:`~fsctl.results.codeowners.CodeOwners`: the section
itself when it was asked for, else one line on the file (and, when it is out of date, the
diff that ``--output`` would make)."""

from __future__ import annotations

from fsctl.render.json_format import dumps
from fsctl.results.codeowners import PRINTED, STALE, UNCHANGED, UP_TO_DATE, CodeOwners


def codeowners_text(result: CodeOwners) -> str:
    if result.status == PRINTED:
        return result.section
    rules = f"{len(result.rules)} file{'s' if len(result.rules) != 1 else ''} owned"
    what = f"the fsctl codeowners section of project {result.project} ({rules})"
    if result.status == UP_TO_DATE:
        return f"{result.file}: {what} is up to date.\n"
    if result.status == STALE:
        lines = [
            f"{result.file}: {what} is out of date; run `fsctl codeowners --output {result.file}` and commit it.",
            *result.diff,
        ]
        return "\n".join(lines) + "\n"
    verb = "already had" if result.status == UNCHANGED else "now has"
    return f"{result.file} {verb} {what}.\n"


def codeowners_json(result: CodeOwners) -> str:
    return dumps(result.to_dict())
