"""Template tags of the site shell."""

from typing import Any

from django import forms, template

register = template.Library()


@register.inclusion_tag("_error_summary.html")
def error_summary(*bound_forms: forms.BaseForm) -> dict[str, Any]:
    """The list of what to fix in `bound_forms`, in the order the fields appear: one entry per
    message, linked to its field; messages about the form as a whole come first, unlinked."""
    entries: list[dict[str, object]] = []
    for form in bound_forms:
        if not form.is_bound or not form.errors:
            continue
        entries.extend({"message": message} for message in form.non_field_errors())
        for field in form:
            if not field.is_hidden:
                entries.extend(
                    {"field_id": field.id_for_label, "label": str(field.label), "message": message}
                    for message in field.errors
                )
    return {"entries": entries}
