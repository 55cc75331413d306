"""Two-step sign-in (TOTP): the algorithm against the RFCs' vectors, the secret at rest,
enrolment on the profile page, and the code step of a password sign-in."""

from __future__ import annotations

import time

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client
from django.urls import reverse

from apps.accounts import mfa, services
from apps.accounts.models import TotpDevice, User
from apps.accounts.views import MFA_PENDING
from apps.core.models import AuditEvent

pytestmark = pytest.mark.django_db

# RFC 6238 Appendix B: the seeds are ASCII digits, the codes 8 digits long.
RFC6238_SEEDS = {
    "sha1": b"12345678901234567890",
    "sha256": b"12345678901234567890123456789012",
    "sha512": b"1234567890123456789012345678901234567890123456789012345678901234",
}
RFC6238_VECTORS = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]
# RFC 4226 Appendix D: HOTP of the same SHA-1 seed, counters 0-9, 6 digits.
RFC4226_CODES = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"]


class TestAlgorithm:
    @pytest.mark.parametrize(("at", "sha1", "sha256", "sha512"), RFC6238_VECTORS)
    def test_rfc6238_vectors(self, at: int, sha1: str, sha256: str, sha512: str) -> None:
        for digest, expected in (("sha1", sha1), ("sha256", sha256), ("sha512", sha512)):
            assert mfa.totp(RFC6238_SEEDS[digest], at, digits=8, digest=digest) == expected, (at, digest)

    def test_rfc4226_vectors(self) -> None:
        assert [mfa.hotp(RFC6238_SEEDS["sha1"], counter) for counter in range(10)] == RFC4226_CODES

    def test_verify_accepts_one_step_either_side_and_no_more(self) -> None:
        key = RFC6238_SEEDS["sha1"]
        at = 1_700_000_015.0
        step = mfa.time_step(at)
        for offset in (-1, 0, 1):
            assert mfa.verify(key, mfa.hotp(key, step + offset), at=at) == step + offset
        for offset in (-2, 2):
            assert mfa.verify(key, mfa.hotp(key, step + offset), at=at) is None

    def test_verify_refuses_used_steps_and_malformed_codes(self) -> None:
        key = RFC6238_SEEDS["sha1"]
        at = 1_700_000_015.0
        step = mfa.time_step(at)
        code = mfa.hotp(key, step)
        assert mfa.verify(key, code, at=at, after_step=step) is None
        assert mfa.verify(key, code, at=at, after_step=step - 1) == step
        assert mfa.verify(key, f"{code[:3]} {code[3:]}", at=at) == step  # as some apps show it
        for bad in ("", "12345", "1234567", "abcdef", code + "0"):
            assert mfa.verify(key, bad, at=at) is None

    def test_secret_round_trips_through_base32_and_the_uri(self) -> None:
        secret = mfa.secret_generate()
        assert len(mfa.secret_key_bytes(secret)) == mfa.SECRET_BYTES
        assert mfa.secret_key_bytes(mfa.secret_display(secret).lower()) == mfa.secret_key_bytes(secret)
        uri = mfa.otpauth_uri(secret=secret, account="tina", issuer="CoE Portal")
        assert uri.startswith("otpauth://totp/CoE%20Portal%3Atina?")
        assert f"secret={secret}" in uri
        assert "issuer=CoE%20Portal" in uri
        assert "period=30" in uri
        assert "digits=6" in uri
        assert "algorithm=SHA1" in uri

    def test_qr_code_is_an_inline_svg(self) -> None:
        uri = mfa.otpauth_uri(secret=mfa.secret_generate(), account="tina", issuer="CoE Portal")
        assert mfa.qr_svg_data_uri(uri).startswith("data:image/svg+xml")


class TestSecretAtRest:
    def test_secret_is_stored_encrypted(self, team_member: User) -> None:
        device, secret = services.mfa_enrol_start(user=team_member)
        stored = TotpDevice.objects.get(pk=device.pk).secret_encrypted
        assert secret not in stored
        assert mfa.secret_key_bytes(secret).hex() not in stored
        assert mfa.secret_decrypt(stored) == secret

    def test_a_rotated_secret_key_still_reads_it_from_the_fallbacks(self, settings, team_member: User) -> None:
        _, secret = services.mfa_enrol_start(user=team_member)
        stored = TotpDevice.objects.get(user=team_member).secret_encrypted
        old_key = settings.SECRET_KEY
        settings.SECRET_KEY = "a-new-secret-key-" + "x" * 50
        settings.SECRET_KEY_FALLBACKS = [old_key]
        assert mfa.secret_decrypt(stored) == secret
        settings.SECRET_KEY_FALLBACKS = []
        assert mfa.secret_decrypt(stored) is None


def _code(user: User, *, ahead: int = 0) -> str:
    """The code the user's app shows now (or ``ahead`` steps later)."""
    secret = mfa.secret_decrypt(TotpDevice.objects.get(user=user).secret_encrypted)
    assert secret is not None
    return mfa.totp(mfa.secret_key_bytes(secret), time.time() + ahead * mfa.STEP_SECONDS)


