"""Hostile text for every user-writable field: the XSS payloads the browser test stores and renders,
and the CSV formula starts the export test writes.

Every script payload that runs sets ``window.__xss`` (or opens a dialog), so a test can tell "it
ran" from "it was shown as text". The htmx ones would fetch ``/xss-htmx`` or set the marker when
clicked or loaded: htmx processes any ``hx-*`` attribute it finds in the page, so user content
must never carry one.
"""

from __future__ import annotations

MARK = "window.__xss=1"

XSS_PAYLOADS: list[str] = [
    f"<script>{MARK}</script>",
    f"<img src=x onerror={MARK}>",
    f'<img src="x" onerror="{MARK};alert(1)">',
    f"<svg onload={MARK}>",
    f"<svg><script>{MARK}</script></svg>",
    f'"><script>{MARK}</script>',
    f"'><img src=x onerror={MARK}>",
    f'" onmouseover="{MARK}" x="',
    f"' onfocus='{MARK}' autofocus='",
    f"</textarea><script>{MARK}</script>",
    f"</title><script>{MARK}</script>",
    f"[click me](javascript:{MARK})",
    f"[click me](JaVaScRiPt:{MARK})",
    f"[click me](javascript&#58;{MARK})",
    f"[tab](\tjavascript:{MARK})",
    f"![img](javascript:{MARK})",
    "[data](data:text/html;base64,PHNjcmlwdD53aW5kb3cuX194c3M9MTwvc2NyaXB0Pg==)",
    f'<a href="javascript:{MARK}">raw link</a>',
    f"<javascript:{MARK}>",
    f'<iframe srcdoc="<script>parent.{MARK}</script>"></iframe>',
    f'<iframe src="javascript:parent.{MARK}"></iframe>',
    f'<object data="javascript:{MARK}"></object>',
    f'<embed src="javascript:{MARK}">',
    f'<form action="javascript:{MARK}"><button>go</button></form>',
    f'<details open ontoggle="{MARK}">x</details>',
    f'<body onload="{MARK}">',
    f'<input autofocus onfocus="{MARK}">',
    '<div hx-get="/xss-htmx" hx-trigger="load">htmx load</div>',
    f'<button hx-on:click="{MARK}">htmx on</button>',
    f'<div hx-on::load="{MARK}" hx-trigger="load">htmx on load</div>',
    '<div data-hx-get="/xss-htmx" data-hx-trigger="load">data-hx</div>',
    '<a href="#" hx-post="/xss-htmx" hx-trigger="load">htmx post</a>',
    f'<p style="background:url(javascript:{MARK})">styled</p>',
    '<p style="width:expression(alert(1))">expression</p>',
    f"<style>@import 'javascript:{MARK}';</style>",
    f'<link rel="stylesheet" href="javascript:{MARK}">',
    f'<meta http-equiv="refresh" content="0;url=javascript:{MARK}">',
    f'<base href="javascript:{MARK}//">',
    "{{ request.user.password }} {% debug %} ${7*7} #{7*7}",
    f"`<script>{MARK}</script>`",
    f"```\n<script>{MARK}</script>\n```",
    f"<scr<script>ipt>{MARK}</scr</script>ipt>",
    f"\u202e<script>{MARK}</script>",  # right-to-left override
    f"\uff1cscript\uff1e{MARK}\uff1c/script\uff1e",  # full-width brackets
    f"<math><mtext><table><mglyph><style><img src=x onerror={MARK}>",
    f'<noscript><p title="</noscript><img src=x onerror={MARK}>">',
    f'[x](https://example.org "title" onmouseover="{MARK}")',
    f"<a href='https://example.org' onclick='{MARK}'>with onclick</a>",
    f"<svg><a xlink:href='javascript:{MARK}'><text x=20 y=20>svg link</text></a></svg>",
]

# A NUL inside a tag: the parser and nh3 must cope. PostgreSQL stores no NUL, and the API and the
# forms refuse it (DRF's and Django's CharField), so it is not among the stored payloads.
NUL_PAYLOAD = f"<\u0000script>{MARK}</script>"

# One text holding every payload, each on its own paragraph, for fields that take long text.
ALL_IN_ONE = "\n\n".join(XSS_PAYLOADS)

# A short payload for fields with a small max_length (names, titles): breaks out of attributes and
# text alike, and names the marker.
SHORT = f'"><img src=x onerror={MARK}>'
SHORT_HTMX = '<b hx-get="/xss-htmx" hx-trigger="load">x</b>'

# CSV formula starts (OWASP "CSV injection"): a spreadsheet would evaluate each of these.
CSV_FORMULAS: list[str] = ["=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(1)", "\t=1", "\r=1"]
