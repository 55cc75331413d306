"""The markdown renderer against every payload of payloads.py, at both of its layers: the parser
(raw HTML off) and nh3 on its own (``sanitize_html``), fed the raw payloads as if the parser had
let them through. Whatever comes out must carry no element that runs script, no ``on*``, ``hx-*``,
``data-hx-*`` or ``style`` attribute and no link to anything but http(s) or mailto."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from apps.core.markdown import render_markdown, sanitize_html

from .payloads import ALL_IN_ONE, NUL_PAYLOAD, XSS_PAYLOADS

DANGEROUS_TAGS = {"script", "iframe", "object", "embed", "form", "input", "svg", "math", "style", "link", "meta",
                  "base", "body", "details", "img", "button", "textarea", "noscript", "div"}  # fmt: skip
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "srcdoc"}


class _Elements(HTMLParser):
    """Every start tag with its attributes, as a browser's tokenizer would see them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, attrs))


def problems(html: str) -> list[str]:
    """What in ``html`` could run script or trigger htmx: one line per finding."""
    parser = _Elements()
    parser.feed(html)
    parser.close()
    found = []
    for tag, attrs in parser.elements:
        if tag in DANGEROUS_TAGS:
            found.append(f"<{tag}> element")
        for name, value in attrs:
            if name.startswith("on") or name.startswith(("hx-", "data-hx-")) or name == "style":
                found.append(f"{name}= on <{tag}>")
            if name in URL_ATTRIBUTES and value is not None:
                scheme = "".join(value.split()).lower().split(":", 1)[0] if ":" in value else ""
                if scheme and scheme not in {"http", "https", "mailto"}:
                    found.append(f"{name}={value!r} on <{tag}>")
    return found


@pytest.mark.parametrize("payload", [*XSS_PAYLOADS, NUL_PAYLOAD])
def test_markdown_renders_payload_inert(payload: str) -> None:
    html = render_markdown(payload)
    assert problems(html) == [], html


@pytest.mark.parametrize("payload", [*XSS_PAYLOADS, NUL_PAYLOAD])
def test_sanitizer_alone_strips_payload(payload: str) -> None:
    """nh3 is the second line of defence: were the parser ever to pass raw HTML, nh3 alone must
    still leave nothing that runs."""
    html = sanitize_html(payload)
    assert problems(html) == [], html


def test_every_payload_at_once_renders_inert() -> None:
    assert problems(render_markdown(ALL_IN_ONE)) == []
    assert problems(sanitize_html(ALL_IN_ONE)) == []


@pytest.mark.parametrize(
    "html",
    [
        '<a href="https://example.org" hx-get="/x" hx-on:click="alert(1)" data-hx-post="/y" onclick="x()">x</a>',
        '<p hx-trigger="load" hx-get="/x" style="color:red">p</p>',
        '<th align="left" onmouseover="x()" hx-swap="outerHTML">t</th>',
    ],
)
def test_sanitizer_strips_hx_and_on_attributes_from_allowed_tags(html: str) -> None:
    cleaned = sanitize_html(html)
    assert "hx-" not in cleaned
    assert "onclick" not in cleaned
    assert "onmouseover" not in cleaned
    assert "style=" not in cleaned
    assert problems(cleaned) == []


@pytest.mark.parametrize(
    "href",
    [
        "javascript:alert(1)",
        "JAVASCRIPT:alert(1)",
        " javascript:alert(1)",
        "java\tscript:alert(1)",
        "javascript&#58;alert(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "vbscript:msgbox(1)",
    ],
)
def test_sanitizer_drops_script_and_data_urls(href: str) -> None:
    cleaned = sanitize_html(f'<a href="{href}">x</a>')
    assert "href" not in cleaned, cleaned
    assert cleaned == '<a rel="noopener noreferrer nofollow">x</a>'


@pytest.mark.parametrize("link", ["[x](javascript:alert(1))", "[x](data:text/html,hi)", "[x](vbscript:x)"])
def test_markdown_links_to_script_or_data_urls_are_not_links(link: str) -> None:
    html = render_markdown(link)
    assert "<a" not in html
    assert problems(html) == []


def test_safe_markdown_links_survive_with_rel() -> None:
    html = render_markdown("[docs](https://example.org/guide) and [mail](mailto:coe@example.org)")
    assert '<a href="https://example.org/guide" rel="noopener noreferrer nofollow">docs</a>' in html
    assert '<a href="mailto:coe@example.org" rel="noopener noreferrer nofollow">mail</a>' in html


def test_template_syntax_is_shown_as_text() -> None:
    """Markdown is rendered after Django's templates: ``{{ }}`` in a body is text, never evaluated."""
    html = render_markdown("{{ request.user.password }} {% debug %}")
    assert "{{ request.user.password }}" in html
    assert "{% debug %}" in html
