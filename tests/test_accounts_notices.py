"""Changes to how someone signs in leave a notice on their dashboard that lasts until they
acknowledge it from a later sign-in (R14): the session that made a change, perhaps not the
person's own, cannot make its notice disappear."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from casework.accounts import services
from casework.accounts.models import SecurityNotice, TOTPDevice
from casework.audit.models import Action, AuditEvent
from tests.conftest import login_verified, make_totp

pytestmark = pytest.mark.django_db

OLD = "an old passphrase that is long"
NEW = "a brand new passphrase of words"
ACK = "I have read these"


def _dashboard(client: Client) -> str:
    response = client.get(reverse("home"))
    assert response.status_code == 200
    return response.content.decode()


def _change_password(client: Client) -> None:
    data = {"current_password": OLD, "new_password": NEW, "new_password_again": NEW}
    assert client.post(reverse("password_change"), data).status_code == 302


def test_a_change_shows_at_every_sign_in_until_acknowledged_from_a_later_one(client, caseworker):
    caseworker.set_password(OLD)
    caseworker.save()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        login_verified(client, caseworker)
        _change_password(client)
        html = _dashboard(client)
        assert "Your password was changed." in html
        assert ACK not in html  # not from the session that made the change
        client.post(reverse("notices_acknowledge"))
    assert SecurityNotice.objects.get(user=caseworker).acknowledged_at is None

    later = Client()
    caseworker.refresh_from_db()  # the new password's hash signs the new session
    with time_machine.travel(start + timedelta(minutes=1), tick=False):
        login_verified(later, caseworker)
        html = _dashboard(later)
        assert "Your password was changed." in html and ACK in html
        assert later.post(reverse("notices_acknowledge")).status_code == 302
        assert "Your password was changed." not in _dashboard(later)
    event = AuditEvent.objects.get(action=Action.SECURITY_NOTICES_ACKNOWLEDGED)
    assert event.actor_id == caseworker.pk and event.details == {"count": 1}


def test_a_notice_newer_than_the_sign_in_stays_when_older_ones_are_acknowledged(client, caseworker):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        services.notify(caseworker, SecurityNotice.Kind.BACKUP_CODES)
    with time_machine.travel(start + timedelta(minutes=1), tick=False):
        login_verified(client, caseworker)
    with time_machine.travel(start + timedelta(minutes=2), tick=False):
        services.notify(caseworker, SecurityNotice.Kind.PASSKEY_ADDED)
        client.post(reverse("notices_acknowledge"))
    kinds = SecurityNotice.objects.filter(user=caseworker, acknowledged_at__isnull=True)
    assert list(kinds.values_list("kind", flat=True)) == [SecurityNotice.Kind.PASSKEY_ADDED]


def test_removing_a_device_leaves_a_notice(client, caseworker):
    login_verified(client, caseworker)
    extra, _ = make_totp(caseworker)
    client.post(reverse("device_remove", args=[extra.public_id]))
    assert not TOTPDevice.objects.filter(pk=extra.pk).exists()
    assert "A second factor was removed from your account." in _dashboard(client)


def test_new_backup_codes_leave_a_notice(client, caseworker):
    login_verified(client, caseworker)
    assert client.post(reverse("backup_codes_new")).status_code == 200
    assert "New backup codes were made" in _dashboard(client)


def test_an_administrators_reset_is_shown_when_the_person_is_back(client, caseworker, org_admin):
    services.reset_second_factor(admin=org_admin, user=caseworker)
    login_verified(client, caseworker)
    assert "An administrator reset your second factor" in _dashboard(client)


def test_nobody_acknowledges_someone_elses_notices(client, caseworker, coordinator):
    services.notify(caseworker, SecurityNotice.Kind.PASSWORD_CHANGED)
    login_verified(client, coordinator)
    assert "Your password was changed." not in _dashboard(client)
    client.post(reverse("notices_acknowledge"))
    assert SecurityNotice.objects.get(user=caseworker).acknowledged_at is None
