"""Applicants: the data subjects. Everything that identifies or describes the person is
encrypted under their own data key; operational fields stay plaintext on purpose
(DOMAIN.md section 9, SECURITY.md "What is encrypted")."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from casework.accounts.models import Organisation
from casework.cases.workflow import Status
from casework.lib.fields import (
    EncryptedDateField,
    EncryptedJSONField,
    EncryptedModel,
    EncryptedTextField,
    blind_index_indexes,
)


class ErasureCause(models.TextChoices):
    REQUEST = "request", _("erased on request")
    RETENTION = "retention", _("deleted under the retention schedule")


class Applicant(EncryptedModel):
    """A person seeking safe passage, and the owner of one data key."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="applicants"
    )

    # Sensitive: encrypted, searchable only by exact match through blind indexes.
    legal_name_cyrillic = EncryptedTextField(_("legal name (Cyrillic)"), blind_index="name")
    legal_name_latin = EncryptedTextField(_("legal name (Latin)"), blind_index="name")
    preferred_name = EncryptedTextField(_("preferred name"))
    pronouns = EncryptedTextField(_("pronouns"))
    date_of_birth = EncryptedDateField(_("date of birth"))
    internal_passport_no = EncryptedTextField(_("internal passport number"), blind_index="passport")
    international_passport_no = EncryptedTextField(
        _("international passport number"), blind_index="passport"
    )
    email = EncryptedTextField(_("e-mail"), blind_index="email")
    phone = EncryptedTextField(_("phone"), blind_index="phone")
    contact_channels = EncryptedJSONField(_("contact channels"))
    safe_contact_instructions = EncryptedTextField(_("safe-contact instructions"))
    current_city = EncryptedTextField(_("current city"))
    gender_identity = EncryptedTextField(_("gender identity"))
    sexual_orientation = EncryptedTextField(_("sexual orientation"))
    health_notes = EncryptedTextField(_("health notes"))
    risk_notes = EncryptedTextField(_("risk-relevant facts"))

    # Operational: plaintext on purpose (dashboards, deadlines, filtering).
    birth_year = models.PositiveSmallIntegerField(_("year of birth"), null=True, blank=True)
    current_country = models.CharField(_("current country"), max_length=2, blank=True)
    passport_expiry = models.DateField(_("passport expiry"), null=True, blank=True)
    legal_stay_until = models.DateField(_("legal stay until"), null=True, blank=True)
    languages = models.JSONField(_("languages spoken"), default=list, blank=True)  # codes
    created_at = models.DateTimeField(auto_now_add=True)
    erased_at = models.DateTimeField(null=True, blank=True)
    # Why the details went: a request (Art. 17, R62) or the retention schedule (R61).
    erasure_cause = models.CharField(max_length=10, blank=True)

    NAME_FIELDS = ["legal_name_cyrillic", "legal_name_latin"]
    PASSPORT_FIELDS = ["internal_passport_no", "international_passport_no"]

    class Meta:
        verbose_name = _("applicant")
        verbose_name_plural = _("applicants")
        indexes = blind_index_indexes(
            "applicant",
            "legal_name_cyrillic",
            "legal_name_latin",
            "internal_passport_no",
            "international_passport_no",
            "email",
            "phone",
        )

    def __str__(self) -> str:
        # Never a name: objects end up in logs and error messages.
        return f"Applicant {self.pk}"

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None


# --- Reference data: routes and missions (DOMAIN.md sections 1 and 6) -----------------------


# The languages a letter can be written in (DOMAIN.md section 3.3), by their own names;
# Russian is for the applicant's own copy. Reference data carries its printed names in these
# and in each destination's official language.
LETTER_LANGUAGES = [
    ("en", "English"),
    ("de", "Deutsch"),
    ("fr", "français"),
    ("pl", "polski"),
    ("lt", "lietuvių"),
    ("cs", "čeština"),
    ("ru", "русский"),
]
OFFICIAL_LANGUAGE = {
    "DE": "de",
    "AT": "de",
    "FR": "fr",
    "LT": "lt",
    "LV": "lv",
    "PL": "pl",
    "CZ": "cs",
    "EE": "et",
    "FI": "fi",
    "ES": "es",
    "NL": "nl",
}
# Other official languages of the ten states of DOMAIN.md section 1, by their own names.
OTHER_LANGUAGE_NAMES = {
    "lv": "latviešu",
    "et": "eesti",
    "fi": "suomi",
    "es": "español",
    "nl": "Nederlands",
}