def _enable(user: User) -> None:
    services.mfa_enrol_start(user=user)
    services.mfa_confirm(user=user, code=_code(user))


class TestEnrolment:
    def test_profile_offers_it(self, client_for, team_member: User) -> None:
        response = client_for(team_member).get(reverse("accounts:profile"))
        assert b"Set up two-step sign-in" in response.content
        assert b"Sign out everywhere" in response.content

    def test_enrol_shows_the_secret_uri_and_qr_then_a_code_turns_it_on(self, client_for, team_member: User) -> None:
        client = client_for(team_member)
        response = client.post(reverse("accounts:mfa-enrol"), follow=True)
        secret = response.context["mfa_secret"]
        assert mfa.secret_display(secret).encode() in response.content
        assert b"otpauth://totp/" in response.content
        assert b'src="data:image/svg+xml' in response.content
        assert not TotpDevice.objects.get(user=team_member).is_confirmed

        wrong = client.post(reverse("accounts:mfa-confirm"), {"code": "000000"})
        assert b"That code is not right" in wrong.content
        assert not TotpDevice.objects.get(user=team_member).is_confirmed

        right = mfa.totp(mfa.secret_key_bytes(secret))
        response = client.post(reverse("accounts:mfa-confirm"), {"code": right}, follow=True)
        assert b"Two-step sign-in is on" in response.content
        assert TotpDevice.objects.get(user=team_member).is_confirmed
        assert mfa.secret_display(secret).encode() not in response.content  # shown only while setting up
        assert AuditEvent.objects.filter(action="user.mfa_enable", actor=team_member).count() == 1

    def test_a_confirmed_device_cannot_be_replaced_without_turning_it_off(self, client_for, team_member: User) -> None:
        _enable(team_member)
        before = TotpDevice.objects.get(user=team_member).secret_encrypted
        response = client_for(team_member).post(reverse("accounts:mfa-enrol"), follow=True)
        assert b"already on" in response.content
        assert TotpDevice.objects.get(user=team_member).secret_encrypted == before

    def test_turning_off_needs_a_current_code(self, client_for, team_member: User) -> None:
        _enable(team_member)
        client = client_for(team_member)
        refused = client.post(reverse("accounts:mfa-disable"), {"code": "000000"})
        assert b"That code is not right" in refused.content
        assert TotpDevice.objects.filter(user=team_member).exists()
        response = client.post(reverse("accounts:mfa-disable"), {"code": _code(team_member, ahead=1)}, follow=True)
        assert b"Two-step sign-in is off" in response.content
        assert not TotpDevice.objects.filter(user=team_member).exists()
        assert AuditEvent.objects.filter(action="user.mfa_disable", actor=team_member).count() == 1

    def test_wrong_codes_to_turn_it_off_count_toward_the_lockout(self, client_for, team_member: User) -> None:
        _enable(team_member)
        client = client_for(team_member)
        answers = [
            client.post(reverse("accounts:mfa-disable"), {"code": "000000"}).status_code
            for _ in range(settings.AXES_FAILURE_LIMIT)
        ]
        assert answers[-1] == 429
        # Locked: even the right code is refused now.
        assert client.post(reverse("accounts:mfa-disable"), {"code": _code(team_member, ahead=1)}).status_code == 429
        assert TotpDevice.objects.filter(user=team_member).exists()


def _password_step(client: Client, user: User, password: str, next_url: str = "") -> object:
    data = {"username": user.username, "password": password}
    if next_url:
        data["next"] = next_url
    return client.post(reverse("accounts:login"), data)


