"""Sessions and sign-in hardening's rows of the permission matrix (merged into tests/access.py).

The code step of sign-in is for people half-way through signing in: anyone else is sent on
(signed in: home; signed out: to the sign-in form). The MFA forms and "sign out everywhere"
act on the signed-in user's own account only, so every signed-in persona may use them.
"""

from __future__ import annotations

from tests.access import SIGNED_IN, SIGNED_OUT, Route, everyone


def _code(world: object, persona: str) -> dict[str, str]:
    return {"code": "000000"}


PAGES = {
    "accounts:login-mfa": Route({"GET": SIGNED_IN, "POST": SIGNED_IN}, data=_code),
    "accounts:logout-everywhere": Route({"POST": everyone(SIGNED_OUT)}),
    "accounts:mfa-enrol": Route({"POST": SIGNED_IN}),
    "accounts:mfa-confirm": Route({"POST": SIGNED_IN}, data=_code),
    "accounts:mfa-disable": Route({"POST": SIGNED_IN}, data=_code),
}