def names_languages(destination_state: str) -> list[tuple[str, str]]:
    """The languages a route or mission of this state gives its printed names in: every
    letter language, then the state's own when no letter is written in it."""
    languages = list(LETTER_LANGUAGES)
    own = OFFICIAL_LANGUAGE.get(destination_state)
    if own in OTHER_LANGUAGE_NAMES:
        languages.append((own, OTHER_LANGUAGE_NAMES[own]))
    return languages


class Route(models.Model):
    """A legal route to a destination state: edited by reference data editors, not
    hard-coded. ``legal_basis``, ``deciding_authority`` and ``notes`` are for staff; a letter
    prints only ``letter_names`` in its own language, and never the notes."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        SUSPENDED = "suspended", _("suspended")
        RESTRICTED = "restricted", _("restricted")

    class RequestKind(models.TextChoices):
        # What a letter for this route asks for; its subject and request sentences follow.
        VISA = "visa", _("a visa, applied for at a mission")
        ADMISSION = "admission", _("humanitarian admission, declared by a ministry")
        PREAPPROVAL = "preapproval", _("a ministry's pre-approval, then the visa")
        ASYLUM = "asylum", _("support for an asylum claim after arrival")

    # The parts of a route a letter prints, each per language.
    PRINTED_PARTS = ("procedure", "legal_basis", "authority")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code = models.SlugField(_("code"), max_length=40, unique=True)
    destination_state = models.CharField(_("destination state"), max_length=2)
    legal_basis = models.CharField(_("legal basis"), max_length=120)
    visa_type = models.CharField(_("visa type"), max_length=20)
    needs_pre_approval = models.BooleanField(_("needs pre-approval"), default=False)
    deciding_authority = models.CharField(_("deciding authority"), max_length=200)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default="active")
    effective_from = models.DateField(_("effective from"), null=True, blank=True)
    effective_until = models.DateField(_("effective until"), null=True, blank=True)
    checklist = models.JSONField(_("document checklist"), default=list, blank=True)
    request_kind = models.CharField(
        _("what a letter asks for"),
        max_length=12,
        choices=RequestKind.choices,
        default=RequestKind.VISA,
    )
    # {language: {"procedure": …, "legal_basis": …, "authority": …}}: the request's name
    # ("nationales Visum aus humanitären Gründen"), the legal basis as cited in the destination
    # state ("§ 22 Satz 2 AufenthG") and the deciding authority's official name.
    letter_names = models.JSONField(_("names printed in letters"), default=dict, blank=True)
    letter_languages = models.JSONField(
        _("languages the authorities expect letters in"), default=list, blank=True
    )
    notes = models.TextField(_("internal remarks (never printed)"), blank=True)

    class Meta:
        ordering = ["destination_state", "code"]
        verbose_name = _("route")
        verbose_name_plural = _("routes")

    def __str__(self) -> str:
        from casework.cases.labels import country_name  # labels reads these models

        return f"{country_name(self.destination_state)} · {self.legal_basis}"

    def printed(self, language: str, part: str) -> str:
        """What a letter in ``language`` prints for ``part`` ("" when not translated)."""
        names = self.letter_names.get(language) if isinstance(self.letter_names, dict) else None
        return str(names.get(part, "") if isinstance(names, dict) else "").strip()


class Mission(models.Model):
    """An embassy, consulate or visa centre of a destination state in a host country."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    state = models.CharField(_("state"), max_length=2)
    host_country = models.CharField(_("host country"), max_length=2)
    city = models.CharField(_("city"), max_length=80)
    kind = models.CharField(_("kind"), max_length=20)  # embassy, consulate, visa_centre
    name = models.CharField(_("name"), max_length=200)
    # {language: "Botschaft der Bundesrepublik Deutschland Eriwan"}: the name with its city,
    # as a letter in that language prints it.
    letter_names = models.JSONField(_("names printed in letters"), default=dict, blank=True)

    class Meta:
        ordering = ["state", "host_country", "city"]
        verbose_name = _("mission")
        verbose_name_plural = _("missions")

    def __str__(self) -> str:
        return self.name

    def printed(self, language: str) -> str:
        """The name a letter in ``language`` prints ("" when not translated)."""
        names = self.letter_names if isinstance(self.letter_names, dict) else {}
        return str(names.get(language, "")).strip()


