from django import template
from django.utils.html import format_html, format_html_join

register = template.Library()


@register.filter
def web_address(value: str) -> str:
    """`value` when it is an http(s) address, else "": a link's target is never a
    `javascript:` or `data:` URL, even one written past the models' validation (raw SQL)."""
    text = str(value or "").strip()
    return text if text.lower().startswith(("http://", "https://")) else ""


@register.simple_tag
def field_errors(errors: dict, name: str):
    """The messages of one filter, shown next to it."""
    messages = (errors or {}).get(name)
    if not messages:
        return ""
    items = format_html_join("", "<span>{}</span>", ((message,) for message in messages))
    return format_html('<p class="field-error" role="alert">{}</p>', items)


BIBTEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


@register.filter
def bibtex(value: str) -> str:
    """Escape the characters BibTeX treats specially (HTML escaping still applies after)."""
    return "".join(BIBTEX_SPECIALS.get(character, character) for character in str(value))
