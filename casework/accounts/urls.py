from __future__ import annotations

from django.urls import include, path

from casework.accounts import admin_views, grant_views, views, webauthn

# django-otp-webauthn's JSON endpoints, with our stricter completion views.
webauthn_patterns = (
    [
        path(
            "registration/begin/",
            webauthn.BeginRegistrationView.as_view(),
            name="credential-registration-begin",
        ),
        path(
            "registration/complete/",
            webauthn.CompleteRegistrationView.as_view(),
            name="credential-registration-complete",
        ),
        path(
            "authentication/begin/",
            webauthn.BeginAuthenticationView.as_view(),
            name="credential-authentication-begin",
        ),
        path(
            "authentication/complete/",
            webauthn.CompleteAuthenticationView.as_view(),
            name="credential-authentication-complete",
        ),
        path("jsi18n/", views.webauthn_catalog, name="js-i18n-catalog"),
    ],
    "otp_webauthn",
)

urlpatterns = [
    path("webauthn/", include(webauthn_patterns)),
    path("login/", views.login_view, name="login"),
    path("login/verify/", views.verify_view, name="login_verify"),
    path("login/enrol/", views.enrol_view, name="login_enrol"),
    path("logout/", views.logout_view, name="logout"),
    path("account/", views.account_view, name="account"),
    path("account/reauthenticate/", views.reauth_view, name="reauth"),
    path("account/password/", views.password_change_view, name="password_change"),
    path("account/backup-codes/", views.backup_codes_new_view, name="backup_codes_new"),
    path(
        "account/devices/<uuid:device_id>/remove/", views.device_remove_view, name="device_remove"
    ),
    path(
        "account/passkeys/<str:credential_hash>/remove/",
        views.passkey_remove_view,
        name="passkey_remove",
    ),
    path(
        "account/passkeys/<str:credential_hash>/rename/",
        views.passkey_rename_view,
        name="passkey_rename",
    ),
    path(
        "account/notices/acknowledge/", views.notices_acknowledge_view, name="notices_acknowledge"
    ),
    path("account/sessions/<uuid:public_id>/end/", views.session_end_view, name="session_end"),
    path(
        "account/sessions/end-others/", views.sessions_end_others_view, name="sessions_end_others"
    ),
    path("admin/users/", admin_views.users_view, name="admin_users"),
    path("admin/users/invite/", admin_views.invite_view, name="admin_invite"),
    path(
        "admin/invitations/<uuid:public_id>/withdraw/",
        admin_views.invitation_withdraw_view,
        name="admin_invitation_withdraw",
    ),
    path("admin/alert-mailbox/", admin_views.alert_mailbox_view, name="admin_alert_mailbox"),
    path("admin/letterhead/", admin_views.letterhead_view, name="admin_letterhead"),
    path("admin/users/<uuid:user_id>/role/", admin_views.role_view, name="admin_role"),
    path(
        "admin/users/<uuid:user_id>/deactivate/",
        admin_views.deactivate_view,
        name="admin_deactivate",
    ),
    path(
        "admin/users/<uuid:user_id>/reset-second-factor/",
        admin_views.reset_second_factor_view,
        name="admin_reset_second_factor",
    ),
    path("admin/users/<uuid:user_id>/unlock/", admin_views.unlock_view, name="admin_unlock"),
    path("admin/users/<uuid:user_id>/revoke/", admin_views.panic_revoke_view, name="admin_revoke"),
    path(
        "admin/users/<uuid:user_id>/compromised/",
        admin_views.compromised_view,
        name="admin_compromised",
    ),
    path("roles/requests/", grant_views.grants_view, name="role_grants"),
    path("access/", grant_views.content_access_view, name="content_access"),
    path("access/rotate/", grant_views.rotate_key_view, name="rotate_organisation_key"),
    path(
        "roles/access/<uuid:member_id>/grant/",
        grant_views.content_access_grant_view,
        name="content_access_grant",
    ),
    path(
        "roles/requests/<uuid:public_id>/confirm/",
        grant_views.grant_confirm_view,
        name="role_grant_confirm",
    ),
    path(
        "roles/requests/<uuid:public_id>/refuse/",
        grant_views.grant_refuse_view,
        name="role_grant_refuse",
    ),
    path("invitation/<str:token>/", admin_views.invitation_accept_view, name="invitation_accept"),
]
