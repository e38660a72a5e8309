"""Names of document types and verification methods in the letter's language.

The interface is translated with gettext into the staff's languages; a letter is written in
the authority's language (Polish, Lithuanian, Czech...), which the interface does not have.
These few labels are therefore kept here, per letter language, and the letter templates get
documents that answer in that language.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DOC_TYPES: dict[str, dict[str, str]] = {
    "passport_intl": {
        "en": "international passport",
        "de": "Reisepass",
        "fr": "passeport international",
        "pl": "paszport zagraniczny",
        "lt": "užsienio pasas",
        "cs": "cestovní pas",
        "ru": "заграничный паспорт",
    },
    "passport_internal": {
        "en": "internal passport",
        "de": "Inlandspass",
        "fr": "passeport intérieur",
        "pl": "paszport wewnętrzny",
        "lt": "vidaus pasas",
        "cs": "vnitrostátní pas",
        "ru": "внутренний паспорт",
    },
    "birth_cert": {
        "en": "birth certificate",
        "de": "Geburtsurkunde",
        "fr": "acte de naissance",
        "pl": "akt urodzenia",
        "lt": "gimimo liudijimas",
        "cs": "rodný list",
        "ru": "свидетельство о рождении",
    },
    "summons": {
        "en": "summons",
        "de": "Vorladung",
        "fr": "convocation",
        "pl": "wezwanie",
        "lt": "šaukimas",
        "cs": "předvolání",
        "ru": "повестка",
    },
    "criminal_case_doc": {
        "en": "criminal case document",
        "de": "Dokument aus einem Strafverfahren",
        "fr": "pièce d'une procédure pénale",
        "pl": "dokument ze sprawy karnej",
        "lt": "baudžiamosios bylos dokumentas",
        "cs": "dokument z trestního řízení",
        "ru": "документ уголовного дела",
    },
    "police_report": {
        "en": "police report",
        "de": "Polizeibericht",
        "fr": "rapport de police",
        "pl": "raport policji",
        "lt": "policijos pranešimas",
        "cs": "policejní zpráva",
        "ru": "полицейский протокол",
    },
    "court_decision": {
        "en": "court decision",
        "de": "Gerichtsentscheidung",
        "fr": "décision de justice",
        "pl": "orzeczenie sądu",
        "lt": "teismo sprendimas",
        "cs": "soudní rozhodnutí",
        "ru": "решение суда",
    },
    "medical_report": {
        "en": "medical report",
        "de": "ärztlicher Bericht",
        "fr": "rapport médical",
        "pl": "zaświadczenie lekarskie",
        "lt": "medicininė pažyma",
        "cs": "lékařská zpráva",
        "ru": "медицинское заключение",
    },
    "threat_screenshot": {
        "en": "screenshot of a threat",
        "de": "Bildschirmfoto einer Drohung",
        "fr": "capture d'écran d'une menace",
        "pl": "zrzut ekranu z groźbą",
        "lt": "grasinimo ekrano kopija",
        "cs": "snímek obrazovky s výhrůžkou",
        "ru": "снимок экрана с угрозой",
    },
    "media_article": {
        "en": "media article",
        "de": "Presseartikel",
        "fr": "article de presse",
        "pl": "artykuł prasowy",
        "lt": "žiniasklaidos straipsnis",
        "cs": "článek v médiích",
        "ru": "публикация в СМИ",
    },
    "partner_org_letter": {
        "en": "letter from a partner organisation",
        "de": "Schreiben einer Partnerorganisation",
        "fr": "lettre d'une organisation partenaire",
        "pl": "pismo organizacji partnerskiej",
        "lt": "partnerių organizacijos raštas",
        "cs": "dopis partnerské organizace",
        "ru": "письмо партнёрской организации",
    },
    "membership_proof": {
        "en": "proof of membership",
        "de": "Mitgliedsnachweis",
        "fr": "attestation d'adhésion",
        "pl": "potwierdzenie członkostwa",
        "lt": "narystės įrodymas",
        "cs": "doklad o členství",
        "ru": "подтверждение членства",
    },
    "photo": {
        "en": "photograph",
        "de": "Foto",
        "fr": "photographie",
        "pl": "fotografia",
        "lt": "nuotrauka",
        "cs": "fotografie",
        "ru": "фотография",
    },
    "translation": {
        "en": "translation",
        "de": "Übersetzung",
        "fr": "traduction",
        "pl": "tłumaczenie",
        "lt": "vertimas",
        "cs": "překlad",
        "ru": "перевод",
    },
    "other": {
        "en": "other document",
        "de": "sonstiges Dokument",
        "fr": "autre document",
        "pl": "inny dokument",
        "lt": "kitas dokumentas",
        "cs": "jiný dokument",
        "ru": "иной документ",
    },
}

METHODS: dict[str, dict[str, str]] = {
    "original_seen": {
        "en": "original seen",
        "de": "Original eingesehen",
        "fr": "original consulté",
        "pl": "wgląd w oryginał",
        "lt": "matytas originalas",
        "cs": "nahlédnutí do originálu",
        "ru": "осмотр оригинала",
    },
    "copy_checked": {
        "en": "copy checked against its source",
        "de": "Kopie mit der Quelle abgeglichen",
        "fr": "copie comparée à sa source",
        "pl": "kopia porównana ze źródłem",
        "lt": "kopija sutikrinta su šaltiniu",
        "cs": "kopie ověřena proti zdroji",
        "ru": "копия сверена с источником",
    },
    "partner_confirmed": {
        "en": "confirmed by a partner organisation",
        "de": "von einer Partnerorganisation bestätigt",
        "fr": "confirmé par une organisation partenaire",
        "pl": "potwierdzenie organizacji partnerskiej",
        "lt": "patvirtino partnerių organizacija",
        "cs": "potvrzení partnerské organizace",
        "ru": "подтверждение партнёрской организации",
    },
    "issuer_confirmed": {
        "en": "confirmed by the issuer",
        "de": "vom Aussteller bestätigt",
        "fr": "confirmé par l'émetteur",
        "pl": "potwierdzenie wystawcy",
        "lt": "patvirtino išdavęs subjektas",
        "cs": "potvrzení vydavatele",
        "ru": "подтверждение выдавшего органа",
    },
}


def _label(table: dict[str, dict[str, str]], key: str, language: str) -> str:
    names = table.get(key, {})
    return names.get(language) or names.get("en") or key


@dataclass(frozen=True)
class LetterDocument:
    """A document as a letter names it: its own title, or its type in the letter's language."""

    title: str | None
    doc_type: str
    language: str
    translation_status: str
    verification_method: str
    letter_language: str

    @classmethod
    def of(cls, document: Any, letter_language: str) -> LetterDocument:
        return cls(
            document.title,
            document.doc_type,
            document.language,
            document.translation_status,
            document.verification_method,
            letter_language,
        )

    def get_doc_type_display(self) -> str:
        return _label(DOC_TYPES, self.doc_type, self.letter_language)

    def get_verification_method_display(self) -> str:
        return _label(METHODS, self.verification_method, self.letter_language)