# --- Cases -------------------------------------------------------------------------------------


class Priority(models.TextChoices):
    EMERGENCY = "emergency", _("Emergency")
    URGENT = "urgent", _("Urgent")
    NORMAL = "normal", _("Normal")
    INFO = "info", _("Info")


PRIORITY_ORDER = {"emergency": 0, "urgent": 1, "normal": 2, "info": 3}
# A status's place in the workflow, the status sort of the case list (Case.stage). A new or
# reordered status needs a data migration that sets Case.stage again.
STAGES = {status: number for number, status in enumerate(Status.values)}


class HoldReason(models.TextChoices):
    """Why a coordinator keeps a closed case's details longer: a fixed list, so that the
    audit entry can say why without holding anything the coordinator typed."""

    PROCEDURE = "procedure", _("an asylum or residence procedure is still running")
    APPEAL = "appeal", _("an appeal or a court case is pending")
    SAFETY = "safety", _("a documented safety reason")
    APPLICANT = "applicant", _("the applicant asked us to keep them for now")
    LEGAL = "legal", _("a legal obligation to keep them")


class Case(EncryptedModel):
    """One person's path to safety. Lists show its pseudonymous code, never a name.

    Everything that tells the story is encrypted under the applicant's data key; status,
    priority, flags, dates and assignment stay plaintext for dashboards (SECURITY.md).
    """

    DATA_SUBJECT_ATTR = "applicant_id"

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="cases")
    applicant = models.ForeignKey(Applicant, on_delete=models.PROTECT, related_name="cases")
    code = models.CharField(_("case code"), max_length=16, unique=True)
    status = models.CharField(_("status"), max_length=24, default="new_request")
    priority = models.CharField(
        _("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    priority_override_reason = EncryptedTextField(_("reason for the priority"))
    on_hold = models.BooleanField(_("on hold"), default=False)
    lost_contact = models.BooleanField(_("lost contact"), default=False)
    emergency_protection = models.BooleanField(_("emergency protection"), default=False)
    family_case = models.BooleanField(_("family case"), default=False)
    # Intake found someone with the same passport number, e-mail or name and year of birth
    # in the organisation: a coordinator looks before anyone else is told which case it is.
    duplicate_review = models.BooleanField(_("possible duplicate to review"), default=False)
    destination_state = models.CharField(_("destination"), max_length=2, blank=True)
    coordinator = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    caseworkers = models.ManyToManyField("accounts.User", blank=True, related_name="assigned_cases")
    narrative = EncryptedTextField(_("narrative and incident timeline"))
    safety_plan = EncryptedTextField(_("safety plan"))
    opened_at = models.DateTimeField(_("opened"), auto_now_add=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    closure_reason = models.CharField(_("closure reason"), max_length=30, blank=True)
    last_contact_at = models.DateTimeField(_("last contact"), null=True, blank=True)
    # Plaintext, like the other dates: when anyone last changed the case or anything on it
    # (cases.services.case_touch), so the lists can sort by it.
    last_activity_at = models.DateTimeField(_("last activity"), default=timezone.now, db_index=True)
    version = models.PositiveIntegerField(default=1)  # optimistic locking of edits
    # A coordinator kept the details past the retention schedule (R61): until this date, for
    # a reason from a fixed list (audited) and an explanation (encrypted, like the story).
    retention_hold_until = models.DateField(_("details kept until"), null=True, blank=True)
    retention_hold_reason = models.CharField(_("reason"), max_length=20, blank=True)
    retention_hold_note = EncryptedTextField(_("explanation"))
    # Sort keys of the case list, stored so that the database walks an index instead of
    # computing them for every case (issue 15): the priority's urgency (0 most urgent), the
    # status's place in the workflow, and the earliest deadline not done (services keep it
    # with the deadlines: refresh_next_deadline).
    priority_rank = models.PositiveSmallIntegerField(default=PRIORITY_ORDER[Priority.NORMAL])
    stage = models.PositiveSmallIntegerField(default=0)
    next_deadline_on = models.DateField(null=True, blank=True)
    # Whether any caseworker is assigned (services._grant and _revoke keep it), so that the
    # coordinators' "unassigned" queue is an index lookup, not a walk of every case.
    has_caseworker = models.BooleanField(default=False)

    class Meta:
        ordering = ["-opened_at"]
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        # One per sort of the case list, each ending in the code that breaks ties, so that
        # any page of any sort is a walk along an index (list_views.page_of).
        indexes = [
            *(
                models.Index(fields=["organisation", column, "code"], name=f"case_list_{name}")
                for name, column in (
                    ("priority", "priority_rank"),
                    ("status", "stage"),
                    ("destination", "destination_state"),
                    ("deadline", "next_deadline_on"),
                    ("activity", "last_activity_at"),
                    ("opened", "opened_at"),
                )
            ),
            models.Index(fields=["organisation", "code"], name="case_list_code"),
            # Deadline descending keeps the cases without one last: no order an index of
            # (deadline, code) gives on PostgreSQL, so that sort goes by whether there is a
            # deadline first (list_views._order): sort=-deadline, its pages back too.
            models.Index(
                models.F("organisation"),
                models.lookups.IsNull(models.F("next_deadline_on"), False),
                models.F("next_deadline_on"),
                models.F("code"),
                name="case_list_deadline_desc",
            ),
            # The status and destination filters in the default order (priority, code): a
            # filtered page is a walk along one of these, not a sort of every matching case.
            *(
                models.Index(
                    fields=["organisation", column, "priority_rank", "code"],
                    name=f"case_filter_{name}",
                )
                for name, column in (("status", "status"), ("destination", "destination_state"))
            ),
            models.Index(
                fields=["organisation", "has_caseworker", "priority_rank", "code"],
                name="case_assigned",
            ),
            # The list's flag filters: few cases carry each flag; each partial index holds
            # those, in the default order (a query's "WHERE flag" matches its condition, so
            # SQLite uses it even without statistics).
            *(
                models.Index(
                    fields=["organisation", "priority_rank", "code"],
                    condition=models.Q(**{flag: True}),
                    name=f"case_flag_{flag}",
                )
                for flag in (
                    "on_hold",
                    "lost_contact",
                    "emergency_protection",
                    "family_case",
                    "duplicate_review",
                )
            ),
            # "Open with an overdue deadline": the few cases with a deadline at all, in the
            # default order (SQLite, with statistics, would walk every case otherwise).
            models.Index(
                fields=["organisation", "priority_rank", "code"],
                condition=models.Q(next_deadline_on__isnull=False),
                name="case_with_deadline",
            ),
            # Retention's notice looks only at people with a case closed long enough ago.
            models.Index(fields=["organisation", "closed_at"], name="case_closed"),
        ]

    def __str__(self) -> str:
        return self.code

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.set_sort_keys()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "priority_rank", "stage"}
        super().save(*args, **kwargs)

    def set_sort_keys(self) -> None:
        """The stored sort keys of priority and status (``bulk_create`` skips ``save``)."""
        self.priority_rank = PRIORITY_ORDER.get(self.priority, len(PRIORITY_ORDER))
        self.stage = STAGES.get(self.status, len(STAGES))


class StageCount(models.Model):
    """How many cases of an organisation are at each workflow stage (``Case.stage``), for the
    coordinator's dashboard, which would otherwise count every case of the organisation on
    each visit (7 ms on SQLite, 8-30 on PostgreSQL at 100,000: issue 15).

    Kept by database triggers on the cases table (migration 0021), in the same transaction as
    the change, so that no code path can forget it: ``save``, ``bulk_create``, a queryset's
    ``update`` or ``delete``, a restore. A restore recounts it (``recount``). On PostgreSQL
    inserts and deletes are counted per statement (a bulk load updates each count once).
    SQLite drops a table's triggers when Django rebuilds the table: a later migration that
    alters cases_case on SQLite must create them again (tests/test_stage_counts.py fails if
    they are gone)."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    stage = models.PositiveSmallIntegerField()
    cases = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "stage"], name="stage_count_once")
        ]

    def __str__(self) -> str:
        return f"{self.stage}: {self.cases}"

    @staticmethod
    def recount() -> None:
        """Every count from the cases themselves (after a restore has loaded them)."""
        StageCount.objects.all().delete()
        found = Case.objects.values("organisation_id", "stage").annotate(n=models.Count("*"))
        StageCount.objects.bulk_create(
            StageCount(organisation_id=row["organisation_id"], stage=row["stage"], cases=row["n"])
            for row in found.order_by()
        )


class CaseStatusChange(EncryptedModel):
    """Who moved a case from which status to which, when and why (the reason is encrypted)."""

    DATA_SUBJECT_ATTR = "applicant_id"

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    applicant = models.ForeignKey(Applicant, on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="history")
    from_status = models.CharField(max_length=24)
    to_status = models.CharField(max_length=24)
    by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    reason = EncryptedTextField(_("reason"))

    class Meta:
        ordering = ["at"]

    def __str__(self) -> str:
        return f"{self.from_status} -> {self.to_status}"


class Note(EncryptedModel):
    DATA_SUBJECT_ATTR = "applicant_id"

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    applicant = models.ForeignKey(Applicant, on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    text = EncryptedTextField(_("note"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"Note({self.pk})"


class CaseUserObjectPermission(UserObjectPermissionBase):
    """django-guardian's per-object grants on cases, with a real foreign key (no generic
    text casts, no orphans when a case goes)."""

    content_object = models.ForeignKey(Case, on_delete=models.CASCADE)


class CaseGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Case, on_delete=models.CASCADE)


class DocumentType(models.TextChoices):
    PASSPORT_INTL = "passport_intl", _("international passport")
    PASSPORT_INTERNAL = "passport_internal", _("internal passport")
    BIRTH_CERT = "birth_cert", _("birth certificate")
    SUMMONS = "summons", _("summons")
    CRIMINAL_CASE_DOC = "criminal_case_doc", _("criminal case document")
    POLICE_REPORT = "police_report", _("police report")
    COURT_DECISION = "court_decision", _("court decision")
    MEDICAL_REPORT = "medical_report", _("medical report")
    THREAT_SCREENSHOT = "threat_screenshot", _("screenshot of a threat")
    MEDIA_ARTICLE = "media_article", _("media article")
    PARTNER_ORG_LETTER = "partner_org_letter", _("letter from a partner organisation")
    MEMBERSHIP_PROOF = "membership_proof", _("proof of membership")
    PHOTO = "photo", _("photo")
    TRANSLATION = "translation", _("translation")
    OTHER = "other", _("other")


# Languages documents come in (DOMAIN.md sections 3.3 and 6.3), by their own names.
DOCUMENT_LANGUAGES = [
    ("ru", "русский"),
    ("en", "English"),
    ("uk", "українська"),
    ("de", "Deutsch"),
    ("fr", "français"),
    ("pl", "polski"),
    ("lt", "lietuvių"),
    ("lv", "latviešu"),
    ("cs", "čeština"),
    ("es", "español"),
    ("ka", "ქართული"),
    ("hy", "Հայերեն"),
    ("other", _("another language")),
]


class Document(EncryptedModel):
    """An uploaded document: encrypted under the applicant's key before it touches disk,
    stored under a random name; the title is encrypted, the type and dates are not."""

    DATA_SUBJECT_ATTR = "applicant_id"

    class Translation(models.TextChoices):
        NOT_NEEDED = "not_needed", _("no translation needed")
        NEEDED = "needed", _("translation needed")
        IN_PROGRESS = "in_progress", _("being translated")
        TRANSLATED = "translated", _("translated")
        CERTIFIED = "certified", _("certified translation")

    class Verification(models.TextChoices):
        UNVERIFIED = "unverified", _("not verified")
        VERIFIED = "verified", _("verified")
        REJECTED = "rejected", _("rejected")

    class Method(models.TextChoices):
        ORIGINAL_SEEN = "original_seen", _("original seen")
        COPY_CHECKED = "copy_checked", _("copy checked against its source")
        PARTNER_CONFIRMED = "partner_confirmed", _("confirmed by a partner organisation")
        ISSUER_CONFIRMED = "issuer_confirmed", _("confirmed by the issuer")

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    applicant = models.ForeignKey(Applicant, on_delete=models.PROTECT, related_name="documents")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="documents")
    doc_type = models.CharField(_("type"), max_length=30, choices=DocumentType.choices)
    title = EncryptedTextField(_("title"))
    language = models.CharField(_("language"), max_length=8, blank=True)
    storage_name = models.CharField(max_length=100, editable=False)
    sha256 = models.CharField(max_length=64, editable=False)
    mime = models.CharField(max_length=40, editable=False)
    size = models.PositiveIntegerField(editable=False)
    uploaded_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateField(_("expires"), null=True, blank=True)
    translation_status = models.CharField(
        _("translation"), max_length=12, choices=Translation.choices, default="not_needed"
    )
    # Two-person rule (DOMAIN.md section 8): whoever uploaded a document does not verify it.
    verification_status = models.CharField(
        _("verification"), max_length=10, choices=Verification.choices, default="unverified"
    )
    verification_method = models.CharField(
        _("verified by means of"), max_length=20, choices=Method.choices, blank=True
    )
    verified_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)

    class Meta:
        ordering = ["uploaded_at"]
        verbose_name = _("document")
        verbose_name_plural = _("documents")

    def __str__(self) -> str:
        return f"Document({self.pk})"


class VisaApplication(EncryptedModel):
    """One attempt at one route. A refused case may be re-routed: a new attempt, the old kept."""

    DATA_SUBJECT_ATTR = "applicant_id"

    class Decision(models.TextChoices):
        PENDING = "", _("pending")
        ISSUED = "issued", _("issued")
        REFUSED = "refused", _("refused")
        WITHDRAWN = "withdrawn", _("withdrawn")

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    applicant = models.ForeignKey(Applicant, on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="visa_applications")
    route = models.ForeignKey(Route, on_delete=models.PROTECT, related_name="+")
    mission = models.ForeignKey(Mission, on_delete=models.PROTECT, null=True, blank=True)
    submitted_at = models.DateField(_("submitted"), null=True, blank=True)
    pre_approved_at = models.DateField(_("pre-approved"), null=True, blank=True)
    appointment_at = models.DateField(_("appointment"), null=True, blank=True)
    lodged_at = models.DateField(_("lodged"), null=True, blank=True)
    decision = models.CharField(
        _("decision"), max_length=10, choices=Decision.choices, blank=True, default=""
    )
    decision_at = models.DateField(_("decision date"), null=True, blank=True)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    appeal_deadline = models.DateField(_("appeal deadline"), null=True, blank=True)
    authority_file_number = EncryptedTextField(_("authority file number"))
    pre_approval_reference = EncryptedTextField(_("pre-approval reference"))
    visa_number = EncryptedTextField(_("visa number"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        verbose_name = _("route attempt")
        verbose_name_plural = _("route attempts")

    def __str__(self) -> str:
        return f"VisaApplication({self.pk})"


class Consent(models.Model):
    """Consent per purpose, with the version and language of the text the person agreed to.
    Consent to sharing is never a condition for getting advice (DOMAIN.md section 4.1)."""

    class Purpose(models.TextChoices):
        PROCESSING = "processing", _("processing of their data")
        SHARING = "sharing", _("sharing with a named partner")
        DISCLOSURE = "disclosure", _("disclosure to a named authority")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    applicant = models.ForeignKey(Applicant, on_delete=models.PROTECT, related_name="consents")
    purpose = models.CharField(_("purpose"), max_length=12, choices=Purpose.choices)
    counterparty = models.CharField(_("partner or authority"), max_length=200, blank=True)
    route = models.ForeignKey(Route, on_delete=models.PROTECT, null=True, blank=True)
    # A disclosure consent may or may not cover stating sexual orientation or gender identity.
    includes_sogi = models.BooleanField(
        _("covers sexual orientation or gender identity"), default=False
    )
    text_version = models.CharField(_("version of the consent text"), max_length=40)
    language = models.CharField(_("language of the text"), max_length=8)
    given_at = models.DateTimeField(_("given"))
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)
    recorded_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["given_at"]
        verbose_name = _("consent")
        verbose_name_plural = _("consents")

    def __str__(self) -> str:
        return f"Consent({self.purpose})"

    @property
    def active(self) -> bool:
        return self.withdrawn_at is None


class Deadline(models.Model):
    """A date that must not be missed. Generated from the case's dates (source "auto") or
    added by hand; carries no free text, so nothing in it needs encrypting."""

    class Kind(models.TextChoices):
        LEGAL_STAY_ENDS = "legal_stay_ends", _("legal stay ends")
        PASSPORT_EXPIRES = "passport_expires", _("passport expires")
        APPOINTMENT = "appointment", _("appointment")
        APPEAL_DEADLINE = "appeal_deadline", _("appeal deadline")
        CHECK_IN = "check_in", _("check-in")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="deadlines")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    due_on = models.DateField(_("due"))
    done = models.BooleanField(_("done"), default=False)
    automatic = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ["due_on"]
        verbose_name = _("deadline")
        verbose_name_plural = _("deadlines")
        # The dashboards' "due soon" and "overdue" of an organisation (issue 15).
        indexes = [
            models.Index(fields=["organisation", "due_on"], name="deadline_due"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.due_on}"


class ExportFile(models.Model):
    """A subject-access export waiting to be downloaded by whoever made it: stored encrypted
    under the person's data key like their documents, for an hour (cases.export)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    applicant = models.ForeignKey(Applicant, on_delete=models.CASCADE, related_name="+")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    encrypted = models.BooleanField()
    filename = models.CharField(max_length=60)
    storage_name = models.CharField(max_length=100, editable=False)
    size = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"ExportFile({self.pk})"


class SubjectRequest(models.Model):
    """A request of the person under the GDPR (Art. 15 access, Art. 17 erasure), to be
    answered within one month of its receipt (Art. 12(3)). Dates and kinds only: nothing in
    it needs encrypting, and it outlives the erasure it asked for, as its proof (R62)."""

    class Kind(models.TextChoices):
        ACCESS = "access", _("a copy of their data (Article 15)")
        ERASURE = "erasure", _("erasure of their data (Article 17)")

    class Outcome(models.TextChoices):
        EXPORTED = "exported", _("answered with an export")
        ERASED = "erased", _("answered by the erasure")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    applicant = models.ForeignKey(Applicant, on_delete=models.CASCADE, related_name="+")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="subject_requests")
    kind = models.CharField(_("request"), max_length=10, choices=Kind.choices)
    received_on = models.DateField(_("received on"))
    due_on = models.DateField(_("answer due by"))
    recorded_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(_("answered"), null=True, blank=True)
    outcome = models.CharField(_("answer"), max_length=10, choices=Outcome.choices, blank=True)

    class Meta:
        ordering = ["due_on", "recorded_at"]
        verbose_name = _("request of the person")
        verbose_name_plural = _("requests of the person")

    def __str__(self) -> str:
        return f"SubjectRequest({self.kind}, {self.due_on})"
