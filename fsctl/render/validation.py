"""``fsctl validate`` as text and JSON."""

from __future__ import annotations

from fsctl.render.json_format import dumps
from fsctl.results.validation import ValidationReport


def validation_text(result: ValidationReport) -> str:
    if not result.valid:
        return "\n".join(p.render() for p in result.problems)
    summary = ", ".join(f"{n} {kind}" for kind, n in result.objects.items() if n)
    return f"Valid: {result.count} objects ({summary or 'none'}) in {len(result.files)} files."


def validation_json(result: ValidationReport) -> str:
    if not result.valid:
        return dumps({"valid": False, "problems": [p.__dict__ | {"detail": None} for p in result.problems]})
    return dumps(
        {
            "valid": True,
            "objects": result.objects,
            "files": result.files,
            "warnings": [w.render() for w in result.warnings],
        }
    )