class TestSignInWithCode:
    def test_without_mfa_the_password_signs_in(self, team_member: User, password: str) -> None:
        client = Client()
        assert _password_step(client, team_member, password)["Location"] == reverse("core:home")
        assert client.get(reverse("accounts:profile")).status_code == 200

    def test_right_password_is_only_half_way(self, team_member: User, password: str) -> None:
        _enable(team_member)
        client = Client()
        response = _password_step(client, team_member, password, next_url="/accounts/teams/")
        assert response.status_code == 302
        assert response["Location"] == reverse("accounts:login-mfa")
        session = client.session
        assert "_auth_user_id" not in session
        assert session[MFA_PENDING]["user_id"] == team_member.pk
        # Not signed in: pages send to sign-in, the API answers 401.
        assert client.get(reverse("accounts:profile"))["Location"].startswith(reverse("accounts:login"))
        assert client.get("/api/v1/me/").status_code == 401

        page = client.get(reverse("accounts:login-mfa"))
        assert b"Enter your code" in page.content
        pending_key = client.cookies[settings.SESSION_COOKIE_NAME].value
        # The next step's code: _enable spent this step's (a code works once).
        response = client.post(reverse("accounts:login-mfa"), {"code": _code(team_member, ahead=1)})
        assert response.status_code == 302
        assert response["Location"] == "/accounts/teams/"
        assert client.cookies[settings.SESSION_COOKIE_NAME].value != pending_key  # a new key once signed in
        assert client.get("/api/v1/me/").json()["username"] == team_member.username
        assert MFA_PENDING not in client.session

    def test_a_code_works_once(self, team_member: User, password: str) -> None:
        _enable(team_member)
        code = _code(team_member, ahead=1)
        first = Client()
        _password_step(first, team_member, password)
        assert first.post(reverse("accounts:login-mfa"), {"code": code})["Location"] == reverse("core:home")

        second = Client()
        _password_step(second, team_member, password)
        replay = second.post(reverse("accounts:login-mfa"), {"code": code})
        assert replay.status_code == 200
        assert b"already used" in replay.content
        assert "_auth_user_id" not in second.session

    def test_wrong_codes_count_toward_the_lockout(self, team_member: User, password: str) -> None:
        _enable(team_member)
        client = Client(REMOTE_ADDR="10.1.2.3")
        _password_step(client, team_member, password)
        statuses = [
            client.post(reverse("accounts:login-mfa"), {"code": "000000"}).status_code
            for _ in range(settings.AXES_FAILURE_LIMIT)
        ]
        assert statuses[:-1] == [200] * (settings.AXES_FAILURE_LIMIT - 1)
        assert statuses[-1] == 429
        assert AccessAttempt.objects.get(username=team_member.username).failures_since_start == len(statuses)
        # The half-way state is gone, and the password form is locked too, right password or not.
        assert MFA_PENDING not in client.session
        assert _password_step(client, team_member, password).status_code == 429

    def test_the_code_step_expires(self, team_member: User, password: str) -> None:
        _enable(team_member)
        client = Client()
        _password_step(client, team_member, password)
        session = client.session
        session[MFA_PENDING] = {**session[MFA_PENDING], "since": int(time.time()) - settings.MFA_PENDING_SECONDS - 1}
        session.save()
        response = client.post(reverse("accounts:login-mfa"), {"code": _code(team_member)})
        assert response["Location"] == reverse("accounts:login")
        assert "_auth_user_id" not in client.session

    def test_the_code_step_without_a_password_sends_to_sign_in(self, team_member: User) -> None:
        _enable(team_member)
        response = Client().post(reverse("accounts:login-mfa"), {"code": _code(team_member)})
        assert response["Location"] == reverse("accounts:login")

    def test_a_password_changed_between_the_steps_voids_the_first_step(self, team_member: User, password: str) -> None:
        _enable(team_member)
        client = Client()
        _password_step(client, team_member, password)
        team_member.set_password("another-long-password-9")
        team_member.save(update_fields=["password"])
        response = client.post(reverse("accounts:login-mfa"), {"code": _code(team_member, ahead=1)})
        assert response["Location"] == reverse("accounts:login")
        assert "_auth_user_id" not in client.session

    def test_a_user_deactivated_between_the_steps_is_not_signed_in(self, team_member: User, password: str) -> None:
        _enable(team_member)
        client = Client()
        _password_step(client, team_member, password)
        User.objects.filter(pk=team_member.pk).update(is_active=False)
        response = client.post(reverse("accounts:login-mfa"), {"code": _code(team_member)})
        assert response["Location"] == reverse("accounts:login")
        assert "_auth_user_id" not in client.session


class TestAdminSignIn:
    def test_the_admin_sign_in_form_sends_to_the_portal_one(self) -> None:
        """The admin's own form would sign in with the password alone, skipping the code."""
        response = Client().get("/admin/login/?next=/admin/accounts/user/")
        assert response.status_code == 302
        assert response["Location"] == reverse("accounts:login") + "?next=%2Fadmin%2Faccounts%2Fuser%2F"

    def test_posting_a_password_to_the_admin_does_not_sign_in(self, coe_staff: User, password: str) -> None:
        _enable(coe_staff)
        client = Client()
        client.post("/admin/login/", {"username": coe_staff.username, "password": password})
        assert "_auth_user_id" not in client.session
        assert client.get("/admin/").status_code == 302


class TestStaffReset:
    def test_coe_staff_remove_a_lost_device_and_the_owner_signs_in_with_the_password(
        self, client_for, coe_staff: User, team_member: User, password: str
    ) -> None:
        _enable(team_member)
        device = TotpDevice.objects.get(user=team_member)
        secret = mfa.secret_decrypt(device.secret_encrypted)
        client = client_for(coe_staff)
        page = client.get(f"/admin/accounts/totpdevice/{device.pk}/change/")
        assert page.status_code == 200
        assert secret.encode() not in page.content
        assert device.secret_encrypted.encode() not in page.content
        response = client.post(f"/admin/accounts/totpdevice/{device.pk}/delete/", {"post": "yes"})
        assert response.status_code == 302
        assert not TotpDevice.objects.filter(user=team_member).exists()
        assert AuditEvent.objects.filter(action="admin.delete.totpdevice", actor=coe_staff).count() == 1
        assert _password_step(Client(), team_member, password)["Location"] == reverse("core:home")

    def test_others_cannot_see_the_devices(self, client_for, team_member: User, leader: User) -> None:
        _enable(team_member)
        for user in (team_member, leader):
            response = client_for(user).get("/admin/accounts/totpdevice/")
            assert response.status_code == 302
            assert response["Location"].startswith("/admin/login/")
